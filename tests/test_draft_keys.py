"""A question no reviewed key covers is graded against a key the LLM drafts once (fake backends):
the draft is cached by question, marked on the card, its misconceptions never cap a score, and a
model that cannot draft leaves the passage rubric in place with a note."""

import json

import pytest

from coach.grading import card
from coach.grading.draft import KeyDrafter, draft_id, is_draft
from coach.grading.grader import Grader
from coach.grading.keys import KeyMatcher
from coach.grading.rubric import Rubrics
from coach.grading.scoring import KEYED

from coach_helpers import make_retriever
from fakes import ScriptedChatModel

Q = "Why would a server run out of ephemeral ports, and how do you fix it?"
DRAFT = {
    "model_answer": "Each outbound connection takes an ephemeral port; many short connections leave sockets in "
                    "TIME_WAIT, so the range runs out. Reuse connections, widen the range, or enable tcp_tw_reuse.",
    "facts": ["Every outbound connection to the same destination needs its own ephemeral port.",
              "Closed connections hold their port in TIME_WAIT for a while.",
              "Connection pooling or keep-alive reuses connections instead of opening new ones.",
              "net.ipv4.tcp_tw_reuse lets new outbound connections reuse TIME_WAIT sockets."],
    "misconceptions": ["Ports in TIME_WAIT are leaked and only a reboot frees them."],
}
GOOD = ("Every outbound connection to one destination takes its own ephemeral port, and closed connections keep the "
        "port in TIME_WAIT for a while, so many short-lived connections exhaust the range. Fix it with connection "
        "pooling or keep-alive, and tcp_tw_reuse lets new outbound connections reuse TIME_WAIT sockets.")
VAGUE = "Servers can have problems with ports, you should restart them."


class YesIfSaid:
    """P(yes) high when the fact's first words appear in the answer."""

    def p_yes(self, messages):
        text = messages[-1].content
        answer = text.split("<answer>")[1].split("</answer>")[0].lower()
        point = text.rsplit("\n", 1)[-1].lower()
        words = [w for w in point.split() if len(w) > 5][:3]
        return 0.95 if words and sum(w in answer for w in words) >= 2 else 0.05

    def judging(self, head, answer=""):
        from contextlib import nullcontext
        return nullcontext()

    def prefill(self, head, answer=""):
        pass


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


def gather(retriever):
    def get(q):
        return ([h.chunk for h in retriever.search(q, 3, rerank=False)],
                [h.chunk for h in retriever.search(q, 2, rerank=False, kind="key")])
    return get


def build(retriever, model, path, judge=None):
    keys = KeyMatcher(retriever.corpus.keys, retriever.embedder.embed, lambda q: None, 0.99)
    drafter = KeyDrafter(model, gather(retriever), path)
    return Grader(Rubrics(retriever), judge, model, keys=keys, drafter=drafter, keyed_params=KEYED), drafter


def test_an_unlisted_question_is_graded_against_a_drafted_key_written_once(retriever, tmp_path):
    model = ScriptedChatModel([DRAFT])
    g, drafter = build(retriever, model, tmp_path / "drafts.json", YesIfSaid())
    grade = g.grade(Q, GOOD)
    assert is_draft(grade.key) and grade.key == draft_id(Q)
    assert {p.text for p in grade.points} == set(DRAFT["facts"])  # the rubric is the drafted facts
    prompt = model.calls[0].messages[-1].content
    assert "ephemeral (49152" in prompt and "[1.1]" in prompt  # drafted from the retrieved passages, labelled
    assert "reviewed" in card.text(grade) and "drafted" in card.markdown(grade)
    assert grade.score > g.grade(Q, VAGUE).score
    # cached on disk: a new process (a new drafter, a model with nothing scripted) grades without drafting
    again, _ = build(retriever, ScriptedChatModel([]), tmp_path / "drafts.json", YesIfSaid())
    assert again.grade(Q, GOOD).key == grade.key
    assert json.loads((tmp_path / "drafts.json").read_text())[grade.key]["question"] == Q


def test_a_drafted_misconception_never_caps_a_score(retriever, tmp_path):
    said = DRAFT["misconceptions"][0] + " " + GOOD
    g, _ = build(retriever, ScriptedChatModel([DRAFT]), None, YesIfSaid())
    grade = g.grade(Q, said)
    assert not grade.claimed and "misconception" not in grade.reason


def test_a_reviewed_key_is_used_before_any_draft(retriever, tmp_path):
    model = ScriptedChatModel([])  # drafting would fail: nothing scripted
    g, _ = build(retriever, model, None)
    assert g.grade("Explain the TCP 3-way handshake.", "SYN, SYN-ACK, ACK.").key == "1.3#1"
    assert model.calls == []


@pytest.mark.parametrize("reply", ["not json", {"model_answer": "short", "facts": ["a b c", "d e f", "g h i"],
                                                "misconceptions": []}])
def test_a_model_that_cannot_draft_leaves_the_passages_and_says_so(retriever, reply):
    g, _ = build(retriever, ScriptedChatModel([reply]), None)
    grade = g.grade(Q, GOOD)
    assert grade.key == "" and grade.points  # graded on the roadmap's key points
    assert "no answer key could be drafted" in grade.note


def test_a_damaged_cache_is_rewritten(retriever, tmp_path):
    path = tmp_path / "drafts.json"
    path.write_text("{not json")
    drafter = KeyDrafter(ScriptedChatModel([DRAFT]), gather(retriever), path)
    assert drafter.draft(Q).facts[0].core and not drafter.draft(Q).facts[3].core
    assert draft_id(Q) in json.loads(path.read_text())
