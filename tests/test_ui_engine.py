"""The app's callbacks on the real composition root (the real interview loop, grader, bank and
explainer) over fake backends: a hashing embedder, an in-memory vector store and a scripted chat
model that records what it was sent."""

from dataclasses import replace
from datetime import timedelta

import pytest

from coach import config as config_mod
from coach.root import Coach
from coach.session.store import Store, utcnow

from coach_helpers import STRONG_TCP, last
from fakes import ScriptedChatModel

ui = pytest.importorskip("coach.app.layout")
from coach.app.callbacks import Callbacks  # noqa: E402

SEED = 1  # the fake corpus maps both roadmap questions to 1.1: this seed asks the TCP one first
FEEDBACK = "You named FIN_WAIT_1 and CLOSE_WAIT; add what TIME_WAIT protects [1.1]."


def reply(messages, schema):
    if schema is None:  # feedback or an explanation, streamed
        return FEEDBACK
    if "questions" in schema.get("properties", {}):
        return {"questions": ["How does the OOM killer pick its victim process?"]}
    return {"verdict": "yes"}


@pytest.fixture
def model():
    return ScriptedChatModel([reply] * 500)


@pytest.fixture
def coach(cfg, backends, model):
    # the hashing embedder's cosines are low: a lower mark keeps roadmap questions in scope for `ask`
    cfg = config_mod.replace(cfg, ask=config_mod.AskConfig(0.05, 0.5, 0.99, 0.1, 0.1))
    root = Coach(cfg, replace(backends, chat=model), seed=SEED)
    root.index()
    return root


def test_full_turn_on_the_real_engine(db, coach, corpus_dir, model):
    sections = coach.retriever.corpus.sections
    cb = Callbacks(db, coach, sections)
    chat, card, panel, status = last(cb.start("section", "1.1", "any", None))
    assert status == "" and "section 1.1" in chat[-1]["content"]
    asked = panel.practice.question
    assert "TCP" in asked.text, asked  # SEED picks the question STRONG_TCP answers
    steps = list(cb.send(STRONG_TCP, panel))
    chat, card, panel, status = steps[-1]
    assert status == ""
    texts = [m["content"] for m in chat]
    assert any(t.startswith("### Score ") for t in texts) and card.startswith("### Score ")
    assert any(FEEDBACK in t for t in texts) and FEEDBACK in card
    sources = [m for m in chat if "metadata" in m]
    assert sources and sources[0]["metadata"]["title"].startswith("Sources [1.1]")
    assert "TCP Deep Dive" in sources[0]["content"]
    # the answer went to the model as quoted data
    assert any(STRONG_TCP[:40] in m.content for call in model.calls for m in call.messages)
    turn = db.turns(panel.practice.session.id)[0]
    assert turn.question.id == asked.id and turn.answer == STRONG_TCP and turn.feedback.endswith(FEEDBACK)
    assert turn.grade.sources[0].section == "1.1" and turn.grade.sources[0].text
    assert db.session(panel.practice.session.id).pending == panel.practice.question  # the next or a follow-up


def test_commands_on_the_real_engine(db, coach):
    cb = Callbacks(db, coach, coach.retriever.corpus.sections)
    _, _, panel, _ = last(cb.start("section", "1", "any", None))
    first = panel.practice.question
    chat, _, panel, _ = last(cb.send("hint", panel))
    assert chat[-1]["content"].startswith("**Hint**") and panel.practice.question == first
    chat, _, panel, status = last(cb.send("explain", panel))
    assert status == "" and any(m["content"].startswith("**Explanation**") for m in chat)
    assert "metadata" in chat[-1] and chat[-1]["metadata"]["title"].startswith("Sources [1")
    chat, _, panel, _ = last(cb.send("skip", panel))
    assert panel.practice.question != first
    turns = db.turns(panel.practice.session.id)
    assert [t.skipped for t in turns] == [True] and turns[0].question.id == first.id


def test_resume_asks_the_pending_question_and_not_the_answered_ones(tmp_path, coach):
    path = tmp_path / "p.db"
    sections = coach.retriever.corpus.sections
    cb = Callbacks(Store(path), coach, sections)
    _, _, panel, _ = last(cb.start("section", "1", "any", None))
    answered = panel.practice.question
    last(cb.send("skip", panel))
    pending = panel.practice.question
    sid = panel.practice.session.id

    cb2 = Callbacks(Store(path), coach, sections)  # a restarted server
    chat, _, panel2, status, _, _ = last(cb2.resume("section", sid, None))
    assert status == "" and panel2.practice.question == pending
    assert chat[-1]["content"].endswith(pending.text)
    _, _, panel2, _ = last(cb2.send("skip", panel2))
    assert [t.question.id for t in Store(path).turns(sid)] == [answered.id, pending.id]
    nxt = panel2.practice.question  # None when section 1 has no question left
    assert nxt is None or nxt.id not in {answered.id, pending.id}


def test_two_tabs_do_not_mix_on_the_real_engine(db, coach):
    cb = Callbacks(db, coach, coach.retriever.corpus.sections)
    _, _, tab1, _ = last(cb.start("section", "1.1", "any", None))
    _, _, tab2, _ = last(cb.start("section", "2.1", "any", None))
    g1, g2 = cb.send("tab one: " + STRONG_TCP, tab1), cb.send("tab two: oom_score_adj picks the victim", tab2)
    for _ in zip(g1, g2):
        pass
    last(g1), last(g2)
    t1, t2 = db.turns(tab1.practice.session.id), db.turns(tab2.practice.session.id)
    assert [t.answer[:7] for t in t1] == ["tab one"] and [t.answer[:7] for t in t2] == ["tab two"]
    assert t1[0].question.section.startswith("1") and t2[0].question.section.startswith("2")


def test_review_asks_only_the_due_questions(db, coach):
    sections = coach.retriever.corpus.sections
    clock = [utcnow()]
    cb = Callbacks(db, coach, sections, now=lambda: clock[0])
    _, _, panel, _ = last(cb.start("section", "2.1", "any", None))
    weak = panel.practice.question
    last(cb.send("no idea at all, sorry", panel))  # scores low: due again within minutes
    clock[0] += timedelta(hours=1)
    chat, _, review, status = last(cb.start("review", None, None, None))
    assert status == "" and review.practice.question.id == weak.id
    chat, _, review, _ = last(cb.send("skip", review))
    assert "Session finished" in chat[-1]["content"]  # nothing else was due


def test_ask_tab_cites_passages(db, coach):
    cb = Callbacks(db, coach, coach.retriever.corpus.sections)
    msgs, view, ctx = last(cb.ask("Why does TIME_WAIT exist after the TCP teardown?", None, None))
    assert msgs[1]["content"].startswith("You named") and msgs[-1]["metadata"]["title"] == "Sources [1.1]"
    assert "TIME_WAIT" in msgs[-1]["content"]
    msgs, _, _ = last(cb.ask("What is the capital of France?", view, ctx))
    assert "outside what the roadmap covers" in msgs[-1]["content"]


def test_first_use_reports_progress(cfg, backends, tmp_path):
    """The root warms up on first use and says what it is doing; a missing model is a message,
    not a traceback."""
    from coach.errors import ModelError

    seen = []
    cfg = config_mod.replace(cfg, llm=config_mod.LLMConfig(model_path=str(tmp_path / "x.gguf")))
    with pytest.raises(ModelError, match="does not exist"):
        Coach(cfg, backends).warm_up(lambda f, d: seen.append(d))
    assert seen == ["checking the language model"]


def test_an_answer_over_the_cap_is_shown_and_stored_cut(db, coach):
    """Nothing past the documented cap is rendered in the chat or stored; the card says it was cut."""
    from coach.sanitize import MAX_ANSWER_CHARS

    cb = Callbacks(db, coach, coach.retriever.corpus.sections)
    _, _, panel, _ = last(cb.start("section", "1.1", "any", None))
    huge = STRONG_TCP + " " + "SYN then SYN-ACK then ACK. " * 8000
    chat, card, panel, _ = last(cb.send(huge, panel))
    from coach.app.view import user_message

    users = [m["content"] for m in chat if m["role"] == "user"]
    turn = db.turns(panel.practice.session_id)[-1]
    assert len(turn.answer) <= MAX_ANSWER_CHARS and turn.grade is not None
    assert users[-1] == user_message(turn.answer)["content"]  # shown as stored (escaped), no more
    assert f"the limit is {MAX_ANSWER_CHARS:,}" in card
