"""`coach ask`: grounded answers with real citations, and the decline path."""

import pytest

from coach.ask.explainer import DECLINE_TEXT, Explainer, Thresholds, decide

from coach_helpers import make_retriever
from fakes import ScriptedChatModel

FAKE = Thresholds(dense_out=0.05, known_out=0.5, dense_sure=0.99, supported=0.1, cites=0.1)  # the hashing embedder's scale


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


@pytest.mark.parametrize("q", ["What is the capital of France?", "Write a poem about autumn leaves",
                               "What dose of ibuprofen for a headache?", "How do I center a div with CSS flexbox?",
                               "", "   ", "🙂🙂🙂", "\x00\x00"])
def test_out_of_scope_is_declined_without_the_model(retriever, q):
    model = ScriptedChatModel([])
    a = Explainer(retriever, model, thresholds=FAKE).answer(q)
    assert a.declined and a.citations == () and a.answer == DECLINE_TEXT and model.calls == []


def test_grounded_answer_streams_and_keeps_only_retrieved_citations(retriever):
    model = ScriptedChatModel(["TIME_WAIT keeps delayed packets from corrupting new connections [1.1]; "
                               "see also [7.7] and [2.1]."])
    ex = Explainer(retriever, model, thresholds=FAKE)
    stream = ex.stream("Why does TIME_WAIT exist?")
    text = "".join(stream)
    a = stream.result
    assert not a.declined and a.citations[0] == "1.1" and "7.7" not in a.citations
    assert "[7.7]" not in text and "[1.1]" in text and "[7.7]" not in a.answer
    assert a.answer.startswith("TIME_WAIT keeps delayed packets from corrupting new connections [1.1]")
    retrieved = {h.chunk.section for h in retriever.search("Why does TIME_WAIT exist?", 4)}
    assert set(a.citations) <= retrieved
    system, user = model.calls[0].messages
    assert "[1.1]" in user.content and "Why does TIME_WAIT exist?" in user.content


def test_model_saying_not_covered_is_a_decline(retriever):
    model = ScriptedChatModel(["NOT IN ROADMAP"])
    stream = Explainer(retriever, model, thresholds=FAKE).stream("How does TIME_WAIT tuning work?")
    text = "".join(stream)
    assert stream.result.declined and stream.result.citations == () and text == DECLINE_TEXT


def test_uncited_answer_gets_the_top_passage_as_its_source(retriever):
    model = ScriptedChatModel(["The OOM killer picks a victim by oom_score."])
    a = Explainer(retriever, model, thresholds=FAKE).answer("How does the OOM killer pick a victim?")
    assert a.citations == ("2.1",) and a.answer.endswith("[2.1]")


def test_follow_up_uses_the_previous_turn(retriever):
    model = ScriptedChatModel(["Use tcp_tw_reuse [1.1]."])
    a = Explainer(retriever, model, thresholds=FAKE).answer("and how do I tune that?", "Why does TIME_WAIT exist?")
    assert not a.declined and a.citations == ("1.1",)
    assert "Why does TIME_WAIT exist?" in model.calls[0].messages[1].content


def test_decide_thresholds():
    t = Thresholds()
    assert decide(0.9, 0.0, t) == "in" and decide(0.2, 1.0, t) == "out" and decide(0.35, 0.2, t) == "out"


def test_question_lists_are_not_passages(retriever):
    """The roadmap's "Interview Questions" subsection echoes the question; it holds no answer."""
    q = "Explain the TCP 3-way handshake."
    assert any(h.chunk.section == "1.3" for h in retriever.search(q, 4))  # retrieval does find it
    model = ScriptedChatModel(["The client sends SYN [1.3], the server SYN-ACK [1.1]."])
    a = Explainer(retriever, model, thresholds=FAKE).answer(q)
    user = model.calls[0].messages[1].content
    assert "[1.3]" not in user and "1.3" not in a.citations and "[1.3]" not in a.answer


def keyed(retriever):
    from coach.grading.keys import KeyMatcher

    def topic(q):
        hits = retriever.search(q, 1)
        return hits[0].chunk.section.split(".")[0] if hits else None
    return KeyMatcher(retriever.corpus.keys, retriever.embedder.embed, topic)


def test_a_roadmap_question_is_answered_with_its_reviewed_key_and_no_model_call(retriever):
    model = ScriptedChatModel([])
    stream = Explainer(retriever, model, thresholds=FAKE, keys=keyed(retriever)).stream(
        "explain the TCP 3-way handshake")
    text = "".join(stream)
    a = stream.result
    key = retriever.corpus.key("1.3#1")
    assert a.key == "1.3#1" and text == f"{key.model_answer} [1.1]" and a.citations == ("1.1",)
    assert a.sources[0].heading_path.endswith("Answer key 1.3#1") and model.calls == []


def test_other_questions_are_written_from_key_facts_and_passages(retriever):
    model = ScriptedChatModel(["Each side picks a sequence number [1.1]."])
    a = Explainer(retriever, model, thresholds=FAKE, keys=keyed(retriever)).answer(
        "Why do both sides pick an initial sequence number in the handshake?")
    user = model.calls[0].messages[1].content
    assert "Each side chooses an initial sequence number that the other side acknowledges." in user  # a key fact
    assert not a.declined and a.key == "" and a.citations == ("1.1",)


def test_a_sentence_no_note_supports_is_dropped_before_it_is_shown(retriever):
    invented = "Bananas ripen faster next to apples because of ethylene gas [1.1]. "
    model = ScriptedChatModel(["TIME_WAIT keeps delayed packets from corrupting new connections [1.1]. " + invented])
    strict = Thresholds(dense_out=0.05, known_out=0.5, dense_sure=0.99, supported=0.3, cites=0.1)
    stream = Explainer(retriever, model, thresholds=strict).stream("Why does TIME_WAIT exist?")
    text = "".join(stream)
    assert "Bananas" not in text and "TIME_WAIT keeps delayed packets" in text
    assert stream.result.dropped == (invented.strip(),)


def test_a_citation_of_a_section_that_does_not_say_it_is_replaced(retriever):
    model = ScriptedChatModel(["TIME_WAIT keeps delayed packets from corrupting new connections [2.1]."])
    strict = Thresholds(dense_out=0.05, known_out=0.5, dense_sure=0.99, supported=0.1, cites=0.3)
    a = Explainer(retriever, model, thresholds=strict).answer("Why does TIME_WAIT exist?")
    assert a.citations == ("1.1",) and "[2.1]" not in a.answer and a.answer.endswith("[1.1].") or "[1.1]" in a.answer
