import pytest

from coach.config import from_dict
from coach.errors import EmbedderMismatchError, IndexNotBuiltError, UsageError
from coach.retrieval import index
from coach.retrieval.retriever import Retriever

from fakes import HashingEmbedder, MemoryStore, OverlapReranker


def build(cfg, embedder, store, **kw):
    return index.build_index(cfg, embedder, store, **kw)


def test_build_then_noop_then_incremental(cfg, embedder, store, corpus_dir):
    rep = build(cfg, embedder, store)
    assert not rep.unchanged and rep.added == rep.chunks > 0 and rep.removed == 0
    assert index.is_up_to_date(cfg)

    embedder.calls.clear()
    rep2 = build(cfg, embedder, store)
    assert rep2.unchanged and embedder.calls == []

    # change one file: only the chunks that changed are embedded, the vanished ones removed
    notes = corpus_dir / "notes.md"
    notes.write_text(notes.read_text().replace("retention.ms", "retention.bytes"))
    before = set(store.ids())
    rep3 = build(cfg, embedder, store)
    embedded = [t for call in embedder.calls for t in call]
    assert rep3.added == 1 and rep3.removed == 1
    assert len(embedded) == 1 and "retention.bytes" in embedded[0]
    assert len(store.ids() ^ before) == 2


def test_contextual_text_is_what_gets_embedded(cfg, embedder, store):
    build(cfg, embedder, store)
    embedded = [t for call in embedder.calls for t in call]
    teardown = next(t for t in embedded if "4-way teardown" in t)
    assert teardown.splitlines()[0] == "Section 1 — Networking > 1.1 TCP Deep Dive > Level 1 — Intermediate"


def test_embedder_mismatch_refuses_to_mix(cfg, embedder, store):
    build(cfg, embedder, store)
    other = from_dict({"paths": {"corpus_dir": str(cfg.corpus_dir), "data_dir": str(cfg.data_dir)},
                       "embedder": {"model": "BAAI/bge-small-en-v1.5"}}, root=cfg.root)
    with pytest.raises(EmbedderMismatchError, match="coach index --rebuild"):
        build(other, HashingEmbedder(name="BAAI/bge-small-en-v1.5"), store)
    with pytest.raises(EmbedderMismatchError):
        index.load_saved(other)
    rep = build(other, HashingEmbedder(name="BAAI/bge-small-en-v1.5"), store, rebuild=True)
    assert rep.added == rep.chunks


def test_store_from_another_embedder_is_refused(cfg, embedder):
    with pytest.raises(EmbedderMismatchError):
        build(cfg, embedder, MemoryStore(embedder_name="something-else"))


def test_missing_index_is_a_clear_error(cfg):
    with pytest.raises(IndexNotBuiltError, match='run "coach index"'):
        index.load_saved(cfg)


@pytest.fixture
def retriever(cfg, embedder, store):
    build(cfg, embedder, store)
    return Retriever(index.load_saved(cfg), embedder, store, cfg.retrieval, OverlapReranker())


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_each_mode_finds_the_passage(retriever, mode):
    hits = retriever.search("oom_score_adj victim selection", 3, mode=mode, rerank=False)
    assert hits[0].chunk.section == "2.1"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("fusion_name", ["rrf", "convex"])
def test_hybrid_score_is_the_configured_fusion_of_both_lists(cfg, embedder, store, fusion_name):
    import dataclasses

    from coach.retrieval import fusion

    build(cfg, embedder, store)
    rcfg = dataclasses.replace(cfg.retrieval, fusion=fusion_name, alpha=0.3, expand=0.0)
    r = Retriever(index.load_saved(cfg), embedder, store, rcfg)
    q = "CLOSE_WAIT teardown"
    hits = r.search(q, 5, mode="hybrid", rerank=False)
    sparse = r.bm25().search(q, 50)
    everything = store.query(embedder.embed([q], query=True)[0], len(r.chunks))
    dense = dict([(i, s) for i, s in everything.items() if r.chunks[i].kind == "roadmap"][:50])
    want = fusion.rrf([sparse, dense], k=60) if fusion_name == "rrf" else fusion.convex(dense, sparse, 0.3)
    assert [h.chunk.id for h in hits] == list(want)[:5]
    assert hits[0].score == pytest.approx(next(iter(want.values())))


def test_answer_keys_are_indexed_apart_from_the_roadmap(retriever):
    """A search looks in the roadmap by default; the keys, under their question's subsection, when asked."""
    hits = retriever.search("TCP 3-way handshake SYN SYN-ACK ACK", 20)
    assert hits and all(h.chunk.kind == "roadmap" for h in hits)
    keys = retriever.search("TCP 3-way handshake SYN SYN-ACK ACK", 2, kind="key")
    assert keys[0].chunk.kind == "key" and keys[0].chunk.section == "1.1"
    assert keys[0].chunk.heading_path[-1] == "Answer key 1.3#1" and "Explain the TCP 3-way handshake." in keys[0].chunk.text
    assert len(retriever.corpus.keys) == 2 and retriever.corpus.key("1.3#2").section == "1.2"


def test_followup_context_resolves_pronouns(retriever):
    alone = retriever.search("how do I tune it?", 1, mode="bm25", rerank=False)
    assert not alone or alone[0].chunk.section != "1.1" or "tcp_tw_reuse" not in alone[0].chunk.text
    hits = retriever.search("how do I tune it?", 1, mode="bm25", rerank=False, context="TIME_WAIT sockets on TCP")
    assert hits[0].chunk.section == "1.1"


class ReverseReranker:
    """Records its calls and reverses the order it is given."""

    name = "reverse"

    def __init__(self):
        self.calls = []

    def rerank(self, query, hits, top_k):
        self.calls.append((query, [h.chunk.id for h in hits]))
        return list(reversed(hits))[:top_k]


def test_rerank_stage_gets_the_fused_top_and_no_rerank_skips_it(cfg, embedder, store):
    build(cfg, embedder, store)
    rr = ReverseReranker()
    r = Retriever(index.load_saved(cfg), embedder, store, cfg.retrieval, rr)
    plain = r.search("stub resolver authoritative", 4, rerank=False)
    assert rr.calls == []
    fused_top = [h.chunk.id for h in r.search("stub resolver authoritative", cfg.retrieval.rerank_depth, rerank=False)]
    reranked = r.search("stub resolver authoritative", 4, rerank=True)
    assert rr.calls == [("stub resolver authoritative", fused_top)]
    assert [h.chunk.id for h in reranked] == list(reversed(fused_top))[:4]
    assert [h.chunk.id for h in plain] == fused_top[:4]


def test_overlap_reranker_puts_the_matching_chunk_first(retriever):
    hits = retriever.search("stub resolver authoritative", 3, rerank=True)
    assert hits[0].chunk.section == "1.2"


def test_bad_queries(retriever):
    with pytest.raises(UsageError):
        retriever.search("   ", 3)
    with pytest.raises(UsageError):
        retriever.search("dns", 0)
    with pytest.raises(UsageError):
        retriever.search("dns", 3, mode="magic")


def test_quiz_framing_does_not_pollute_the_query(retriever):
    hits = retriever.search("quiz me on the page cache", 1, mode="bm25", rerank=False)
    assert hits[0].chunk.section == "2.1"


def test_document_expansion_lifts_the_passage_an_answer_key_belongs_to(cfg, embedder, store):
    """Words only the answer key uses ("initial sequence number") bring up the roadmap passage the
    key belongs to (1.1) when expansion is on, and not when it is off. (With two keys, BM25's idf is
    zero: the lift comes from the dense list here.)"""
    import dataclasses

    build(cfg, embedder, store)
    q = "initial sequence numbers acknowledged"

    def top(expand):
        rcfg = dataclasses.replace(cfg.retrieval, expand=expand)
        r = Retriever(index.load_saved(cfg), embedder, store, rcfg)
        return r.search(q, 3, mode="hybrid", rerank=False)

    off, on = top(0.0), top(0.8)
    assert all(h.chunk.kind == "roadmap" for h in on)
    assert "1.1" in [h.chunk.section for h in on]
    assert "1.1" not in [h.chunk.section for h in off]
