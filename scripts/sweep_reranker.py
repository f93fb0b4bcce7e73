"""Reranker settings side by side on evals/retrieval_dev.jsonl (BENCHMARKS.md, "Reranker").

The hybrid top-`depth` candidates of every dev query are retrieved once; each reranker variant
(max_length, int8 quantization) then scores the same candidates, timed per query (warm, `depth`
pairs in one batch), and every blend weight is evaluated on those scores. Blend 0 is the hybrid
order itself, so every row of one run is comparable.

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/sweep_reranker.py [--model PATH] [--depth 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach import config
from coach.evals import metrics
from coach.evals.retrieval import CUTS, load_dataset, n_relevant, relevant  # noqa: E402
from coach.retrieval import query as Q  # noqa: E402
from coach.retrieval.crossencoder import CrossEncoderReranker  # noqa: E402
from coach.retrieval.rerank import NoopReranker, blend_scores  # noqa: E402
from coach.retrieval.rerank_train import DEV_SET, trained_model_dir  # noqa: E402
from coach.root import Backends, Coach  # noqa: E402

BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)


def row(rel: list[bool], n_rel: int) -> dict[str, float]:
    out = {f"hit@{c}": metrics.hit_at(rel, c) for c in CUTS if c != 10}
    out["mrr@10"] = metrics.reciprocal_rank(rel, 10)
    out["ndcg@10"] = metrics.ndcg_at(rel, 10, max(1, n_rel))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", help="cross-encoder path or name (default: the trained domain model)")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--lengths", default="128,192")
    args = ap.parse_args()
    cfg = config.load()
    path = args.model or str(trained_model_dir(cfg))
    retriever = Coach(cfg, Backends(reranker=NoopReranker())).retriever
    items = load_dataset(DEV_SET)
    retriever.search("warm up", 1, mode="hybrid", rerank=False)
    cands = [retriever.search(it.query, args.depth, mode="hybrid", rerank=False, context=it.context) for it in items]
    rels = [[relevant(it, h.chunk.section, h.chunk.text) for h in hs]
            for it, hs in zip(items, cands)]
    nrel = [n_relevant(retriever, it) for it in items]
    variants = [(int(n), q) for n in args.lengths.split(",") for q in (False, True)]
    print(f"{len(items)} queries, hybrid top {args.depth}, model {path}\n")
    print("| variant | blend | hit@1 | hit@3 | hit@5 | MRR@10 | nDCG@10 | rerank p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    base_done = False
    per_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for max_length, quant in variants:
        rr = CrossEncoderReranker(path, "sweep", max_length=max_length, quantize=quant)
        rr.scores("warm up", [c.chunk.contextual_text for c in cands[0]])
        scores, lat = [], []
        for it, hs in zip(items, cands):
            t0 = time.perf_counter()
            scores.append(rr.scores(Q.resolve(it.query, it.context), [h.chunk.contextual_text for h in hs]))
            lat.append((time.perf_counter() - t0) * 1000)
        name = f"len {max_length}{' int8' if quant else ''}"
        for blend in BLENDS:
            if blend == 0.0 and base_done:
                continue
            rows = []
            for i, (it, hs) in enumerate(zip(items, cands)):
                final = blend_scores(scores[i], [h.score for h in hs], blend)
                order = sorted(range(len(hs)), key=lambda j: (-final[j], j))
                r = row([rels[i][j] for j in order], nrel[i])
                rows.append(r)
                per_kind[f"{name} b{blend}"][it.kind].append(r["mrr@10"])
            m = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
            label = "hybrid (no rerank)" if blend == 0.0 else name
            timing = "" if blend == 0.0 else f"{metrics.percentile(lat, 50):.0f} | {metrics.percentile(lat, 95):.0f}"
            print(f"| {label} | {blend} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['hit@5']:.3f} | {m['mrr@10']:.3f} "
                  f"| {m['ndcg@10']:.3f} | {timing or '- | -'} |", flush=True)
            base_done = True
    kinds = sorted({k for v in per_kind.values() for k in v})
    print("\nMRR@10 per query kind:\n\n| variant | " + " | ".join(kinds) + " |\n|---" * 1 + "|---" * len(kinds) + "|")
    for name, v in per_kind.items():
        print(f"| {name} | " + " | ".join(f"{statistics.fmean(v[k]):.2f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()
