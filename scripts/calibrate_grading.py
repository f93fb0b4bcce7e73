"""Choose the few scoring parameters on the odd ids of the grading dev set, report the even ids.

The signals are computed once (the expensive part: retrieval, embeddings, one LLM pass) and
re-aggregated here for every candidate setting, so the search costs seconds, not hours:

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/calibrate_grading.py dump evals/grading_signals.jsonl
    .venv/bin/python scripts/calibrate_grading.py fit evals/grading_signals.jsonl

`dump PATH LEXICAL FLOOR` dumps with other rubric selection options of `keypoints.select` (lexical
weight, relevance floor; the grader's defaults are 0.3 and 0.15, and `dump PATH 0 none` is the
plain cosine top 6 measured before them); `--llm-words N` lets the judge read only the answer's N
words most relevant to the rubric (`Grader(llm_answer_words=N)`); `--rerank` takes the reference
passages in the reranker's order (`Grader(rerank_passages=True)`); `--claims N` adds the claim
check of the answer's N sentences closest to the rubric (`Grader(n_claims=N)`).

Only a small grid over parameters with a reason to move (the P(yes) scale of the model, the
coverage marks that earn 0 and 10, the weight of the LLM's verdicts, the similarity floor, the
contradiction check on or off, the share of credit taken from the best point) is searched; the
rest keep their reasoned defaults. The objective is the mean of ordering and band accuracy on the
odd ids. `fit` then swaps the halves (chosen on the even ids, checked on the odd ones), so a
choice can be judged on two held-out halves, and prints the concise answers' checks when the dump
has them (they are reported, not part of the objective: see BENCHMARKS.md). `--grid claims`
searches the claim check's parameters (its weight, marks and number of sentences) with the
coverage marks, the LLM's weight on the key points and `w_best` instead.
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
    "w_best": [0.0, 0.25, 0.5],
}
# `fit --grid claims`: the claim check's parameters, with the P(yes) marks, the similarity floor and
# the contradiction check held at their defaults (6,561 points)
CLAIMS_GRID = {
    "no_coverage": [0.2, 0.3],
    "full_coverage": [0.6, 0.7, 0.8],
    "w_llm": [0.0, 0.3, 0.5],
    "w_best": [0.0, 0.25, 0.5],
    "w_truth": [0.0, 0.5, 0.75, 1.0],
    "t_lo": [0.2, 0.3, 0.4],
    "t_hi": [0.5, 0.6, 0.7],
    "claim_k": [1, 2, 3],
}
GRIDS = {"default": GRID, "claims": CLAIMS_GRID}


def signals(rec: dict) -> scoring.AnswerSignals:
    s = rec["signals"]
    return scoring.AnswerSignals(tuple(scoring.PointSignals(**p) for p in s["points"]), s["relevance"],
                                 s["content_words"], s["echo"], tuple(s["injection"]), s.get("llm_contradiction"),
                                 tuple(s.get("claims", ())))


def rescore(records: list[dict], params: scoring.Params) -> list[dict]:
    out = []
    for r in records:
        score, verdict = scoring.aggregate(signals(r), params)
        out.append({**r, "score": score, "verdict": verdict})
    return out


def objective(rep: dict, split: str) -> float:
    m = rep[split]
    return (m["ordering_accuracy"] + m["band_accuracy"]) / 2


def best_fit(records: list[dict], grid: dict[str, list] = GRID, split: str = "odd (calibration)"
             ) -> tuple[dict, dict]:
    """The grid point with the best objective on `split` (ties: the one nearest the defaults),
    and its report."""
    best = None
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid, values))
        if kw.get("p_hi", 1.0) <= kw.get("p_lo", 0.0) or kw.get("t_hi", 1.0) <= kw.get("t_lo", 0.0):
            continue
        kw["w_sim"] = kw["w_terms"] = round((1 - kw["w_llm"]) / 2, 6)
        params = replace(scoring.DEFAULT, **kw)
        rep = report(rescore(records, params))
        key = (round(objective(rep, split), 6), -sum(abs(getattr(params, k) - getattr(scoring.DEFAULT, k))
                                                                    for k in grid))
        if best is None or key > best[0]:
            best = (key, kw, rep)
    return best[1], best[2]


def _line(split: str, m: dict) -> str:
    concise = (f"  concise: ordering {m['concise_ordering']:.3f} band {m['concise_band']:.3f}"
               if "concise_band" in m else "")
    return (f"  {split:<18} ordering {m['ordering_accuracy']:.3f} (chain {m['ordering_chain']:.3f})  "
            f"band {m['band_accuracy']:.3f}{concise}  means {m['mean_score']}")


def fit(paths: list[Path], fixed: dict[str, float] | None = None, base: dict[str, list] = GRID) -> None:
    """`fixed` pins grid entries (`--set w_best=0.5`): the best fit with that choice made."""
    records = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    grid = {**base, **{k: [type(base[k][0])(v)] for k, v in (fixed or {}).items()}}
    print("defaults:")
    for split, m in report(rescore(records, scoring.DEFAULT)).items():
        print(_line(split, m))
    for chosen_on, check in (("odd (calibration)", "even (check)"), ("even (check)", "odd (calibration)")):
        kw, rep = best_fit(records, grid, split=chosen_on)
        print(f"chosen on the {chosen_on.split()[0]} ids:", kw)
        print(_line(chosen_on, rep[chosen_on]))
        print(_line(check, rep[check]), f" <- held out, objective {objective(rep, check):.3f}")


def dump(path: Path, lexical: float | None = None, floor: float | None = None, llm_words: int | None = None,
         rerank: bool = False, claims: int = 0) -> None:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.eval_grading import run_suite

    cfg = config.load()
    grader = None  # run_suite builds the default one
    if lexical is not None or llm_words is not None or rerank or claims:
        from coach.commands_coach import Runtime
        from coach.grading import Grader

        rt = Runtime(cfg)
        rubric = {} if lexical is None else {"rubric_lexical": lexical, "rubric_floor": floor}
        grader = Grader(rt.retriever, rt.model, llm_answer_words=llm_words, rerank_passages=rerank, n_claims=claims,
                        **rubric)
    run = run_suite(cfg, dump=path, grader=grader)
    print(run.markdown)


if __name__ == "__main__":
    # dump PATH [LEXICAL FLOOR]: the rubric selection options of keypoints.select ("none": no floor)
    if len(sys.argv) < 3 or sys.argv[1] not in ("dump", "fit"):
        sys.exit(__doc__)
    if sys.argv[1] == "fit":  # fit PATH [PATH...] [--grid default|claims] [--set KEY=VALUE...]: one grader's dumps
        args = sys.argv[2:]
        name = args[args.index("--grid") + 1] if "--grid" in args else "default"
        if name not in GRIDS:
            sys.exit(f"--grid takes one of {', '.join(GRIDS)}")
        args = [a for i, a in enumerate(args) if a != "--grid" and not (i and args[i - 1] == "--grid")]
        sets = [a for i, a in enumerate(args) if i and args[i - 1] == "--set"]
        unknown = [k for k, _ in (a.split("=", 1) for a in sets) if k not in GRIDS[name]]
        if unknown or any("=" not in a for a in sets):
            sys.exit(f"--set takes KEY=VALUE with KEY one of {', '.join(GRIDS[name])}")
        fit([Path(a) for a in args if a != "--set" and a not in sets],
            {k: float(v) for k, v in (a.split("=", 1) for a in sets)}, GRIDS[name])
    else:  # dump PATH [LEXICAL FLOOR] [--llm-words N] [--rerank] [--claims N]
        args = sys.argv[3:]
        rerank = "--rerank" in args
        args = [a for a in args if a != "--rerank"]
        numbers = {}
        for flag in ("--llm-words", "--claims"):
            if flag in args:
                i = args.index(flag)
                numbers[flag], args = int(args[i + 1]), args[:i] + args[i + 2:]
        if len(args) not in (0, 2):
            sys.exit("give both LEXICAL and FLOOR (e.g. `0 none`), or neither for the grader's defaults")
        dump(Path(sys.argv[2]), *(None if x == "none" else float(x) for x in args), llm_words=numbers.get("--llm-words"),
             rerank=rerank, claims=numbers.get("--claims", 0))
