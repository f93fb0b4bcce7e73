"""Handler for `coach eval SUITE`: run offline evaluation suites, save their results, write a report,
and gate on the committed baselines (`coach.evals.kit`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from coach.cli.output import progress_bar
from coach.errors import UsageError
from coach.root import Coach


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _suites() -> dict:
    from coach.evals import ask, grading, ragas, retrieval

    return {"retrieval": retrieval.run_suite, "grading": grading.run_suite, "ask": ask.run_suite,
            "ragas": ragas.run_suite}


def cmd_eval(root: Coach, args) -> int:
    from coach.evals import kit

    suites = _suites()
    names = list(suites) if args.suite == "all" else [args.suite]
    if args.dataset and len(names) > 1:
        raise UsageError("--dataset needs one suite, not all")
    runs, failed = [], []
    for name in names:
        run = suites[name](root, limit=args.limit, dataset=args.dataset, progress=progress_bar)
        runs.append(run)
        _log(f"{name}: result saved to {kit.save_result(run, root.cfg.data_dir)}")
        base = kit.baseline_name(name, args.dataset)
        if args.update_baseline:
            _log(f"{name}: baseline written to {kit.write_baseline(run, name=base)}")
        if args.gate:
            baseline = kit.load_baseline(base)
            if baseline.get("limit") != args.limit:
                raise UsageError(f"the {name} baseline was measured with --limit {baseline.get('limit')}: "
                                 f"gate with the same --limit")
            regressions = kit.compare(run.metrics, baseline)
            for r in regressions:
                _log(f"REGRESSION {name}: {r}")
            failed += regressions
            if not regressions:
                _log(f"{name}: no regression against {kit.baseline_path(base)} ({len(baseline['metrics'])} metrics)")
    if args.report:
        _log(f"report written to {kit.write_report(runs, Path(args.report))}")
    if args.json:
        print(json.dumps({r.suite: {"metrics": r.metrics, "result": r.result} for r in runs}, indent=1, default=str))
    else:
        print("\n".join(r.markdown for r in runs))
    return 1 if failed else 0
