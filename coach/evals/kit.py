"""What every eval suite shares: saving results, the Markdown report with plots, and the
regression gate against a committed baseline.

A suite produces a `SuiteRun`: its full result (JSON-able), the flat metrics the gate watches
(higher is better), its Markdown section and bar charts. `coach eval SUITE --gate` fails (exit 1)
when a watched metric falls below its baseline by more than the baseline's tolerance; the
tolerances are the measured run-to-run noise plus a margin (see BENCHMARKS.md), so the gate
catches regressions, not absolute numbers. `--update-baseline` rewrites the baseline deliberately.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.config import PROJECT_ROOT
from coach.errors import UsageError

BASELINE_DIR = PROJECT_ROOT / "evals" / "baselines"


@dataclass(frozen=True)
class Chart:
    title: str
    labels: list[str]
    series: dict[str, list[float]]  # series name -> one value per label


@dataclass(frozen=True)
class SuiteRun:
    suite: str
    result: dict[str, Any]
    metrics: dict[str, float]  # flat, higher is better; what the gate watches
    markdown: str
    charts: list[Chart] = field(default_factory=list)
    limit: int | None = None


@dataclass(frozen=True)
class Regression:
    metric: str
    baseline: float
    current: float
    tolerance: float

    def __str__(self) -> str:
        return (f"{self.metric}: {self.current:.3f} < baseline {self.baseline:.3f} - tolerance {self.tolerance:.3f}")


def compare(current: Mapping[str, float], baseline: Mapping[str, Any]) -> list[Regression]:
    """Metrics that dropped by more than their tolerance. A watched metric missing from the
    current run is a regression too (a suite that silently stops measuring must not pass).

    >>> base = {"metrics": {"mrr": 0.80, "hit": 0.90}, "tolerance": {"mrr": 0.02, "default": 0.01}}
    >>> [r.metric for r in compare({"mrr": 0.79, "hit": 0.88}, base)]
    ['hit']
    """
    tol = baseline.get("tolerance", {})
    out = []
    for name, value in baseline["metrics"].items():
        t = float(tol.get(name, tol.get("default", 0.0)))
        cur = current.get(name)
        if cur is None or cur != cur or cur < value - t:  # cur != cur: NaN
            out.append(Regression(name, value, float("nan") if cur is None else cur, t))
    return out


def baseline_path(suite: str) -> Path:
    return BASELINE_DIR / f"{suite}.json"


def load_baseline(suite: str) -> dict[str, Any]:
    p = baseline_path(suite)
    if not p.is_file():
        raise UsageError(f"no baseline for {suite!r} at {p}: create it with "
                         f'"coach eval {suite} --limit N --update-baseline"')
    return json.loads(p.read_text())


def baseline_name(suite: str, dataset: str | None) -> str:
    """Which baseline a run is gated on: a shipped second set of the suite (`<suite>_<name>.jsonl`)
    has its own; the suite's dev set, or any other file, the suite's.

    >>> baseline_name("retrieval", "evals/retrieval_blind.jsonl"), baseline_name("retrieval", "evals/retrieval_dev.jsonl")
    ('retrieval_blind', 'retrieval')
    >>> baseline_name("grading", None), baseline_name("grading", "/tmp/mine.jsonl")
    ('grading', 'grading')
    """
    stem = Path(dataset).stem if dataset else ""
    return stem if stem.startswith(f"{suite}_") and stem != f"{suite}_dev" else suite


def write_baseline(run: SuiteRun, tolerance: Mapping[str, float] | None = None, name: str | None = None) -> Path:
    path = baseline_path(name or run.suite)
    old = json.loads(path.read_text()) if path.is_file() else {}
    data = {"suite": run.suite, "limit": run.limit, "updated": time.strftime("%Y-%m-%d"),
            "metrics": {k: round(v, 4) for k, v in sorted(run.metrics.items())},
            "tolerance": dict(tolerance or old.get("tolerance") or {"default": 0.01})}
    BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def save_result(run: SuiteRun, data_dir: Path) -> Path:
    out = data_dir / "evals"
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"{run.suite}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    p.write_text(json.dumps({"suite": run.suite, "limit": run.limit, "metrics": run.metrics,
                             "result": run.result}, indent=1, default=str))
    return p


def write_report(runs: list[SuiteRun], path: Path) -> Path:
    """Markdown report with one PNG per chart next to it (`<stem>-<n>.png`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"# coach eval report ({time.strftime('%Y-%m-%d %H:%M')})", ""]
    n = 0
    for run in runs:
        parts.append(run.markdown)
        for chart in run.charts:
            n += 1
            png = path.with_name(f"{path.stem}-{n}.png")
            plot_bars(chart, png)
            parts.append(f"![{chart.title}]({png.name})\n")
    path.write_text("\n".join(parts))
    return path


def plot_bars(chart: Chart, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(chart.labels) * max(1, len(chart.series))), 3.5))
    width = 0.8 / max(1, len(chart.series))
    for i, (name, values) in enumerate(chart.series.items()):
        xs = [j + i * width for j in range(len(chart.labels))]
        ax.bar(xs, values, width=width, label=name)
    ax.set_xticks([j + width * (len(chart.series) - 1) / 2 for j in range(len(chart.labels))])
    ax.set_xticklabels(chart.labels, rotation=30, ha="right")
    ax.set_title(chart.title)
    ax.set_ylim(0, max(1.0, max((v for vs in chart.series.values() for v in vs), default=1.0)))
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
