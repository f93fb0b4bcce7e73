"""Choose the few scoring parameters on the odd ids of the grading dev set, report the even ids.

The signals are computed once (the expensive part: retrieval, embeddings, one LLM pass) and
re-aggregated here for every candidate setting, so the search costs seconds, not hours:

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/calibrate_grading.py dump evals/grading_signals.jsonl
    .venv/bin/python scripts/calibrate_grading.py fit evals/grading_signals.jsonl [--set w_llm=0.5 ...]

Only a small grid over parameters with a reason to move (the P(yes) scale of the model, the
coverage marks that earn 0 and 10, the weight of the LLM's verdicts, the similarity floor) is
searched; the rest keep their reasoned defaults. The objective is the mean of ordering and band
accuracy on the odd ids. `fit` then swaps the halves (chosen on the even ids, checked on the odd
ones), so a choice can be judged on two held-out halves, and prints the concise answers' checks
when the dump has them (reported, not part of the objective: see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

from coach.evals.grading import report
from coach.grading import scoring

GRID = {
    "p_lo": [0.4, 0.5, 0.6],
    "p_hi": [0.85, 0.9, 0.95],
    "no_coverage": [0.0, 0.2, 0.3],
    "full_coverage": [0.6, 0.7, 0.8],
    "w_llm": [0.3, 0.5, 0.7],  # w_sim = w_terms = (1 - w_llm) / 2
    "sim_lo": [0.3, 0.35, 0.4],
}
# grading on answer keys (`fit --keyed`): the coverage marks, the weight of core facts and of the
# two best-covered core facts, and the misconception check's marks (m_margin 1.0: off)
KEYED_GRID = {
    "p_lo": [0.5, 0.6],
    "p_hi": [0.85, 0.95],
    "no_coverage": [0.2, 0.3, 0.4],
    "full_coverage": [0.6, 0.7, 0.8],
    "w_llm": [0.3, 0.5],
    "w_top": [0.0, 0.5, 0.75, 1.0],
    "w_core": [1.0, 2.0],
    "m_margin": [0.2, 1.0],
    "m_gap": [-0.05, 0.0, 0.05, 1.0],
    "m_sim": [0.4, 0.5, 0.6],
}


def signals(rec: dict) -> scoring.AnswerSignals:
    s = rec["signals"]
    return scoring.AnswerSignals(tuple(scoring.PointSignals(**p) for p in s["points"]), s["relevance"],
                                 s["content_words"], s["echo"], tuple(s["injection"]), s.get("prose", 1.0),
                                 tuple(scoring.MisconceptionSignals(**m) for m in s.get("misconceptions", ())))


def rescore(records: list[dict], params: scoring.Params) -> list[dict]:
    out = []
    for r in records:
        score, verdict = scoring.aggregate(signals(r), params)
        out.append({**r, "score": score, "verdict": verdict})
    return out


def objective(rep: dict, split: str) -> float:
    """Ordering and band accuracy; with concise answers in the dump, their band check (> 3) too."""
    m = rep[split]
    parts = [m["ordering_accuracy"], m["band_accuracy"]] + ([m["concise_band"]] if "concise_band" in m else [])
    return sum(parts) / len(parts)


def best_fit(records: list[dict], grid: dict[str, list] = GRID, split: str = "odd (calibration)"
             ) -> tuple[dict, dict]:
    """The grid point with the best objective on `split` (ties: the one nearest the defaults),
    and its report."""
    best = None
    for values in itertools.product(*grid.values()):
        kw = dict(zip(grid, values))
        if kw["p_hi"] <= kw["p_lo"] or kw["full_coverage"] <= kw["no_coverage"]:
            continue
        kw["w_sim"] = kw["w_terms"] = round((1 - kw["w_llm"]) / 2, 6)
        params = replace(scoring.DEFAULT, **kw)
        rep = report(rescore(records, params))
        key = (round(objective(rep, split), 6),
               -sum(abs(getattr(params, k) - getattr(scoring.DEFAULT, k)) for k in grid))
        if best is None or key > best[0]:
            best = (key, kw, rep)
    return best[1], best[2]


def _line(split: str, m: dict) -> str:
    concise = (f"  concise: ordering {m['concise_ordering']:.3f} band {m['concise_band']:.3f}"
               if "concise_band" in m else "")
    return (f"  {split:<18} ordering {m['ordering_accuracy']:.3f} (chain {m['ordering_chain']:.3f})  "
            f"band {m['band_accuracy']:.3f}{concise}  means {m['mean_score']}")


def fit(paths: list[Path], fixed: dict[str, float], keyed: bool = False) -> None:
    """`fixed` pins grid entries (`--set w_llm=0.5`): the best fit with that choice made. `keyed`:
    the answers graded on answer keys, with the keyed grid; else those graded on passages."""
    records = [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]
    records = [r for r in records if bool(r.get("key")) == keyed]
    base = KEYED_GRID if keyed else GRID
    grid = {**base, **{k: [v] for k, v in fixed.items()}}
    print("defaults:")
    for split, m in report(rescore(records, scoring.KEYED if keyed else scoring.DEFAULT)).items():
        print(_line(split, m))
    for chosen_on, check in (("odd (calibration)", "even (check)"), ("even (check)", "odd (calibration)")):
        kw, rep = best_fit(records, grid, split=chosen_on)
        print(f"chosen on the {chosen_on.split()[0]} ids:", kw)
        print(_line(chosen_on, rep[chosen_on]))
        print(_line(check, rep[check]), f" <- held out, objective {objective(rep, check):.3f}")


def dump(path: Path, dataset: str | None, reference: bool = False) -> None:
    """Grade every answer of the dataset with the configured grader (with `reference`, the judge
    reads the answer key's model answer first) and write its signals."""
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.evals.grading import run_suite
    from coach.root import Coach

    root = Coach(config.load())
    if reference:
        root.grader.reference = True
    print(run_suite(root, dataset=dataset, dump=path).markdown)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="action", required=True)
    d = sub.add_parser("dump", help="grade the dev set and write every grade's signals")
    d.add_argument("path", type=Path)
    d.add_argument("--dataset", help="a grading dataset (default: evals/grading_dev.jsonl)")
    d.add_argument("--reference", action="store_true", help="the judge reads the answer key's model answer first")
    f = sub.add_parser("fit", help="search the grid on one half, check on the other, both ways")
    f.add_argument("paths", type=Path, nargs="+")
    f.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="pin a grid entry")
    f.add_argument("--keyed", action="store_true", help="the answers graded on answer keys (default: on passages)")
    args = ap.parse_args()
    if args.action == "dump":
        dump(args.path, args.dataset, args.reference)
        return
    grid = KEYED_GRID if args.keyed else GRID
    pinned = dict(a.split("=", 1) for a in args.set if "=" in a)
    if len(pinned) != len(args.set) or set(pinned) - set(grid):
        ap.error(f"--set takes KEY=VALUE with KEY one of {', '.join(grid)}")
    fit(args.paths, {k: float(v) for k, v in pinned.items()}, args.keyed)


if __name__ == "__main__":
    main()
