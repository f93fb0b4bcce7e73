"""Probe: can the 1.5B judge tell a true answer from a fluent false one when asked differently?

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/probe_negation.py dump /tmp/neg.jsonl   # ~13 min
    .venv/bin/python scripts/probe_negation.py pairs /tmp/neg.jsonl

For every third dev question (18), its two most relevant key points and each of the strong,
partial, wrong and concise answers, three P(yes) from the same prompt head as the grader's:
- `py`: "does the answer correctly state this fact?" (the grader's question);
- `pn`: the same question for the point rewritten by the LLM to say the opposite (a contrast: a
  true answer should score the point above its negation, a wrong one not);
- `pw`: "does the answer make any incorrect claim about this topic?".
`pairs` counts the questions where a signal puts one kind above another. Result (BENCHMARKS.md):
neither contrast orders partial / concise above wrong better than `py` alone.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("strong", "partial", "wrong", "concise")
NEGATE = ("Rewrite the statement so that it says the opposite on its central claim: a plausible but false "
          "statement an unprepared candidate might make. Keep it one short sentence, same topic words. "
          "Reply with the false statement only.\n\nStatement: {point}")
WRONG_CLAIM = "Does the candidate's answer make any incorrect claim about the following? Answer only yes or no.\nTopic: {point}"


def dump(path: Path) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.commands_coach import Runtime
    from coach.eval_grading import load_rows
    from coach.llm import Message
    from coach.prompts import render
    from coach.signals import quote

    rows = load_rows(ROOT / "evals" / "grading_dev.jsonl")
    rt = Runtime(config.load())
    grader, model = rt.grader, rt.model
    with path.open("w") as out:
        for row in rows[::3]:
            q = row["question"]
            points = [p.text for p in grader.key_points(q)][:2]
            negated = [model.complete([Message("user", NEGATE.format(point=p))], max_tokens=60).strip() for p in points]
            start = grader._judge_head(q)
            rec = {"id": row["id"], "points": points, "negated": negated, "kinds": {}}
            for kind in KINDS:
                head = render("grade_head", question=q, answer=quote(row[kind][:3000]))

                def ask(text: str) -> float | None:
                    return grader.judge.p_yes([start[0], Message("user", f"{head}\n\n{text}")])

                with grader.judge.judging(start):
                    rec["kinds"][kind] = [[ask(render("grade_point", point=p)), ask(render("grade_point", point=n)),
                                           ask(WRONG_CLAIM.format(point=p))] for p, n in zip(points, negated)]
            out.write(json.dumps(rec) + "\n")
            out.flush()
            print(row["id"], negated[0][:90], flush=True)


SIGNALS = {"py": lambda v: v[0], "py - pn": lambda v: v[0] - v[1], "py - pw": lambda v: v[0] - v[2]}
PAIRS = (("strong", "partial"), ("partial", "wrong"), ("concise", "wrong"), ("strong", "wrong"))


def pairs(path: Path) -> None:
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for name, f in SIGNALS.items():
        for which, n in (("central point", 1), ("mean of 2", 2)):
            def sig(r: dict, kind: str) -> float:
                vals = r["kinds"][kind][:n]
                return sum(map(f, vals)) / len(vals)

            won = [f"{a}>{b} {sum(sig(r, a) > sig(r, b) for r in recs)}/{len(recs)}" for a, b in PAIRS]
            print(f"{name:<8} {which:<14}", "  ".join(won))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "pairs"):
        sys.exit(__doc__)
    (dump if sys.argv[1] == "dump" else pairs)(Path(sys.argv[2]))
