"""`coach eval retrieval`: passage-level ranking quality and latency of each retrieval mode.

A retrieved chunk counts as relevant when it lies in one of the item's gold sections and contains
the item's gold phrase (`metrics.is_relevant`). Every mode runs on the same queries with the same
loaded models, so the side-by-side numbers differ only by the pipeline.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.errors import UsageError
from coach.evals import metrics
from coach.jsonl import read_rows
from coach.retrieval.retriever import Retriever

CUTS = (1, 3, 5, 10)


@dataclass(frozen=True)
class EvalItem:
    id: str
    query: str
    kind: str
    sections: tuple[str, ...]
    phrases: tuple[str, ...]  # a passage is relevant when it holds one of them (and is in a gold section)
    context: str | None = None


def load_dataset(path: Path, limit: int | None = None) -> list[EvalItem]:
    """The items of a retrieval dataset: `{"id", "query", "kind"?, "sections", "phrase", "context"?}`
    lines, `phrase` a string or a list of alternatives. Items labelled `"unanswerable": true` (the
    roadmap does not answer them) are left out."""
    items = []
    for d in read_rows(path):
        if d.get("unanswerable"):
            continue
        try:
            phrase = d["phrase"]
            phrases = (phrase,) if isinstance(phrase, str) else tuple(phrase)
            items.append(EvalItem(str(d["id"]), d["query"], d.get("kind", "other"), tuple(d["sections"]), phrases,
                                  d.get("context")))
        except (KeyError, TypeError) as e:
            raise UsageError(f"{path}: item {d.get('id')!r} is not a retrieval item ({e}); "
                             "need id, query, sections, phrase") from e
    return items[:limit] if limit else items


def relevant(item: EvalItem, section: str, text: str) -> bool:
    return any(metrics.is_relevant(section, text, item.sections, p) for p in item.phrases)


def n_relevant(retriever: Retriever, item: EvalItem) -> int:
    return sum(relevant(item, c.section, c.text) for c in retriever.chunks.values())


def evaluate(retriever: Retriever, items: list[EvalItem], runs: list[tuple[str, str, bool]], k: int = 10,
             progress=None) -> dict[str, Any]:
    """Metrics per run name, overall and per query kind, plus latency percentiles (ms)."""
    unanswerable = [it.id for it in items if n_relevant(retriever, it) == 0]
    result: dict[str, Any] = {"n": len(items), "unanswerable": unanswerable, "runs": {}}
    for name, mode, rerank in runs:
        per_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
        lat: list[float] = []
        misses = []
        it_items = progress(items, len(items), name) if progress else items
        for it in it_items:
            t0 = time.perf_counter()
            hits = retriever.search(it.query, k, mode=mode, rerank=rerank, context=it.context)
            lat.append((time.perf_counter() - t0) * 1000)
            rel = [relevant(it, h.chunk.section, h.chunk.text) for h in hits]
            row = {f"hit@{c}": metrics.hit_at(rel, c) for c in CUTS}
            row["mrr@10"] = metrics.reciprocal_rank(rel, 10)
            row["ndcg@10"] = metrics.ndcg_at(rel, 10, max(1, n_relevant(retriever, it)))
            per_kind[it.kind].append(row)
            per_kind["all"].append(row)
            if not row["hit@5"]:
                misses.append({"id": it.id, "query": it.query, "gold": list(it.sections),
                               "got": [h.chunk.section for h in hits[:5]]})
        result["runs"][name] = {
            "metrics": {kind: _mean(rows) | {"n": len(rows)} for kind, rows in sorted(per_kind.items())},
            "latency_ms": {"p50": metrics.percentile(lat, 50), "p95": metrics.percentile(lat, 95),
                           "max": max(lat) if lat else float("nan")},
            "misses@5": misses,
        }
    return result


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    keys = [f"hit@{c}" for c in CUTS] + ["mrr@10", "ndcg@10"]
    lines = [f"### Retrieval: {result['n']} queries", "",
             "| run | " + " | ".join(keys) + " | p50 ms | p95 ms |", "|---" * (len(keys) + 3) + "|"]
    for name, r in runs.items():
        m = r["metrics"]["all"]
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in keys)
                     + f" | {r['latency_ms']['p50']:.0f} | {r['latency_ms']['p95']:.0f} |")
    kinds = sorted({k for r in runs.values() for k in r["metrics"] if k != "all"})
    lines += ["", "Per query kind (hit@5 / MRR@10):", "",
              "| kind | n | " + " | ".join(runs) + " |", "|---" * (len(runs) + 2) + "|"]
    for kind in kinds:
        cells = []
        for r in runs.values():
            m = r["metrics"].get(kind)
            cells.append(f"{m['hit@5']:.2f} / {m['mrr@10']:.2f}" if m else "-")
        n = next(r["metrics"][kind]["n"] for r in runs.values() if kind in r["metrics"])
        lines.append(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    if result["unanswerable"]:
        lines += ["", f"Items whose phrase is in no chunk (check the dataset): {', '.join(result['unanswerable'])}"]
    return "\n".join(lines) + "\n"


def default_runs(has_reranker: bool) -> list[tuple[str, str, bool]]:
    runs = [("bm25", "bm25", False), ("dense", "dense", False), ("hybrid", "hybrid", False)]
    if has_reranker:
        runs.append(("hybrid+rerank", "hybrid", True))
    return runs


def gate_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The flat metrics the regression gate watches: every run's overall hit@1/5, MRR and nDCG."""
    return {f"{name}.{m}": r["metrics"]["all"][m] for name, r in result["runs"].items()
            for m in ("hit@1", "hit@5", "mrr@10", "ndcg@10")}


def charts(result: dict[str, Any]):
    from coach.evals.kit import Chart

    runs = result["runs"]
    kinds = sorted({k for r in runs.values() for k in r["metrics"]})
    return [Chart("Retrieval hit@5 per query kind", kinds,
                  {name: [r["metrics"].get(k, {}).get("hit@5", 0.0) for k in kinds] for name, r in runs.items()})]


def run_suite(root, limit: int | None = None, dataset: str | None = None, k: int = 10, progress=None):
    """The retrieval suite as a `SuiteRun` on `root`'s retriever (models loaded once, every mode on
    the same queries)."""
    from coach.evals.kit import SuiteRun
    from coach.retrieval.rerank import NoopReranker

    cfg = root.cfg
    path = Path(dataset) if dataset else cfg.root / "evals" / "retrieval_dev.jsonl"
    items = load_dataset(path, limit)
    retriever = root.retriever
    runs = default_runs(not isinstance(retriever.reranker, NoopReranker))
    retriever.search("warm up the models", 1, mode="hybrid", rerank=len(runs) > 3)
    result = evaluate(retriever, items, runs, k=max(k, 10), progress=progress)
    result["dataset"] = str(path)
    result["config"] = {"embedder": cfg.embedder.model, "fusion": cfg.retrieval.fusion,
                        "max_tokens": cfg.chunking.max_tokens, "reranker": retriever.reranker.name}
    return SuiteRun("retrieval", result, gate_metrics(result), markdown(result), charts(result), limit)
