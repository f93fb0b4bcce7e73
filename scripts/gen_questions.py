"""Write the reranker's synthetic training questions with the local LLM (run once; the output is
committed as data so training never needs the LLM):

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/gen_questions.py            # resumes
    .venv/bin/python scripts/gen_questions.py --limit 3 --out /tmp/q.jsonl         # try it

For each chunk of the index it asks for three search-style questions (prompts/search_questions.md):
one that describes the idea without its key terms, one "why/how" about a detail, one situation.
Chunks that are gold passages of `evals/retrieval_dev.jsonl` are skipped (training leaves them out
anyway; see coach/rerank_data.py), so no dev passage is ever paraphrased into training data.
Output: one JSON line per chunk, {"chunk_id", "section", "questions"}; reruns skip chunks already
written, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCHEMA = {"type": "object", "required": ["questions"], "properties": {
    "questions": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string", "maxLength": 200}}}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "scripts" / "data" / "synthetic_questions.jsonl")
    ap.add_argument("--limit", type=int, default=0, help="stop after N new chunks (0: all)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.errors import ModelError
    from coach.evals.retrieval import load_dataset
    from coach.prompts import render
    from coach.retrieval.index import load_saved
    from coach.retrieval.rerank_data import dev_gold_chunks
    from coach.retrieval.rerank_train import DEV_SET
    from coach.root import Coach
    from coach.session.bank import questions_from

    cfg = config.load()
    chunks = load_saved(cfg).chunks
    excluded = dev_gold_chunks(chunks, load_dataset(DEV_SET))
    done = set()
    if args.out.is_file():
        done = {json.loads(x)["chunk_id"] for x in args.out.read_text(encoding="utf-8").splitlines() if x.strip()}
    todo = [c for c in chunks if c.id not in excluded and c.id not in done]
    if args.limit:
        todo = todo[: args.limit]
    print(f"{len(chunks)} chunks, {len(excluded)} dev gold skipped, {len(done)} done, {len(todo)} to write",
          file=sys.stderr)
    model = Coach(cfg).chat
    args.out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with args.out.open("a", encoding="utf-8") as f:
        for i, c in enumerate(todo, 1):
            prompt = render("search_questions", section=f"{c.section} {c.title}", passage=c.contextual_text[:1500])
            try:
                qs = questions_from(model, "You write search questions for a study guide. Reply with JSON only.",
                                    prompt, SCHEMA, max_tokens=160)
            except ModelError as e:
                print(f"  {c.id}: skipped ({e})", file=sys.stderr)
                continue
            f.write(json.dumps({"chunk_id": c.id, "section": c.section, "questions": qs}, ensure_ascii=False) + "\n")
            f.flush()
            el = time.perf_counter() - t0
            print(f"[{i}/{len(todo)}] {el:.0f}s, eta {el / i * (len(todo) - i):.0f}s  {c.section} {qs[:1]}",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
