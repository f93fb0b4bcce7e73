"""The real coach's glue with fake backends: a real `Grader` (no LLM) over the test corpus, its
grade turned into what the store keeps; sections for the picker."""

import pytest

from coach import index
from coach.backend import grade_record, load_sections
from coach.retrieve import Retriever


@pytest.fixture
def retriever(cfg, embedder, store):
    index.build_index(cfg, embedder, store)
    return Retriever(index.load_saved(cfg), embedder, store, cfg.retrieval)


def test_grade_record_cites_the_key_points_passages(retriever):
    from coach.grading import Grader

    g = Grader(retriever, None).grade("Why does TIME_WAIT exist in the TCP teardown?",
                                      "TIME_WAIT makes sure delayed packets do not corrupt a new connection; the "
                                      "initiator sends FIN and enters FIN_WAIT_1, the receiver ACKs into CLOSE_WAIT.")
    rec = grade_record(g, retriever.chunks, feedback="Name 2*MSL.")
    assert rec.score == g.score and rec.verdict == g.verdict and rec.covered == tuple(g.covered)
    assert rec.feedback == "Name 2*MSL." and 1 <= len(rec.citations) <= 3
    first = rec.citations[0]
    assert first.section == "1.1" and "TCP Deep Dive" in first.heading_path and "TIME_WAIT" in first.text
    assert first.chunk_id in retriever.chunks


def test_sections_without_and_with_an_index(cfg, embedder, store):
    before = load_sections(cfg)
    index.build_index(cfg, embedder, store)
    after = load_sections(cfg)
    assert [s.id for s in before] == [s.id for s in after] and "1.1" in [s.id for s in after]
