"""Design sweep behind the retrieval defaults (BENCHMARKS.md, "Design choices").

Evaluates, on evals/retrieval_dev.jsonl, with the packaged MiniLM and vectors held in memory
(same maths as the chroma path, much faster to sweep):
  size    chunk size (max_tokens, estimated) -> hit@1/5, MRR@10, and the share of chunks longer than MiniLM's
          256-token window (those are silently truncated)
  fusion  RRF (k=60, k=20) vs convex combinations (alpha = dense weight)
  bm25    BM25 k1/b: rank-bm25's defaults (1.5, 0.75) vs Anserini's (0.9, 0.4)
  context follow-up handling: context only for anaphoric queries vs whenever given

Usage: .venv/bin/python scripts/sweep_retrieval.py [size|fusion|bm25|context|all]
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.corpus.loader import load_corpus  # noqa: E402
from coach.evals import metrics
from coach.evals.retrieval import load_dataset, relevant  # noqa: E402
from coach.retrieval import fusion
from coach.retrieval import query as Q  # noqa: E402
from coach.retrieval.bm25 import BM25Index  # noqa: E402
from coach.retrieval.embedder import SentenceTransformerEmbedder  # noqa: E402

ITEMS = load_dataset(ROOT / "evals" / "retrieval_dev.jsonl")
EMB = SentenceTransformerEmbedder()
_cache: dict[str, np.ndarray] = {}


def embed(texts: list[str]) -> np.ndarray:
    todo = [t for t in dict.fromkeys(texts) if t not in _cache]
    for t, v in zip(todo, EMB.embed(todo) if todo else []):
        _cache[t] = np.asarray(v)
    return np.stack([_cache[t] for t in texts])


def anaphoric_only(q: str, c: str | None) -> str:
    q2 = Q.strip_framing(q)
    if c and Q.needs_context(q2):
        return f"{q2} {' '.join(c.split()[:Q.CONTEXT_WORDS])} {q2}"
    return q2


def evaluate(max_tokens=170, fuse: Callable | None = None, k1=0.9, b=0.4, resolve=Q.resolve) -> dict[str, float]:
    fuse = fuse or (lambda s, d: fusion.convex(d, s, 0.5))
    chunks = list(load_corpus(ROOT / "corpus", max_tokens).chunks)
    ids = [c.id for c in chunks]
    by_id = {c.id: c for c in chunks}
    mat = embed([c.contextual_text for c in chunks])
    bm = BM25Index(ids, [c.contextual_text for c in chunks], k1=k1, b=b)
    texts = [resolve(it.query, it.context) for it in ITEMS]
    qv = embed(texts)
    rows = []
    for it, text, v in zip(ITEMS, texts, qv):
        sims = mat @ v
        dense = {ids[i]: float(sims[i]) for i in np.argsort(-sims)[:50]}
        top = list(fuse(bm.search(text, 50), dense))[:10]
        rel = [relevant(it, by_id[i].section, by_id[i].text) for i in top]
        rows.append((metrics.hit_at(rel, 1), metrics.hit_at(rel, 5), metrics.reciprocal_rank(rel)))
    return {name: round(statistics.fmean(r[j] for r in rows), 3) for j, name in enumerate(("hit@1", "hit@5", "mrr@10"))}


def main(which: str) -> None:
    if which in ("size", "all"):
        print("## chunk size (convex 0.5)")
        for mw in (110, 140, 170, 200, 260):
            chunks = load_corpus(ROOT / "corpus", mw).chunks
            lengths = EMB.count_tokens([c.contextual_text for c in chunks])
            over = sum(n > EMB.max_tokens for n in lengths) / len(lengths)
            print(f"max_tokens={mw}: chunks={len(chunks)} median_tokens={statistics.median(lengths):.0f} "
                  f"truncated={over:.1%} {evaluate(max_tokens=mw)}", flush=True)
    if which in ("fusion", "all"):
        print("## fusion")
        for name, f in [("rrf k=60", lambda s, d: fusion.rrf([s, d], 60)), ("rrf k=20", lambda s, d: fusion.rrf([s, d], 20))] + [
                (f"convex alpha={a}", (lambda a: lambda s, d: fusion.convex(d, s, a))(a)) for a in (0.3, 0.5, 0.7)]:
            print(f"{name}: {evaluate(fuse=f)}", flush=True)
    if which in ("bm25", "all"):
        print("## bm25")
        for k1, b in ((1.5, 0.75), (1.2, 0.75), (0.9, 0.4)):
            print(f"k1={k1} b={b}: {evaluate(k1=k1, b=b)}", flush=True)
    if which in ("context", "all"):
        print("## follow-up context")
        print(f"anaphoric only: {evaluate(resolve=anaphoric_only)}")
        print(f"whenever given: {evaluate(resolve=Q.resolve)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
