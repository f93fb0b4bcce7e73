"""The app's callbacks with a fake coach and a scripted chat model: a full interview turn,
commands, resume after a restart, two browser tabs not mixing, clear messages instead of tracebacks."""

from datetime import timedelta

import pytest

from coach.corpus.loader import load_corpus
from coach.errors import IndexNotBuiltError, ModelError
from coach.session.store import Store, utcnow

from coach_helpers import last
from fake_coach import BrokenCoach, FakeCoach
from fakes import ScriptedChatModel

ui = pytest.importorskip("coach.app.layout")
import gradio as gr  # noqa: E402

from coach.app.callbacks import Callbacks  # noqa: E402
from coach.app.view import escape  # noqa: E402

ANSWER = "Ports: well-known 0-1023 and ephemeral ones; a socket is IP + port + protocol."


@pytest.fixture
def corpus(corpus_dir):
    return load_corpus(corpus_dir, 170)


def test_full_interview_turn(db, corpus):
    model = ScriptedChatModel(["Good: you named both ranges. Add what TIME_WAIT protects."])
    cb = Callbacks(db, FakeCoach(corpus, model), corpus.sections)
    chat, card, panel, status = last(cb.start("section", "1.1", "0", None))
    assert status == "" and "**Question** · section 1.1" in chat[-1]["content"]
    assert panel.practice.session is None and db.sessions() == []  # stored with the first answer

    steps = list(cb.send(ANSWER, panel))
    sid = panel.practice.session.id
    assert db.session(sid).section == "1.1" and db.session(sid).level == 0
    assert steps[0][0][-1] == {"role": "user", "content": escape(ANSWER)}  # the answer shows at once, as typed
    assert len(steps) > 3  # the feedback streamed in pieces
    chat, card, panel, status = steps[-1]
    roles = [m["role"] for m in chat]
    assert roles == ["assistant", "user", "assistant", "assistant", "assistant"]
    assert chat[2]["content"].startswith("### Score ") and "✓" in chat[2]["content"]
    assert chat[3]["content"] == "**Feedback**\n\nGood: you named both ranges. Add what TIME_WAIT protects."
    sources = chat[4]
    assert sources["metadata"]["title"] == "Sources [1.1]" and "TCP Deep Dive" in sources["content"]
    assert card.startswith("### Score ") and "Add what TIME_WAIT protects." in card
    # what the model was sent: the question and the answer, as data
    assert ANSWER in model.calls[0].messages[-1].content

    turns = db.turns(sid)
    assert len(turns) == 1 and turns[0].answer == ANSWER
    assert turns[0].feedback == "Good: you named both ranges. Add what TIME_WAIT protects."
    assert turns[0].grade.sources[0].section == "1.1" and db.session(sid).pending is None
    assert len(db.reviews()) == 1


def test_the_answer_box_is_read_ahead_as_the_user_types_but_not_during_a_turn(db, corpus):
    coach = FakeCoach(corpus)
    cb = Callbacks(db, coach, corpus.sections)
    cb.typed("Ports", None)  # no session yet: nothing to do
    _, _, panel, _ = last(cb.start("section", "1.1", "0", None))
    cb.typed("Ports: well-known", panel)
    assert coach.typed == [(panel.practice.question, "Ports: well-known")]
    turn = cb.send(ANSWER, panel)
    next(turn), next(turn)  # the turn has started: the model is busy grading
    cb.typed("next answer", panel)
    list(turn)
    assert len(coach.typed) == 1


def test_commands_hint_explain_skip_next(db, corpus):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    _, _, panel, _ = last(cb.start("mock", None, "any", None))
    first = panel.practice.question
    chat, _, panel, _ = last(cb.send("hint", panel))
    assert chat[-2] == {"role": "user", "content": "*hint*"} and chat[-1]["content"].startswith("**Hint**")
    chat, _, panel, _ = last(cb.send("explain", panel))
    assert chat[-2]["content"].startswith("**Explanation**") and "metadata" in chat[-1]
    chat, _, panel, _ = last(cb.send("skip", panel))
    assert "Skipped." in [m["content"] for m in chat] and panel.practice.question != first
    skipped = panel.practice.question
    chat, _, panel, _ = last(cb.send("next", panel))
    turns = db.turns(panel.practice.session.id)
    assert [t.skipped for t in turns] == [True, True]  # "next" leaves the question unanswered too
    assert turns[1].question == skipped and db.session(panel.practice.session.id).pending == panel.practice.question


def test_resume_after_restart(tmp_path, corpus):
    path = tmp_path / "progress.db"
    cb = Callbacks(Store(path), FakeCoach(corpus), corpus.sections)
    _, _, panel, _ = last(cb.start("section", "1", "any", None))
    last(cb.send(ANSWER, panel))
    _, _, panel, _ = last(cb.send("next", panel))
    pending = panel.practice.question
    sid = panel.practice.session.id
    del cb, panel  # the server is killed; the browser is closed

    coach = FakeCoach(corpus)
    cb = Callbacks(Store(path), coach, corpus.sections)
    choices = cb.sessions("section")
    assert [c[1] for c in choices] == [sid] and "1 answered" in choices[0][0]
    shown, text, offered = cb.offer()  # opening the app offers the unfinished session up front
    assert shown["visible"] and offered == sid and "practise a section · 1 Networking" in text and "1 answered" in text
    assert cb.offer_tab(offered)[0].selected == "section"
    assert all(x.__class__.__name__ == "skip" or x == gr.skip() for x in last(cb.resume("mock", sid, None)))
    chat, card, panel, status, section, level = last(cb.resume("section", sid, None))
    assert (section, level) == ("1", "any")  # the tab's controls show the resumed session's
    assert status == "" and panel.practice.session.id == sid
    contents = [m["content"] for m in chat]
    assert ANSWER in contents and any(c.startswith("### Score") for c in contents)
    assert contents[-1].endswith(pending.text)  # the pending question is asked again
    assert coach.specs[-1].first == pending and coach.specs[-1].section == "1"
    last(cb.send("quit", panel))
    assert Store(path).session(sid).status == "finished" and cb.sessions("section") == []
    assert cb.offer()[0]["visible"] is False  # nothing unfinished: no banner


def test_two_tabs_do_not_mix(db, corpus):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    _, _, tab1, _ = last(cb.start("section", "1.1", "any", None))
    _, _, tab2, _ = last(cb.start("section", "2.1", "any", None))
    # interleave the two tabs' streams
    g1, g2 = cb.send("tab one: ports and sockets", tab1), cb.send("tab two: oom_score_adj", tab2)
    out1 = out2 = None
    for a, b in zip(g1, g2):
        out1, out2 = a, b
    out1 = last(g1) or out1
    out2 = last(g2) or out2
    s1, s2 = tab1.practice.session.id, tab2.practice.session.id
    assert s1 != s2
    assert [t.answer for t in db.turns(s1)] == ["tab one: ports and sockets"]
    assert [t.answer for t in db.turns(s2)] == ["tab two: oom_score_adj"]
    assert db.turns(s1)[0].question.section == "1.1" and db.turns(s2)[0].question.section == "2.1"
    assert not any("tab two" in m["content"] for m in out1[0])
    assert not any("tab one" in m["content"] for m in out2[0])


def test_turn_is_saved_when_the_stream_is_cut_off(db, corpus):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    _, _, panel, _ = last(cb.start("section", "1.1", "any", None))
    gen = cb.send(ANSWER, panel)
    for _, card, _, _ in gen:
        if card.startswith("### Score"):
            break  # the tab is closed right after the grade card appeared
    gen.close()
    turns = db.turns(panel.practice.session.id)
    assert len(turns) == 1 and turns[0].grade is not None


@pytest.mark.parametrize("error", [IndexNotBuiltError(), ModelError('model file x does not exist: run "coach model fetch"')])
def test_missing_model_or_index_is_a_message(db, corpus, error):
    cb = Callbacks(db, BrokenCoach(error), corpus.sections)
    chat, card, panel, status = last(cb.start("mock", None, "any", None))
    assert status.startswith("⚠") and str(error) in status and "Traceback" not in status
    assert db.sessions() == []  # no empty session left behind
    msgs, view, ctx = last(cb.ask("what is TIME_WAIT?", None, None))
    assert "⚠" in msgs[-1]["content"] and "coach" in msgs[-1]["content"]


def test_unexpected_error_mid_stream_keeps_the_page(db, corpus):
    coach = FakeCoach(corpus, ScriptedChatModel([]))  # no scripted reply left: the feedback call fails
    cb = Callbacks(db, coach, corpus.sections)
    _, _, panel, _ = last(cb.start("section", "1.1", "any", None))
    chat, card, panel, status = last(cb.send(ANSWER, panel))
    assert status.startswith("⚠ Something went wrong") and "server's log" in status
    assert len(db.turns(panel.practice.session.id)) == 1  # the graded turn is kept


def test_section_required_and_send_before_start(db, corpus):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    assert last(cb.start("section", None, "any", None))[3] == "Pick a section first."
    assert last(cb.send("hello", None))[3] == "Start a session first."
    assert "Pick a saved session" in last(cb.resume("section", None, None))[3]


def test_review_mode_asks_due_questions_weakest_first(db, corpus):
    clock = [utcnow()]  # the store stamps turns with the real time
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections, now=lambda: clock[0])
    assert "Nothing is due" in last(cb.start("review", None, None, None))[3]
    _, _, panel, _ = last(cb.start("section", "2.1", "any", None))
    last(cb.send("no idea", panel))  # a bad answer: due again within minutes
    clock[0] += timedelta(hours=1)
    assert "**1** questions due" in cb.due_note()
    chat, _, panel, _ = last(cb.start("review", None, None, None))
    assert panel.practice.spec.mode == "review" and "section 2.1" in chat[-1]["content"]


def test_ask_streams_with_citations_and_keeps_context(db, corpus):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    steps = list(cb.ask("what does the OOM killer pick?", None, None))
    msgs, view, ctx = steps[-1]
    assert len(steps) > 3 and msgs[0]["role"] == "user" and "[2.1]" in msgs[1]["content"]
    assert msgs[-1]["metadata"]["title"] == "Sources [2.1]"
    assert ctx.startswith("what does the OOM killer pick?")


def test_progress_data_and_export(db, corpus, tmp_path):
    cb = Callbacks(db, FakeCoach(corpus), corpus.sections)
    scores, mastery, table, note = cb.progress_data()
    assert scores.empty and mastery.empty and "No graded answers yet" in note
    _, _, panel, _ = last(cb.start("section", "1.1", "any", None))
    last(cb.send(ANSWER, panel))
    scores, mastery, table, note = cb.progress_data()
    assert list(scores.columns) == ["answer", "score", "section", "when"] and len(scores) == 1
    assert mastery.iloc[0]["section"] == "1 Networking" and 0 < mastery.iloc[0]["mastery"] <= 0.5
    assert table.iloc[0]["answered"] == 1 and table.iloc[0]["section"] == "1.1" and "**1** graded answers" in note
    path = cb.export(panel.practice.session.id)
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# Interview session") and ANSWER in text


def test_build_app_with_fakes(db, corpus):
    app = ui.build_app(db, FakeCoach(corpus), corpus.sections)
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"section-pick", "section-start", "section-chat", "section-card", "section-submit", "section-hint",
            "section-explain", "section-skip", "section-next", "ask-chat", "review-start",
            "progress-scores", "progress-mastery"} <= ids
    assert "notice" not in ids
    noted = ui.build_app(db, FakeCoach(corpus), corpus.sections, notice="this model grades badly")
    shown = [b.value for b in noted.blocks.values() if getattr(b, "elem_id", None) == "notice"]
    assert shown == ["**Note:** this model grades badly"]
