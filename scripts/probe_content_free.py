"""Does calibrating the judge against a content-free answer help? ("calibrate before use")

The 1.5B's P(yes) for a key point moves with the point as much as with the answer: for the answer
"N/A" it ranges ~0.26-0.74 across the dev set's rubric points. This probe measures that baseline
P0 per point, then refits the scoring grid (scripts/calibrate_grading.py, widened P(yes) marks)
with P(yes) corrected by P0, on the odd ids, and reports the even ids:

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/probe_content_free.py dump /tmp/p0.jsonl
    .venv/bin/python scripts/probe_content_free.py fit .coach/grading_signals.jsonl /tmp/p0.jsonl

Corrections: `diff` 0.5 + P - P0; `logit` sigmoid(logit P - logit P0); `half` sigmoid(logit P -
logit P0 / 2). The grading dump must come from the same rubric (it is deterministic).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import calibrate_grading as cg  # noqa: E402

CONTENT_FREE = "N/A"


def dump(out: Path) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.commands_coach import Runtime
    from coach.eval_grading import load_rows
    from coach.llm import Message
    from coach.prompts import render
    from coach.sanitize import MAX_QUESTION_CHARS, clean

    g = Runtime(config.load()).grader
    system = Message("system", render("grade_system"))
    with out.open("w") as f:
        for row in load_rows(ROOT / "evals" / "grading_dev.jsonl"):
            q = clean(row["question"], MAX_QUESTION_CHARS).text
            points = [p for p, _ in g._reference(q, ()).chosen]  # noqa: SLF001 - the grader's own rubric
            head = render("grade_head", question=q, answer=CONTENT_FREE)
            with g.judge.judging(g._judge_head(q)):  # noqa: SLF001
                p0 = [g.judge.p_yes([system, Message("user", f"{head}\n\n{render('grade_point', point=p.text)}")])
                      for p in points]
            f.write(json.dumps({"id": row["id"], "points": [p.text for p in points], "p0": p0}) + "\n")


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


CORRECTIONS = {
    "diff": lambda p, p0: min(1.0, max(0.0, 0.5 + p - p0)),
    "logit": lambda p, p0: 1 / (1 + math.exp(_logit(p0) - _logit(p))),
    "half": lambda p, p0: 1 / (1 + math.exp(0.5 * _logit(p0) - _logit(p))),
}


def corrected(records: list[dict], base: dict[str, dict], how: str) -> list[dict]:
    out = []
    for r in records:
        b = base[r["id"]]
        assert b["points"][: len(r["points"])] == r["points"], f"{r['id']}: another rubric than the dump's"
        pts = [{**p, "llm": CORRECTIONS[how](p["llm"], p0)} if p.get("llm") is not None and p0 is not None else p
               for p, p0 in zip(r["signals"]["points"], b["p0"])]
        out.append({**r, "signals": {**r["signals"], "points": pts}})
    return out


def fit(dump_path: Path, base_path: Path) -> None:
    records = [json.loads(x) for x in dump_path.read_text().splitlines() if x.strip()]
    base = {r["id"]: r for r in map(json.loads, base_path.read_text().splitlines())}
    grid = {**cg.GRID, "p_lo": [0.4, 0.5, 0.55, 0.6, 0.7], "p_hi": [0.7, 0.8, 0.85, 0.9, 0.95]}
    for how in ("none", *CORRECTIONS):
        recs = records if how == "none" else corrected(records, base, how)
        kw, rep = cg.best_fit(recs, grid)
        odd, even = rep["odd (calibration)"], rep["even (check)"]
        print(f"{how:<6} odd ordering {odd['ordering_accuracy']:.3f} band {odd['band_accuracy']:.3f} | even ordering "
              f"{even['ordering_accuracy']:.3f} band {even['band_accuracy']:.3f} | chosen {kw}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "dump":
        dump(Path(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "fit":
        fit(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
