"""Our BM25 stage checked against the Okapi formula computed independently here."""

import math

import pytest

from coach.corpus.text import tokenize
from coach.retrieval.bm25 import BM25Index

DOCS = {
    "d1": "TIME_WAIT holds the socket after close",
    "d2": "CLOSE_WAIT means the application did not close the socket",
    "d3": "DNS resolution goes from stub resolver to authoritative",
    "d4": "BGP selects routes by path attributes",
    "d5": "the OOM killer picks a victim by oom_score",
}


def okapi(query: str, k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    docs = {i: tokenize(t) for i, t in DOCS.items()}
    n = len(docs)
    avgdl = sum(len(d) for d in docs.values()) / n
    out = {}
    for i, d in docs.items():
        s = 0.0
        for q in tokenize(query):
            df = sum(q in doc for doc in docs.values())
            idf = math.log((n - df + 0.5) / (df + 0.5))
            tf = d.count(q)
            s += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avgdl))
        out[i] = s
    return out


def test_scores_equal_the_okapi_formula():
    idx = BM25Index(list(DOCS), list(DOCS.values()))
    for q in ["dns resolver", "oom_score victim", "bgp routes"]:  # terms in < half the docs: idf > 0
        got = dict(zip(idx.ids, idx.scores(tokenize(q))))
        want = okapi(q)
        for i in DOCS:
            assert got[i] == pytest.approx(want[i], rel=1e-9)


def test_search_returns_only_matching_docs_best_first():
    idx = BM25Index(list(DOCS), list(DOCS.values()))
    res = idx.search("why is my socket stuck in CLOSE_WAIT", 3)
    assert list(res)[0] == "d2"
    assert "d4" not in res
    assert idx.search("the of and", 3) == {}
