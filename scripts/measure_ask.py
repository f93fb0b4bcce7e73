"""Measure `coach ask`: the scope decision on evals/ask_dev.jsonl (in-scope vs out-of-scope
questions) without the LLM, and optionally time to first token and the prompt size with it.

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/measure_ask.py            # scope only
    flock /tmp/coach-cpu.lock .venv/bin/python scripts/measure_ask.py --llm 5    # + 5 timed answers
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", type=int, default=0, help="also answer the first N in-scope questions with the LLM")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.jsonl import read_rows
    from coach.root import Coach

    rows = read_rows(ROOT / "evals" / "ask_dev.jsonl")
    rt = Coach(config.load(), llm=args.llm > 0)
    ex = rt.explainer
    right = 0
    for r in rows:
        s = ex.scope(r["question"], r.get("context"))
        ok = (s.verdict == "in") == r["in_scope"]
        right += ok
        print(f"{r['id']:<6} {'in ' if r['in_scope'] else 'out'} dense={s.dense:.3f} known={s.known:.2f} -> {s.verdict}"
              f"{'' if ok else '   <-- WRONG'}  {r['question'][:60]}")
    print(f"scope accuracy: {right}/{len(rows)}")
    if args.llm:
        from coach.llm.chat import Message
        from coach.prompts import render

        rt.chat.load()
        for r in [x for x in rows if x["in_scope"]][: args.llm]:
            t0 = time.perf_counter()
            stream = ex.stream(r["question"], r.get("context"))
            first = None
            text = ""
            for piece in stream:
                first = first or time.perf_counter() - t0
                text += piece
            total = time.perf_counter() - t0
            _, points = ex.passages(r["question"], r.get("context"))
            by = "\n".join(p.text for p in points)
            prompt = render("ask_system") + by + r["question"]
            with rt.chat.cache() as cache:
                n_tokens = len(cache.tokens([Message("user", prompt)]) or ())
            print(f"{r['id']}: first token {first:.1f}s, total {total:.1f}s, ~{n_tokens} prompt tokens, "
                  f"citations {stream.result.citations}, declined {stream.result.declined}\n  {text[:300]}")


if __name__ == "__main__":
    main()
