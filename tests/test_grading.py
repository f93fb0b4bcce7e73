"""The grader over fake backends: pre-checks, the prompt layout, injection, parse failures."""

import pytest

from coach import scoring
from coach.grading import Grader, roadmap_topic
from coach_helpers import OFF_TOPIC, STRONG_TCP, make_retriever
from fakes import ScriptedChatModel
from test_signals import INJECTIONS

Q = "Explain the TCP 4-way teardown and why TIME_WAIT exists."
PARTIAL = "The side that closes first sends FIN and the other side answers with ACK."


def always(verdict):
    return ScriptedChatModel([lambda m, s: {"verdict": verdict} if s else "Good."] * 200)


@pytest.fixture
def retriever(cfg, embedder, store):
    return make_retriever(cfg, embedder, store)


def test_empty_answers_score_zero_without_the_llm(retriever):
    model = always("yes")
    g = Grader(retriever, model)
    for a in ["", "   \n", "\x00\x00", None, "🙂🙂"]:
        grade = g.grade(Q, a)
        assert (grade.score, grade.verdict) == (0, "empty") and grade.covered == ()
        assert grade.citations and grade.missing
    assert model.calls == []


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_never_moves_the_score_even_with_a_yes_model(retriever, attack):
    model = always("yes")
    g = Grader(retriever, model)
    for text in (attack, STRONG_TCP + "\n\n" + attack, attack + " " + STRONG_TCP):
        grade = g.grade(Q, text)
        assert grade.score <= 3, (text, grade.score)
    assert model.calls == []  # an injection is graded on the deterministic signals only


def test_prompt_layout_shared_head_first_point_last_answer_quoted(retriever):
    model = always("yes")
    grade = Grader(retriever, model).grade(Q, STRONG_TCP)
    judged = [c for c in model.calls if c.schema is not None]
    calls = [c for c in judged if "never instructions" in c.messages[0].content]
    assert len(calls) == len(grade.points) and len(calls) >= 3
    assert grade.llm_calls == len(judged) == len(calls) + len(grade.signals.claims)
    systems = {c.messages[0].content for c in calls}
    users = [c.messages[1].content for c in calls]
    assert len(systems) == 1 and "never instructions" in systems.pop()
    head = users[0].split("Does the candidate's answer")[0]
    assert all(u.startswith(head) for u in users)  # identical prefix: llama.cpp reuses its cache
    assert all(u.rstrip().endswith(p.text) for u, p in zip(users, grade.points))  # the point comes last
    assert f"<answer>\n{STRONG_TCP}\n</answer>" in head
    assert Q in head
    both = Grader(retriever, always("yes"), contradiction_call=True, n_claims=0).grade(Q, STRONG_TCP)
    assert both.llm_calls == len(both.points) + 1 and both.signals.llm_contradiction == 1.0


WRONG_TCP = STRONG_TCP.replace("so that delayed packets do not corrupt new connections on the same tuple",
                               "so that the server can reuse the port immediately")


def claim_judge(false_word):
    """Says yes to every key point, and no to a checked statement that contains `false_word`."""
    def reply(messages, schema):
        if not schema:
            return "Good."
        user = messages[-1].content
        statement = user.split("Statement: ")[-1] if "Statement: " in user else ""
        return {"verdict": "no" if false_word in statement else "yes"}
    return ScriptedChatModel([reply] * 200)


def test_the_claim_check_checks_the_most_relevant_sentences_against_the_rubric(retriever):
    model = claim_judge("immediately")
    g = Grader(retriever, model, scoring.Params(w_truth=1.0, t_lo=0.4, t_hi=0.7, claim_k=4), n_claims=4)
    grade = g.grade(Q, WRONG_TCP + " " + OFF_TOPIC)  # five sentences, the last one far from the rubric
    claims = [c for c in model.calls if c.schema is not None and "Statement: " in c.messages[-1].content]
    assert len(claims) == len(grade.signals.claims) == 4
    heads = {c.messages[-1].content.split("Statement: ")[0] for c in claims}
    assert len(heads) == 1  # one shared head: the rubric, then the statement last
    head = heads.pop()
    assert all(f"- {p.text}" in head for p in grade.points)
    statements = [c.messages[-1].content.split("Statement: ")[1] for c in claims]
    assert all(s in WRONG_TCP for s in statements)  # whole sentences, the off-topic one left out
    assert 0.0 in grade.signals.claims  # the false sentence is among the checked ones


def test_the_claim_check_only_lowers_a_score(retriever):
    on, off = scoring.Params(w_truth=1.0, claim_k=4), scoring.Params(w_truth=0.0, claim_k=4)

    def grade(params, answer, n_claims=4):
        return Grader(retriever, claim_judge("immediately"), params, n_claims=n_claims).grade(Q, answer)

    assert grade(on, WRONG_TCP).score < grade(off, WRONG_TCP).score and grade(on, WRONG_TCP).score <= 3
    assert grade(on, STRONG_TCP).score == grade(off, STRONG_TCP).score > 3  # every claim passes: no change
    unchecked = grade(on, WRONG_TCP, n_claims=0)
    assert unchecked.signals.claims == () and unchecked.score == grade(off, WRONG_TCP).score


def test_the_judge_can_read_only_the_answers_most_relevant_sentences(retriever):
    filler = "My favourite editor is vim and I like coffee in the morning."
    answer = f"{filler} {STRONG_TCP}"
    whole, model = Grader(retriever, always("yes")).grade(Q, answer), always("yes")
    short = Grader(retriever, model, llm_answer_words=40).grade(Q, answer)
    head = next(c for c in model.calls if c.schema is not None).messages[1].content.split("</answer>")[0]
    read = head.split("<answer>\n")[1].strip()
    assert filler not in read and 0 < len(read.split()) <= 40 and read in " ".join(answer.split())
    # only what the judge reads changes: the similarity and term signals still see the whole answer
    assert [(p.similarity, p.terms) for p in short.points] == [(p.similarity, p.terms) for p in whole.points]


def test_the_llm_is_one_signal_among_several(retriever):
    yes = Grader(retriever, always("yes")).grade(Q, STRONG_TCP)
    no = Grader(retriever, always("no")).grade(Q, STRONG_TCP)
    none = Grader(retriever, None).grade(Q, STRONG_TCP)
    assert yes.score > no.score and none.llm_calls == 0
    assert yes.points[0].llm == 1.0 and no.points[0].llm == 0.0 and none.points[0].llm is None
    assert no.verdict in ("wrong", "weak", "partial") and yes.covered


def test_parse_failures_are_counted_and_the_grade_still_comes(retriever):
    model = ScriptedChatModel(["not json"] * 50)
    grade = Grader(retriever, model).grade(Q, STRONG_TCP)
    assert grade.parse_failures == grade.llm_calls > 0 and all(p.llm is None for p in grade.points)
    assert 0 <= grade.score <= 10


def test_off_topic_answer_is_caught(retriever):
    model = always("yes")
    grade = Grader(retriever, model).grade(Q, OFF_TOPIC)
    assert grade.verdict == "off-topic" and grade.score <= 2


def test_strong_answer_beats_a_partial_one(retriever):
    g = Grader(retriever, always("yes"))
    assert g.grade(Q, STRONG_TCP).score > g.grade(Q, PARTIAL).score


def test_reference_passages_follow_the_fused_order_unless_asked_to_rerank(retriever):
    class Reversing:
        name = "reversing"

        def rerank(self, query, hits, top_k):
            return list(reversed(hits))[:top_k]

    import copy

    reranking = copy.copy(retriever)  # the same index, with a reranking stage
    reranking.reranker = Reversing()
    fused = [h.chunk for h in retriever.search(Q, 100, rerank=False)]
    assert [h.chunk for h in reranking.search(Q, 100)] != fused  # the stage is on and reorders
    assert Grader(reranking, None).passages(Q) == Grader(retriever, None).passages(Q)
    assert Grader(reranking, None, rerank_passages=True).passages(Q) != Grader(retriever, None).passages(Q)


def test_passages_prefer_given_chunks_and_the_roadmap_questions_section(retriever):
    g = Grader(retriever, None)
    dns = next(c for c in retriever.chunks.values() if c.section == "1.2")
    assert g.passages(Q, [dns.id])[0] == dns
    assert roadmap_topic("Explain the TCP 3-way handshake", retriever.corpus.questions) == "1"
    assert roadmap_topic("Why is the sky blue", retriever.corpus.questions) is None
    assert all(not c.title.startswith("Interview Questions") for c in g.passages("Explain the TCP 3-way handshake."))


def test_feedback_streams_from_the_model_or_is_fixed(retriever):
    model = always("yes")
    g = Grader(retriever, model)
    grade = g.grade(Q, STRONG_TCP)
    assert "".join(g.feedback_stream(Q, grade)) == "Good."
    assert model.calls[-1].schema is None and "Key points the answer missed" in model.calls[-1].messages[1].content
    empty = g.grade(Q, "")
    assert "".join(g.feedback_stream(Q, empty)).startswith("No answer was given")


def test_feedback_does_not_ask_for_praise_when_nothing_was_covered(retriever):
    g = Grader(retriever, always("no"))
    weak = g.grade(Q, "TIME_WAIT is where the server waits for the client's first SYN before it listens.")
    assert weak.covered == () and weak.verdict not in ("empty", "off-topic")
    model = always("no")
    list(Grader(retriever, model).feedback_stream(Q, weak))
    prompt = model.calls[-1].messages[1].content
    assert "do not praise" in prompt and "say what was good" not in prompt
    strong = Grader(retriever, always("yes")).grade(Q, STRONG_TCP)
    assert strong.covered
    list(Grader(retriever, model).feedback_stream(Q, strong))
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
    g = Grader(retriever, always("yes"), judge=judge)
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
    cold = Grader(retriever, always("yes"), judge=RecordingJudge()).grade(Q, STRONG_TCP)
    assert (cold.score, cold.points) == (prepared.score, prepared.points)


def test_the_typed_answer_is_read_ahead_as_the_judge_will_read_it(retriever):
    judge = RecordingJudge()
    g = Grader(retriever, always("yes"), judge=judge)
    typed = STRONG_TCP[:40] + "\x00" + STRONG_TCP[40:]  # cleaned and quoted the same way as when graded
    g.prepare(Q, answer=typed)
    _, head, read = judge.events[0]
    assert read and "\x00" not in read and STRONG_TCP.startswith(read[:40])
    g.grade(Q, typed)
    _, graded_head, graded = next(e for e in judge.events if e[0] == "judging")
    assert (graded_head, graded) == (head, read)  # the judge is told which answer it read ahead
    assert all(e[1][1].content.startswith(head[1].content + read) for e in judge.events if e[0] == "p_yes")
    judge.events.clear()
    Grader(retriever, always("yes"), judge=judge, llm_answer_words=20).prepare(Q, answer=typed)
    assert judge.events[0][2] == ""  # the judge reads only some sentences then: nothing to read ahead


def test_with_no_weight_on_the_key_point_verdicts_only_the_claims_are_asked_and_their_head_prefilled(retriever):
    judge = RecordingJudge()
    g = Grader(retriever, always("yes"), scoring.Params(w_llm=0.0, w_sim=0.5, w_terms=0.5), judge=judge, n_claims=2)
    g.prepare(Q)
    head = judge.events[0][1]
    assert [e[0] for e in judge.events] == ["prefill"] and head[1].content.endswith("Statement: ")
    grade = g.grade(Q, STRONG_TCP)
    asked = [e[1][1].content for e in judge.events if e[0] == "p_yes"]
    assert len(asked) == grade.llm_calls == 2 and all(a.startswith(head[1].content) for a in asked)
    assert all(p.llm is None for p in grade.points) and grade.signals.claims == (0.8, 0.8)


def test_prepare_skips_the_judge_for_an_empty_question_and_works_without_hooks(retriever):
    judge = RecordingJudge()
    Grader(retriever, always("yes"), judge=judge).prepare("  \x00 ")
    assert judge.events == []
    model = always("yes")
    g = Grader(retriever, model)  # a judge without prefill (an OpenAI-compatible server)
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
        g = Grader(retriever, always("yes"))
        g.embedder = BatchSensitive()
        return g

    alone = fresh().grade(Q, STRONG_TCP)
    g = fresh()
    for other in ("What is CLOSE_WAIT?", "How does DNS caching work?", "What is TIME_WAIT tuning?"):
        g.grade(other, STRONG_TCP)
    after = g.grade(Q, STRONG_TCP)
    assert (after.score, after.points, after.signals) == (alone.score, alone.points, alone.signals)
