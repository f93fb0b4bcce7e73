"""The ask suite (`coach eval ask`) on the explainer without what makes it trustworthy: no answer keys
(neither a key's model answer shown for a roadmap question nor key facts among the notes) and no
support filter (every generated sentence shown, every citation kept). Run it beside
`coach eval ask` to see what reviewed content and the filter change, on the same questions and
checks.

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/ask_without_keys.py [--limit N] [--report F.md]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--report", default=None, help="write the suite's Markdown report here")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.ask.explainer import Explainer
    from coach.evals import ask
    from coach.root import Coach

    cfg = config.load()
    root = Coach(cfg)
    unfiltered = dataclasses.replace(cfg.ask, supported=-1.0, cites=-1.0)
    root._explainer = Explainer(root.retriever, root.chat, thresholds=unfiltered, keys=None)
    run = ask.run_suite(root, limit=args.limit, dataset=args.dataset, planted_set=ROOT / "no-planted-set")
    if args.report:
        Path(args.report).write_text(run.markdown)
    print(json.dumps(run.result["overall"], indent=1))


if __name__ == "__main__":
    main()
