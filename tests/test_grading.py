"""The grader over fake backends: pre-checks, the prompt layout, injection, parse failures."""

import pytest

from coach.grading import scoring
from coach.grading.feedback import stream as feedback_stream
from coach.grading.grader import Grader
from coach.grading.rubric import Rubrics, roadmap_topic
from coach.llm.judge import VerdictJudge

from coach_helpers import OFF_TOPIC, STRONG_TCP, make_retriever
from fakes import ScriptedChatModel
from test_signals import INJECTIONS

Q = "Explain the TCP 4-way teardown and why TIME_WAIT exists."
PARTIAL = "The side that closes first sends FIN and the other side answers with ACK."


def always(verdict):
    return ScriptedChatModel([lambda m, s: {"verdict": verdict} if s else "Good."] * 200)


def grader(retriever, model=None, params=scoring.DEFAULT, *, judge=None):
    """A grader whose judge is `judge`, or `model`'s written verdict; no model: signals only."""
    return Grader(Rubrics(retriever), judge or (VerdictJudge(model) if model is not None else None), model, params)


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


def test_empty_answers_score_zero_without_the_llm(retriever):
    model = always("yes")
    g = grader(retriever, model)
    for a in ["", "   \n", "\x00\x00", None, "🙂🙂"]:
        grade = g.grade(Q, a)
        assert (grade.score, grade.verdict) == (0, "empty") and grade.covered == ()
        assert grade.citations and grade.missing
    assert model.calls == []


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_never_moves_the_score_even_with_a_yes_model(retriever, attack):
    model = always("yes")
    g = grader(retriever, model)
    for text in (attack, STRONG_TCP + "\n\n" + attack, attack + " " + STRONG_TCP):
        grade = g.grade(Q, text)
        assert grade.score <= 3, (text, grade.score)
    assert model.calls == []  # an injection is graded on the deterministic signals only


def test_prompt_layout_shared_head_first_point_last_answer_quoted(retriever):
    model = always("yes")
    grade = grader(retriever, model).grade(Q, STRONG_TCP)
    judged = [c for c in model.calls if c.schema is not None]
    calls = [c for c in judged if "never instructions" in c.messages[0].content]
    assert len(calls) == len(grade.points) and len(calls) >= 3
    assert grade.llm_calls == len(judged) == len(calls)
    systems = {c.messages[0].content for c in calls}
    users = [c.messages[1].content for c in calls]
    assert len(systems) == 1 and "never instructions" in systems.pop()
    head = users[0].split("Does the candidate's answer")[0]
    assert all(u.startswith(head) for u in users)  # identical prefix: llama.cpp reuses its cache
    assert all(u.rstrip().endswith(p.text) for u, p in zip(users, grade.points))  # the point comes last
    assert f"<answer>\n{STRONG_TCP}\n</answer>" in head
    assert Q in head


def test_the_llm_is_one_signal_among_several(retriever):
    yes = grader(retriever, always("yes")).grade(Q, STRONG_TCP)
    no = grader(retriever, always("no")).grade(Q, STRONG_TCP)
    none = grader(retriever, None).grade(Q, STRONG_TCP)
    assert yes.score > no.score and none.llm_calls == 0
    assert yes.points[0].llm == 1.0 and no.points[0].llm == 0.0 and none.points[0].llm is None
    assert no.verdict in ("wrong", "weak", "partial") and yes.covered


def test_parse_failures_are_counted_and_the_grade_still_comes(retriever):
    model = ScriptedChatModel(["not json"] * 50)
    grade = grader(retriever, model).grade(Q, STRONG_TCP)
    assert grade.parse_failures == grade.llm_calls > 0 and all(p.llm is None for p in grade.points)
    assert 0 <= grade.score <= 10


def test_off_topic_answer_is_caught(retriever):
    model = always("yes")
    grade = grader(retriever, model).grade(Q, OFF_TOPIC)
    assert grade.verdict == "off-topic" and grade.score <= 2


def test_strong_answer_beats_a_partial_one(retriever):
    g = grader(retriever, always("yes"))
    assert g.grade(Q, STRONG_TCP).score > g.grade(Q, PARTIAL).score


def test_reference_passages_follow_the_fused_order_even_when_search_reranks(retriever):
    class Reversing:
        name = "reversing"

        def rerank(self, query, hits, top_k):
            return list(reversed(hits))[:top_k]

    import copy

    reranking = copy.copy(retriever)  # the same index, with a reranking stage
    reranking.reranker = Reversing()
    fused = [h.chunk for h in retriever.search(Q, 100, rerank=False)]
    assert [h.chunk for h in reranking.search(Q, 100)] != fused  # the stage is on and reorders
    assert Rubrics(reranking).passages(Q) == Rubrics(retriever).passages(Q)


def test_passages_prefer_given_chunks_and_the_roadmap_questions_section(retriever):
    g = Rubrics(retriever)
    dns = next(c for c in retriever.chunks.values() if c.section == "1.2")
    assert g.passages(Q, [dns.id])[0] == dns
    assert roadmap_topic("Explain the TCP 3-way handshake", retriever.corpus.questions) == "1"
    assert roadmap_topic("Why is the sky blue", retriever.corpus.questions) is None
    assert all(not c.title.startswith("Interview Questions") for c in g.passages("Explain the TCP 3-way handshake."))


def test_feedback_streams_from_the_model_or_is_fixed(retriever):
    model = always("yes")
    g = grader(retriever, model)
    grade = g.grade(Q, STRONG_TCP)
    assert "".join(g.feedback(Q, grade)) == "Good."
    assert model.calls[-1].schema is None and "Key points the answer missed" in model.calls[-1].messages[1].content
    empty = g.grade(Q, "")
    assert "".join(g.feedback(Q, empty)).startswith("No answer was given")


def test_feedback_does_not_ask_for_praise_when_nothing_was_covered(retriever):
    g = grader(retriever, always("no"))
    weak = g.grade(Q, "TIME_WAIT is where the server waits for the client's first SYN before it listens.")
    assert weak.covered == () and weak.verdict not in ("empty", "off-topic")
    model = always("no")
    list(feedback_stream(model, Q, weak))
    prompt = model.calls[-1].messages[1].content
    assert "do not praise" in prompt and "say what was good" not in prompt
    strong = grader(retriever, always("yes")).grade(Q, STRONG_TCP)
    assert strong.covered
    list(feedback_stream(model, Q, strong))
    assert "say what was good" in model.calls[-1].messages[1].content


class RecordingJudge:
    """A judge with the prefill hooks: records the heads and every prompt, says yes with a fixed P."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.inside = False

    def prefill(self, head, answer=""):
        self.events.append(("prefill", tuple(head), answer))

    def judging(self, head, answer=""):
        judge = self

        class Scope:
            def __enter__(self):
                judge.events.append(("judging", tuple(head), answer))
                judge.inside = True

            def __exit__(self, *exc):
                judge.inside = False

        return Scope()

    def p_yes(self, messages):
        self.events.append(("p_yes", tuple(messages), self.inside))
        return 0.8


def test_prepare_reads_the_question_ahead_and_grading_takes_the_same_steps(retriever):
    judge = RecordingJudge()
    g = grader(retriever, always("yes"), judge=judge)
    g.prepare(Q)
    assert [e[0] for e in judge.events] == ["prefill"]
    head = judge.events[0][1]
    prepared = g.grade(Q, STRONG_TCP)
    kinds = [e[0] for e in judge.events[1:]]
    assert kinds[0] == "judging" and judge.events[1][1] == head and set(kinds[1:]) == {"p_yes"}
    for _, messages, inside in judge.events[2:]:
        assert inside and messages[0] == head[0]  # every prompt runs inside the scope, same system
        assert messages[1].content.startswith(head[1].content)  # and starts with the prefilled head
    assert head[1].content.endswith("<answer>\n") and Q in head[1].content
    cold = grader(retriever, always("yes"), judge=RecordingJudge()).grade(Q, STRONG_TCP)
    assert (cold.score, cold.points) == (prepared.score, prepared.points)


def test_the_typed_answer_is_read_ahead_as_the_judge_will_read_it(retriever):
    judge = RecordingJudge()
    g = grader(retriever, always("yes"), judge=judge)
    typed = STRONG_TCP[:40] + "\x00" + STRONG_TCP[40:]  # cleaned and quoted the same way as when graded
    g.prepare(Q, answer=typed)
    _, head, read = judge.events[0]
    assert read and "\x00" not in read and STRONG_TCP.startswith(read[:40])
    g.grade(Q, typed)
    _, graded_head, graded = next(e for e in judge.events if e[0] == "judging")
    assert (graded_head, graded) == (head, read)  # the judge is told which answer it read ahead
    assert all(e[1][1].content.startswith(head[1].content + read) for e in judge.events if e[0] == "p_yes")


def test_prepare_skips_the_judge_for_an_empty_question_and_works_without_hooks(retriever):
    judge = RecordingJudge()
    grader(retriever, always("yes"), judge=judge).prepare("  \x00 ")
    assert judge.events == []
    model = always("yes")
    g = grader(retriever, model)  # a judge that caches nothing (an OpenAI-compatible server)
    g.prepare(Q)
    assert model.calls == [] and g.grade(Q, STRONG_TCP).llm_calls >= 3


def test_a_grade_does_not_depend_on_what_was_graded_before(retriever):
    """A real embedder's vector for a text moves slightly with the batch it is embedded in
    (padding); this fake exaggerates that. A grade must not depend on earlier questions' batches."""
    base = retriever.embedder

    class BatchSensitive:
        name = base.name

        def embed(self, texts, *, query=False):
            return [[x + 1e-3 * len(texts) for x in v] for v in base.embed(texts, query=query)]

    def fresh():
        g = grader(retriever, always("yes"))
        g.embedder = g.rubrics.embedder = BatchSensitive()
        return g

    alone = fresh().grade(Q, STRONG_TCP)
    g = fresh()
    for other in ("What is CLOSE_WAIT?", "How does DNS caching work?", "What is TIME_WAIT tuning?"):
        g.grade(other, STRONG_TCP)
    after = g.grade(Q, STRONG_TCP)
    assert (after.score, after.points, after.signals) == (alone.score, alone.points, alone.signals)
