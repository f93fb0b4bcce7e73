"""How long the user waits for a score card, with and without the work done while they type.

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/bench_card.py [--limit N] [--kind strong]

For every N-th question of `evals/grading_dev.jsonl` (its `--kind` answer, strong by default, the
longest), on the configured model:
- cold: `Grader.grade(question, answer)` with nothing done ahead (what `coach grade` does);
- prepared: `Grader.prepare(question)` (what the interview and the app run while the user types:
  retrieval, rubric, the judge's prompt head), then `grade` again, timed alone;
- typed (`--typed`): `prepare` as above, then `Grader.prepare(question, answer=text)` with the
  answer as typed so far, every `--step` words (what the app runs as the user types: the judge reads
  the answer ahead), then `grade`, timed alone.
It prints one JSON line per answer and the medians, and counts the answers whose scores or P(yes)
differ from the cold path's (there should be none: both take the same steps, and the typed answer
is read on the grid of the cold grade's batch). Run it with `PYTHONPATH` pointing at an older
checkout to time a grader without `prepare` (only the cold column is filled then).

`--sentences N` cuts every answer to its first N sentences (how concise answers score), `--cold`
skips the prepared path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH, so an older checkout can be timed
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from coach import config  # noqa: E402
from coach.grading.signals import sentences  # noqa: E402
from coach.jsonl import read_rows  # noqa: E402
from coach.root import Coach  # noqa: E402


def timed(work):
    t = time.perf_counter()
    out = work()
    return out, round(time.perf_counter() - t, 2)


def typing(grader, question: str, answer: str, step: int) -> None:
    """What the app does while an answer is typed: the question read ahead, then the answer so far
    every `step` words."""
    grader.prepare(question)
    words = answer.split(" ")
    for n in range(step, len(words) + 1, step):
        grader.prepare(question, answer=" ".join(words[:n]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=12, help="how many questions (spread over the set)")
    ap.add_argument("--kind", default="strong", choices=["strong", "partial", "wrong", "off_topic", "concise"])
    ap.add_argument("--dataset", default=str(ROOT / "evals" / "grading_dev.jsonl"))
    ap.add_argument("--sentences", type=int, default=0, help="cut each answer to its first N sentences")
    ap.add_argument("--cold", action="store_true", help="time only the cold path")
    ap.add_argument("--typed", action="store_true", help="also time the card after the answer was read as typed")
    ap.add_argument("--step", type=int, default=5, help="words typed between two read-aheads (--typed)")
    args = ap.parse_args()
    rows = read_rows(Path(args.dataset))
    rows = rows[:: max(1, len(rows) // args.limit)][: args.limit]
    rt = Coach(config.load())
    grader = rt.grader
    t0 = time.perf_counter()
    rt.warm_up()  # the model loaded, timed apart from the first grade
    print(json.dumps({"model": str(getattr(rt.chat, "path", rt.chat)), "load_s": round(time.perf_counter() - t0, 2),
                      "threads": getattr(rt.chat, "n_threads", None), "prepare": hasattr(grader, "prepare")}))
    paths = [] if args.cold or not hasattr(grader, "prepare") else ["prepared"] + (["typed"] if args.typed else [])
    cold, ahead, card, differ, lines = [], {p: [] for p in paths}, {p: [] for p in paths}, 0, []
    for r in rows:
        q, a = r["question"], r[args.kind]
        if args.sentences:
            a = " ".join(sentences(a)[: args.sentences])
        g1, seconds = timed(lambda: grader.grade(q, a))
        rec = {"id": r["id"], "words": len(a.split()), "llm_calls": g1.llm_calls, "cold_s": seconds, "score": g1.score}
        cold.append(seconds)
        for path in paths:
            work = (lambda: grader.prepare(q)) if path == "prepared" else (lambda: typing(grader, q, a, args.step))
            _, rec[f"{path}_ahead_s"] = timed(work)
            g, rec[f"{path}_s"] = timed(lambda: grader.grade(q, a))
            rec[f"{path}_score"] = g.score
            ahead[path].append(rec[f"{path}_ahead_s"])
            card[path].append(rec[f"{path}_s"])
            differ += g.score != g1.score or g.points != g1.points
        lines.append(json.dumps(rec))
        print(lines[-1], flush=True)
    scores = [json.loads(x)["score"] for x in lines]
    summary = {"answers": len(rows), "cold_median_s": statistics.median(cold), "score_median": statistics.median(scores),
               "score_mean": round(statistics.mean(scores), 2), "score_ge_7": sum(x >= 7 for x in scores)}
    for path in paths:
        summary.update({f"{path}_ahead_median_s": statistics.median(ahead[path]),
                        f"{path}_median_s": statistics.median(card[path]),
                        f"{path}_ratio": round(statistics.median(card[path]) / statistics.median(cold), 3),
                        f"{path}_le_3s": sum(x <= 3 for x in card[path])})
    summary["scores_differ"] = differ
    print(json.dumps(summary))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
