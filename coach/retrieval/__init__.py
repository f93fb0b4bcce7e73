"""Retrieval: BM25 and dense search over the index, fused, then reranked (MaxSim by default)."""
