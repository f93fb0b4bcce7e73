"""`coach eval grading`: the grader against hand-labelled answers (evals/grading_dev.jsonl).

Each item has a question and four answers: strong, partial (half the points), wrong (fluent but
wrong on the central point), off_topic (a good answer to another question). Metrics (pure):
- ordering accuracy: share of the pairs strong > partial, partial > wrong, strong > off_topic
  (strictly) that hold; `chain` is the share of items where all three hold;
- band accuracy: share of the checks strong >= 7, wrong <= 3, off_topic <= 2 that hold;
- mean score per kind, parse failures (LLM replies that could not be read), seconds per grade.
An item may carry a fifth answer, `concise` (correct on the central point, one or two sentences):
it is graded when present and checked apart, so the four-kind metrics above keep their meaning:
concise > wrong and strong > concise (`concise_ordering`), concise above the wrong band, > 3
(`concise_band`).
Reported for all items and for the odd / even ids separately: the scoring parameters were chosen
on the odd ids, so the even ids are the check that they were not tuned to single items.
`--dump PATH` writes every grade's signals, for `scripts/calibrate_grading.py`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from coach.errors import UsageError
from coach.jsonl import read_rows

KINDS = ("strong", "partial", "wrong", "off_topic")
PAIRS = (("strong", "partial"), ("partial", "wrong"), ("strong", "off_topic"))
BANDS = (("strong", ">=", 7), ("wrong", "<=", 3), ("off_topic", "<=", 2))
OPTIONAL_KINDS = ("concise",)
CONCISE_PAIRS = (("concise", "wrong"), ("strong", "concise"))
CONCISE_BANDS = (("concise", ">", 3),)


def ordering(scores: Sequence[Mapping[str, int]], pairs=PAIRS) -> tuple[float, float]:
    """(pair accuracy, chain accuracy) over items mapping kind -> score.

    >>> ordering([{"strong": 8, "partial": 5, "wrong": 2, "off_topic": 0},
    ...           {"strong": 6, "partial": 6, "wrong": 1, "off_topic": 0}])
    (0.833333, 0.5)
    """
    held = [s[a] > s[b] for s in scores for a, b in pairs if a in s and b in s]
    kinds = {k for pair in pairs for k in pair}
    chains = [all(s[a] > s[b] for a, b in pairs) for s in scores if all(k in s for k in kinds)]
    return _mean(held), _mean(chains)


_OPS = {">=": lambda x, v: x >= v, "<=": lambda x, v: x <= v, ">": lambda x, v: x > v}


def bands(scores: Sequence[Mapping[str, int]], checks=BANDS) -> float:
    """Share of band checks that hold.

    >>> bands([{"strong": 7, "wrong": 4, "off_topic": 2}])
    0.666667
    >>> bands([{"concise": 3.5}, {"concise": 3}], CONCISE_BANDS)
    0.5
    """
    return _mean([_OPS[op](s[k], v) for s in scores for k, op, v in checks if k in s])


def _mean(xs: Sequence[float | bool]) -> float:
    return round(sum(xs) / len(xs), 6) if xs else 0.0


def summarise(records: Sequence[Mapping]) -> dict:
    """Metrics from per-answer records {"id", "kind", "score", "parse_failures", "seconds", "llm_calls"}."""
    by_id: dict[str, dict[str, int]] = {}
    for r in records:
        by_id.setdefault(r["id"], {})[r["kind"]] = r["score"]
    items = list(by_id.values())
    pair, chain = ordering(items)
    llm = [r["seconds"] for r in records if r.get("llm_calls")]
    present = [k for k in (*KINDS, *OPTIONAL_KINDS) if any(k in s for s in items)]
    concise = {"concise_ordering": ordering(items, CONCISE_PAIRS)[0],
               "concise_band": bands(items, CONCISE_BANDS)} if "concise" in present else {}
    return {
        "items": len(items), "answers": len(records),
        "ordering_accuracy": pair, "ordering_chain": chain, "band_accuracy": bands(items), **concise,
        # kinds no item has are left out (a 0.0 would read as a score)
        "mean_score": {k: round(sum(s[k] for s in items if k in s) / sum(k in s for s in items), 2) for k in present},
        "parse_failures": sum(r.get("parse_failures", 0) for r in records),
        "seconds_per_grade": round(sum(r["seconds"] for r in records) / max(1, len(records)), 2),
        "seconds_per_llm_grade": round(sum(llm) / len(llm), 2) if llm else 0.0,
    }


def _number(item_id: str) -> int:
    m = re.search(r"(\d+)$", item_id)
    return int(m.group(1)) if m else 0


def report(records: Sequence[Mapping]) -> dict:
    odd = [r for r in records if _number(r["id"]) % 2 == 1]
    even = [r for r in records if _number(r["id"]) % 2 == 0]
    return {"all": summarise(records), "odd (calibration)": summarise(odd), "even (check)": summarise(even)}


def run(grader, rows: Sequence[Mapping], dump: Path | None = None, log=lambda s: None) -> list[dict]:
    records = []
    out = dump.open("w", encoding="utf-8") if dump else None
    try:
        for row in rows:
            for kind in (*KINDS, *OPTIONAL_KINDS):
                if not isinstance(row.get(kind), str):
                    continue
                t0 = time.perf_counter()
                g = grader.grade(row["question"], row[kind])
                rec = {"id": str(row["id"]), "kind": kind, "score": g.score, "verdict": g.verdict,
                       "parse_failures": g.parse_failures, "llm_calls": g.llm_calls,
                       "seconds": round(time.perf_counter() - t0, 3)}
                records.append(rec)
                log(f"{rec['id']} {kind:<9} {g.score:>4} {g.verdict:<9} {rec['seconds']:.1f}s")
                if out:
                    out.write(json.dumps({**rec, "question": row["question"], "reason": g.reason,
                                          "points": [p.text for p in g.points],
                                          "signals": asdict(g.signals) if g.signals else None}) + "\n")
                    out.flush()
    finally:
        if out:
            out.close()
    return records


def to_markdown(rep: dict, meta: Mapping[str, str]) -> str:
    concise = any("concise_band" in m for m in rep.values())
    extra = " | concise | concise ordering | concise band" if concise else ""
    lines = ["# Grading eval", "", *(f"- {k}: {v}" for k, v in meta.items()), "",
             "| split | items | ordering (pairs) | ordering (chain) | band | strong | partial | wrong | off-topic "
             f"| parse failures | s/grade | s/LLM grade{extra} |", "|---" * (15 if concise else 12) + "|"]
    for name, m in rep.items():
        ms = m["mean_score"]
        cells = (f" | {ms.get('concise', '-')} | {m.get('concise_ordering', 0):.3f} | {m.get('concise_band', 0):.3f}"
                 if concise else "")
        means = " | ".join(str(ms.get(k, "-")) for k in KINDS)
        lines.append(f"| {name} | {m['items']} | {m['ordering_accuracy']:.3f} | {m['ordering_chain']:.3f} | "
                     f"{m['band_accuracy']:.3f} | {means} | "
                     f"{m['parse_failures']} | {m['seconds_per_grade']} | {m['seconds_per_llm_grade']}{cells} |")
    return "\n".join(lines) + "\n"


def gate_metrics(rep: dict) -> dict[str, float]:
    """What the regression gate watches (higher is better)."""
    m = rep["all"]
    concise = {k: m[k] for k in ("concise_ordering", "concise_band") if k in m}
    return {"ordering_accuracy": m["ordering_accuracy"], "band_accuracy": m["band_accuracy"], **concise,
            "no_parse_failures": 1.0 if m["parse_failures"] == 0 else 0.0}


def run_suite(root, limit: int | None = None, dataset: str | None = None, progress=None,
              dump: Path | None = None, log=None):
    """The grading suite as a `coach.evals.kit.SuiteRun`, on `root`'s grader (one model load for
    every answer)."""
    import sys

    from coach.evals.kit import Chart, SuiteRun

    cfg = root.cfg
    path = Path(dataset) if dataset else cfg.root / "evals" / "grading_dev.jsonl"
    rows = read_rows(path)
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        rows = rows[:limit]
    grader, model = root.grader, root.chat
    t0 = time.perf_counter()
    records = run(grader, rows, dump, log=log or (lambda s: print(s, file=sys.stderr, flush=True)))
    rep = report(records)
    meta = {"dataset": str(path), "answers": str(len(records)),
            "model": Path(getattr(model, "path", "")).name or cfg.llm.backend,
            "threads": str(getattr(model, "n_threads", "-")), "wall seconds": f"{time.perf_counter() - t0:.0f}"}
    result = {"meta": meta, **rep, "records": records}
    kinds = [k for k in (*KINDS, *OPTIONAL_KINDS) if k in rep["all"]["mean_score"]]
    chart = Chart("Mean score per kind of answer", kinds,
                  {name: [m["mean_score"].get(k, 0.0) for k in kinds] for name, m in rep.items()})
    return SuiteRun("grading", result, gate_metrics(rep), to_markdown(rep, meta), [chart], limit)
