"""The MaxSim reranker over the token-hashing fake: scoring, order, blend, cache, wiring."""

import numpy as np

from coach import config as config_mod
from coach.retrieval.maxsim import MaxSimReranker, maxsim
from coach.retrieval.rerank import NoopReranker
from coach.root import Backends, Coach
from coach.types import Chunk, Hit

from fakes import HashingEmbedder


def hit(cid, text, score):
    return Hit(Chunk(cid, "3.1", "TCP", ("Section 3 — Net", "3.1 TCP"), text, "roadmap.md"), score)


HITS = [hit("a", "DNS resolvers cache answers for the record TTL", 0.9),
        hit("b", "TIME_WAIT keeps the closed socket so delayed packets expire", 0.5),
        hit("c", "page cache keeps file pages in memory", 0.4)]


def test_maxsim_is_the_mean_best_match_of_the_query_tokens():
    q = np.eye(3)[:2]
    assert maxsim(q, np.eye(3)) == 1.0
    assert maxsim(q, np.eye(3)[2:]) == 0.0
    assert maxsim(q, np.zeros((0, 3))) == 0.0


def test_rerank_puts_the_passage_sharing_the_query_tokens_first_and_records_its_score():
    rr = MaxSimReranker(HashingEmbedder())
    out = rr.rerank("why do delayed packets need TIME_WAIT", HITS, 2)
    assert out[0].chunk.id == "b"  # first although its fused score was lower
    assert len(out) == 2 and out[0].scores["rerank"] == max(h.scores["rerank"] for h in out)
    assert rr.rerank("q", [], 3) == []


def test_blend_zero_keeps_the_fused_order():
    out = MaxSimReranker(HashingEmbedder(), blend=0.0).rerank("why do delayed packets need TIME_WAIT", HITS, 3)
    assert [h.chunk.id for h in out] == ["a", "b", "c"]


def test_passage_token_vectors_are_computed_once_per_text():
    emb = HashingEmbedder()
    rr = MaxSimReranker(emb)
    first = rr.scores("TIME_WAIT", [h.chunk.contextual_text for h in HITS])
    again = rr.scores("TIME_WAIT", [h.chunk.contextual_text for h in HITS])
    assert first == again
    encoded = [t for call in emb.token_calls for t in call]
    assert sorted(encoded) == sorted(["TIME_WAIT", "TIME_WAIT", *(h.chunk.contextual_text for h in HITS)])


def test_maxsim_is_the_default_and_shares_the_retrievers_embedder():
    cfg = config_mod.Config()
    emb = HashingEmbedder()
    rr = Coach(cfg, Backends(embedder=emb)).reranker
    assert isinstance(rr, MaxSimReranker) and rr.embedder is emb and rr.blend == cfg.reranker.blend
    none = config_mod.Config(reranker=config_mod.RerankerConfig(model="none"))
    assert isinstance(Coach(none, Backends(embedder=emb)).reranker, NoopReranker)
