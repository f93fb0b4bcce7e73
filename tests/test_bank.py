"""The question bank: the roadmap's questions mapped to sections, generation, dedup, the cache."""

import random

import pytest

from coach.errors import UnknownSectionError
from coach.session.bank import QuestionBank, bank_path, valid_question

from coach_helpers import make_retriever
from fakes import ScriptedChatModel


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


def make_bank(cfg, retriever, path=True):
    return QuestionBank.over(retriever.corpus, bank_path(cfg.data_dir) if path else None, lambda: retriever)


def test_a_cached_bank_never_asks_for_the_retriever(cfg, retriever):
    calls = []

    def lazy():
        calls.append(1)
        return retriever

    first = QuestionBank.over(retriever.corpus, bank_path(cfg.data_dir), lazy)
    assert calls  # building the cache maps the roadmap's questions with the retriever
    calls.clear()
    again = QuestionBank.over(retriever.corpus, bank_path(cfg.data_dir), lazy)
    assert calls == [] and [q.id for q in again.questions] == [q.id for q in first.questions]


def test_roadmap_questions_keep_their_id_and_home_and_get_a_topical_section(cfg, retriever):
    bank = make_bank(cfg, retriever)
    by_id = {q.id: q for q in bank.questions}
    dns = by_id["1.3#2"]
    assert dns.origin == "roadmap" and dns.home == "1.3" and dns.section in ("1.1", "1.2") and dns.level in (0, 1, 2)
    tcp = by_id["1.3#1"]
    assert tcp.section == "1.1" and tcp.chunk_ids and retriever.chunks[tcp.chunk_ids[0]].section == "1.1"
    # without a search function the questions stay in the subsection that lists them
    plain = QuestionBank(retriever.corpus, None)
    assert {q.section for q in plain.questions} == {"1.3"} and {q.level for q in plain.questions} == {1}


def test_section_filters(cfg, retriever):
    bank = make_bank(cfg, retriever)
    assert {q.id for q in bank.candidates("1")} == {"1.3#1", "1.3#2"}
    assert "1.3#1" in {q.id for q in bank.candidates("1.1")}
    assert {q.id for q in bank.candidates("1.3")} == {"1.3#1", "1.3#2"}  # the subsection that lists them
    assert bank.candidates("2") == []
    assert bank.pick("1", exclude=["1.3#1", "1.3#2"]) is None
    assert bank.pick("1", exclude=["1.3#1"], rng=random.Random(0)).id == "1.3#2"


def test_generation_dedups_validates_and_records_source_chunks(cfg, retriever):
    bank = make_bank(cfg, retriever)
    model = ScriptedChatModel([
        {"questions": ["How does the OOM killer choose a victim?", "See the passage.",
                       "Explain the TCP 3-way handshake."]},  # invalid one and a duplicate of the roadmap's
        {"questions": ["how does the OOM killer choose a victim", "What is the page cache?"]},
    ])
    first = bank.generate(model, "2", 0, rng=random.Random(1))
    assert [q.text for q in first] == ["How does the OOM killer choose a victim?"]
    assert bank.generate(model, "2", 0) == []  # the only passage of section 2 is used at level 0
    second = bank.generate(model, "2", 1)
    assert [q.text for q in second] == ["What is the page cache?"]  # the other one is a duplicate
    added = first + second
    texts = [q.text for q in added]
    assert all(q.origin == "generated" and q.section == "2.1" and q.chunk_ids for q in added)
    assert [q.level for q in added] == [0, 1]
    assert all(cid in retriever.chunks for q in added for cid in q.chunk_ids)
    assert "0 basics" not in model.calls[0].messages[1].content and "basics" in model.calls[0].messages[1].content
    # cached: a new bank object reads them back without generating
    again = make_bank(cfg, retriever)
    assert {q.text for q in again.candidates("2")} == set(texts) and again.candidates("2", 0) == first


def test_unusable_model_reply_costs_nothing(cfg, retriever):
    bank = make_bank(cfg, retriever)
    assert bank.generate(ScriptedChatModel(["not json"] * 3), "2", 1) == []


def test_damaged_or_stale_cache_is_rebuilt(cfg, retriever):
    path = bank_path(cfg.data_dir)
    make_bank(cfg, retriever)
    path.write_text("{broken")
    assert len(make_bank(cfg, retriever).questions) == 2
    path.write_text('{"corpus": "other", "mapped": true, "questions": []}')
    assert len(make_bank(cfg, retriever).questions) == 2


def test_bank_resolves_sections_with_the_error_listing_valid_ones(cfg, retriever):
    bank = make_bank(cfg, retriever, path=False)
    assert bank.resolve_section("memory").id == "2.1" and bank.resolve_section("1.2").id == "1.2"
    with pytest.raises(UnknownSectionError, match="nearest: "):
        bank.resolve_section("kubernetes networking")


@pytest.mark.parametrize("text, ok", [("What is the TTL of a DNS record?", True), ("Explain CFS", False),
                                       ("Describe how the page cache is reclaimed", True), ("x" * 300 + "?", False)])
def test_valid_question(text, ok):
    assert valid_question(text) is ok
