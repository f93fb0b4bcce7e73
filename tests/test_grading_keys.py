"""Grading against answer keys, on fake backends: which key grades a question, the key's facts as the
rubric, misconceptions and bare lists of terms capped, hints and feedback that stay true to the card."""

import threading

import pytest

from coach.grading import scoring
from coach.grading.feedback import stream as feedback_stream
from coach.grading.grader import Grader
from coach.grading.keys import KeyMatcher, normalise
from coach.grading.rubric import Rubrics
from coach.llm.judge import VerdictJudge
from coach.session.bank import BankView, QuestionBank
from coach.session.events import Cited, Said
from coach.session.interview import InterviewLoop

from coach_helpers import make_retriever
from fakes import ScriptedChatModel

Q = "Explain the TCP 3-way handshake."
RIGHT = ("The client sends SYN with its initial sequence number, the server answers SYN-ACK and acknowledges it, "
         "and the client replies with ACK, so each side has chosen an initial sequence number the other acknowledged.")
BACKWARDS = ("The server sends the first SYN and the client answers with SYN-ACK, then the server replies with ACK "
             "and both sides are established.")


class ClaimJudge:
    """Says yes to every key fact; to "does the answer claim X?" yes only when X's words are in the answer."""

    def __init__(self):
        self.asked = []

    def p_yes(self, messages):
        text = messages[-1].content
        self.asked.append(text.rsplit("\n", 1)[-1])
        if "Claim: " not in text:
            return 0.95
        answer = text.split("<answer>")[1].split("</answer>")[0]
        claim = text.split("Claim: ")[1]
        first_words = " ".join(claim.split()[:5])
        return 0.95 if first_words.lower() in answer.lower() else 0.5

    def judging(self, head, answer=""):
        from contextlib import nullcontext
        return nullcontext()

    def prefill(self, head, answer=""):
        pass


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


def matcher(retriever, threshold=0.9):
    def topic(q):
        hits = retriever.search(q, 1)
        return hits[0].chunk.section.split(".")[0] if hits else None
    return KeyMatcher(retriever.corpus.keys, retriever.embedder.embed, topic, threshold)


def grader(retriever, judge=None, model=None):
    return Grader(Rubrics(retriever), judge, model, keys=matcher(retriever))


def test_which_key_grades_a_question(retriever):
    m = matcher(retriever)
    assert m.match("anything at all", "1.3#2").question_id == "1.3#2"  # a bank question: its id
    assert m.match("  explain the TCP 3-way HANDSHAKE ").question_id == "1.3#1"  # the same text, any case
    assert normalise("Explain the TCP 3-way handshake.") == normalise(" explain the tcp 3 way handshake ")
    assert m.match("How do I bake bread?") is None
    loose = matcher(retriever, threshold=0.0)  # everything is "near": only the topic check is left
    assert loose.match("Explain the TCP 3-way handshake and the SYN queue").question_id == "1.3#1"
    assert loose.match("How does the OOM killer pick a victim?") is None  # section 2's question: no key of 1


def test_a_keyed_question_is_graded_on_the_keys_facts(retriever):
    g = grader(retriever, ClaimJudge())
    grade = g.grade(Q, RIGHT)
    assert grade.key == "1.3#1" and grade.citations == ("1.1",)
    assert [p.text for p in grade.points][0].startswith("The client sends SYN, the server answers SYN-ACK")
    assert [ps.core for ps in grade.signals.points] == [True, True, False]
    assert grade.sources[0].heading_path.endswith("Answer key 1.3#1")  # the model answer is shown first
    assert grade.claimed == () and grade.score >= 7


def test_a_claimed_misconception_caps_the_score_and_is_named(retriever):
    judge = ClaimJudge()
    g = grader(retriever, judge, ScriptedChatModel(["You mixed up who starts. "] * 3))
    grade = g.grade(Q, BACKWARDS)
    assert grade.claimed == ("The server sends the first SYN and the client answers with SYN-ACK.",)
    assert grade.score <= 3 and grade.verdict == "wrong" and "misconception" in grade.reason
    said = "".join(g.feedback(Q, grade))
    assert said.startswith("Careful: part of the answer reads like a common misconception, that the server sends "
                           "the first SYN")
    right = g.grade(Q, RIGHT)
    assert right.claimed == () and right.score > grade.score
    # the misconception and the fact closest to it are asked the same way, after the facts
    claims = [a for a in judge.asked if a.startswith("Claim: ")]
    assert claims[-2:] == ["Claim: The server sends the first SYN and the client answers with SYN-ACK.",
                           "Claim: The client sends SYN, the server answers SYN-ACK, and the client replies with ACK."]


def test_a_bare_list_of_the_right_terms_is_capped(retriever):
    grade = grader(retriever, ClaimJudge()).grade(Q, "SYN, SYN-ACK, ACK, ISN, ESTABLISHED, SYN queue, accept queue, "
                                                     "sequence numbers, handshake")
    assert grade.score <= 3 and "list of terms" in grade.reason
    assert grade.signals.prose < scoring.KEYED.min_prose


def test_a_hint_names_topics_and_never_hands_over_the_key(retriever):
    model = ScriptedChatModel([lambda m, s: {"verdict": "yes"} if s else "ok"] * 50)
    bank = QuestionBank(retriever.corpus, None, search=lambda t: [h.chunk for h in retriever.search(t, 30)])
    loop = InterviewLoop(BankView(bank, threading.Lock()), grader(retriever, VerdictJudge(model), model), None,
                         section="1.1", seed=1)
    asked = list(loop.start())[0].question
    assert asked.id == "1.3#1"
    (hint,) = list(loop.send("hint"))
    key = retriever.corpus.key("1.3#1")
    assert hint.kind == "hint" and hint.text.startswith("Hint: think about")
    assert not any(f.text.rstrip(".") in hint.text for f in key.facts)
    assert key.model_answer[:40] not in hint.text


def test_explain_quotes_the_model_answer_with_its_citation(retriever):
    model = ScriptedChatModel([lambda m, s: {"verdict": "no"} if s else "ok"] * 50)
    bank = QuestionBank(retriever.corpus, None, search=lambda t: [h.chunk for h in retriever.search(t, 30)])
    loop = InterviewLoop(BankView(bank, threading.Lock()), grader(retriever, VerdictJudge(model), model), None,
                         section="1.1", seed=1)
    list(loop.start())
    events = list(loop.send("explain"))
    said = "".join(e.text for e in events if isinstance(e, Said))
    assert said.startswith("From the answer key [1.1]:") and "> The client sends SYN" in said
    assert isinstance(events[-1], Cited) and events[-1].citations[0].heading_path.endswith("Answer key 1.3#1")
    assert model.calls == []  # reviewed content: no model call


def test_a_follow_up_on_a_keyed_question_is_graded_on_the_facts_it_asks_about(retriever):
    g = grader(retriever, ClaimJudge())
    plan = g.plan("Follow-up: what can you tell me about SYN queue, and why does it matter here?", (), "1.3#1/f1")
    assert plan.key.question_id == "1.3#1" and len(plan.rubric.points) == 2
    assert any("SYN queue" in p.text for p, _ in plan.rubric.points)


def test_feedback_never_calls_a_covered_point_missing(retriever):
    g = grader(retriever, ClaimJudge())
    grade = g.grade(Q, RIGHT)
    covered = grade.covered[0]
    model = ScriptedChatModel([f"Good structure. You missed that {covered.rstrip('.')}. Keep going."])
    said = "".join(feedback_stream(model, Q, grade))
    assert "Good structure." in said and "Keep going." in said and "You missed" not in said
