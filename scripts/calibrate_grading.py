"""Choose the few scoring parameters on the odd ids of the grading dev set, report the even ids.

The signals are computed once (the expensive part: retrieval, embeddings, one LLM pass) and
re-aggregated here for every candidate setting, so the search costs seconds, not hours:

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/calibrate_grading.py dump evals/grading_signals.jsonl
    .venv/bin/python scripts/calibrate_grading.py fit evals/grading_signals.jsonl

`dump PATH LEXICAL FLOOR` dumps with other rubric selection options of `keypoints.select` (lexical
weight, relevance floor; the grader's defaults are 0.3 and 0.15, and `dump PATH 0 none` is the
plain cosine top 6 measured before them).

Only a small grid over parameters with a reason to move (the P(yes) scale of the model, the
coverage marks that earn 0 and 10, the weight of the LLM's verdicts, the similarity floor, the
contradiction check on or off) is searched; the rest keep their reasoned defaults. The objective is the mean of ordering and band accuracy on the odd ids.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

from coach import scoring
from coach.eval_grading import report

GRID = {
    "p_lo": [0.4, 0.5, 0.6],
    "p_hi": [0.85, 0.9, 0.95],
    "no_coverage": [0.0, 0.2, 0.3],
    "full_coverage": [0.6, 0.7, 0.8],
    "c_sim": [0.5, 1.1],  # 1.1 switches the contradiction check off
    "w_llm": [0.3, 0.5, 0.7],  # w_sim = w_terms = (1 - w_llm) / 2
    "sim_lo": [0.3, 0.35, 0.4],
}


def signals(rec: dict) -> scoring.AnswerSignals:
    s = rec["signals"]
    return scoring.AnswerSignals(tuple(scoring.PointSignals(**p) for p in s["points"]), s["relevance"],
                                 s["content_words"], s["echo"], tuple(s["injection"]), s.get("llm_contradiction"))


def rescore(records: list[dict], params: scoring.Params) -> list[dict]:
    out = []
    for r in records:
        score, verdict = scoring.aggregate(signals(r), params)
        out.append({**r, "score": score, "verdict": verdict})
    return out


def objective(rep: dict, split: str) -> float:
    m = rep[split]
    return (m["ordering_accuracy"] + m["band_accuracy"]) / 2


def best_fit(records: list[dict], grid: dict[str, list] = GRID) -> tuple[dict, dict]:
    """The grid point with the best objective on the odd ids (ties: the one nearest the defaults),
    and its report."""
    best = None
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid, values))
        if kw["p_hi"] <= kw["p_lo"]:
            continue
        kw["w_sim"] = kw["w_terms"] = round((1 - kw["w_llm"]) / 2, 6)
        params = replace(scoring.DEFAULT, **kw)
        rep = report(rescore(records, params))
        key = (round(objective(rep, "odd (calibration)"), 6), -sum(abs(getattr(params, k) - getattr(scoring.DEFAULT, k))
                                                                    for k in grid))
        if best is None or key > best[0]:
            best = (key, kw, rep)
    return best[1], best[2]


def fit(path: Path) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    base = report(rescore(records, scoring.DEFAULT))
    print("defaults:", json.dumps({k: {m: v[m] for m in ("ordering_accuracy", "band_accuracy", "mean_score")}
                                   for k, v in base.items()}))
    kw, rep = best_fit(records)
    print("chosen on odd ids:", kw)
    for split, m in rep.items():
        print(f"  {split:<18} ordering {m['ordering_accuracy']:.3f} (chain {m['ordering_chain']:.3f})  "
              f"band {m['band_accuracy']:.3f}  means {m['mean_score']}")


def dump(path: Path, lexical: float | None = None, floor: float | None = None) -> None:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.eval_grading import run_suite

    cfg = config.load()
    grader = None  # run_suite builds the default one
    if lexical is not None:
        from coach.commands_coach import Runtime
        from coach.grading import Grader

        rt = Runtime(cfg)
        grader = Grader(rt.retriever, rt.model, rubric_lexical=lexical, rubric_floor=floor)
    run = run_suite(cfg, dump=path, grader=grader)
    print(run.markdown)


if __name__ == "__main__":
    # dump PATH [LEXICAL FLOOR]: the rubric selection options of keypoints.select ("none": no floor)
    if len(sys.argv) < 3 or sys.argv[1] not in ("dump", "fit"):
        sys.exit(__doc__)
    if sys.argv[1] == "fit":
        fit(Path(sys.argv[2]))
    else:
        opts = sys.argv[3:5]
        if len(opts) == 1:
            sys.exit("give both LEXICAL and FLOOR (e.g. `0 none`), or neither for the grader's defaults")
        dump(Path(sys.argv[2]), *(None if x == "none" else float(x) for x in opts))
