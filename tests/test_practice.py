"""The one driver from input to store: what is stored when, so a process killed at any point loses at
most the words still streaming."""

from dataclasses import replace

import pytest

from coach.root import Coach
from coach.session.events import Asked, Graded, Said, SessionSpec
from coach.session.practice import Practice

from fakes import ScriptedChatModel

ANSWER = ("The initiator sends FIN and enters FIN_WAIT_1; the receiver ACKs into CLOSE_WAIT, and TIME_WAIT "
          "keeps delayed packets from corrupting a new connection.")


def reply(messages, schema):
    if schema is None:
        return "Good: you named the states. Add what TIME_WAIT protects."
    return {"verdict": "yes"}


@pytest.fixture
def root(cfg, backends):
    r = Coach(cfg, replace(backends, chat=ScriptedChatModel([reply] * 200)), seed=1)
    r.index()
    return r


def test_the_grade_is_stored_before_its_feedback_and_the_feedback_when_it_ends(root):
    p = Practice.new(root.db, root, SessionSpec("section", "1.1"))
    list(p.start())
    assert root.db.sessions() == []  # nothing stored before the first line
    events = p.send(ANSWER)
    for ev in events:
        if isinstance(ev, Graded):
            break
    (turn,) = root.db.turns(p.session_id)  # committed the moment the card is shown
    assert turn.grade.score == ev.grade.score and turn.answer == ANSWER and turn.feedback == ""
    rest = list(events)
    said = "".join(e.text for e in rest if isinstance(e, Said) and e.kind == "feedback").strip()
    assert root.db.turns(p.session_id)[0].feedback == said != ""
    assert root.db.session(p.session_id).pending == p.question == next(e for e in rest if isinstance(e, Asked)).question


def test_a_stream_cut_off_keeps_the_grade_and_the_words_so_far(root):
    p = Practice.new(root.db, root, SessionSpec("section", "1.1"))
    list(p.start())
    events = p.send(ANSWER)
    for ev in events:
        if isinstance(ev, Said) and ev.kind == "feedback":
            break
    events.close()  # the tab closes mid-feedback
    (turn,) = root.db.turns(p.session_id)
    assert turn.grade is not None and turn.feedback == ev.text.strip()


class Killed(BaseException):
    """The process dying: nothing catches it on the way out."""


def test_an_answer_lost_in_grading_is_graded_when_the_session_resumes(cfg, backends):
    def dies_while_grading(messages, schema):
        raise Killed()
    dying = Coach(cfg, replace(backends, chat=ScriptedChatModel([dies_while_grading])), seed=1)
    dying.index()
    p = Practice.new(dying.db, dying, SessionSpec("section", "1.1"))
    asked = [e for e in p.start() if isinstance(e, Asked)][0].question
    with pytest.raises(Killed):
        list(p.send(ANSWER))
    sid = p.session_id
    root = Coach(cfg, replace(backends, chat=ScriptedChatModel([reply] * 200)), seed=1)  # a restarted server
    stored = root.db.session(sid)
    assert stored.pending == asked and stored.pending_answer == ANSWER and root.db.turns(sid) == []

    again, turns = Practice.resume(root.db, root, sid)  # a restarted server
    out = list(again.start())
    said = [e.text for e in out if isinstance(e, Said)]
    assert "not graded before the coach stopped" in said[0] and said[1] == ANSWER
    graded = next(e for e in out if isinstance(e, Graded))
    assert graded.question.id == asked.id and graded.answer == ANSWER
    (turn,) = root.db.turns(sid)
    assert turn.answer == ANSWER and turn.grade is not None and root.db.session(sid).pending_answer == ""


def test_a_command_is_not_kept_as_an_answer(root):
    p = Practice.new(root.db, root, SessionSpec("section", "1.1"))
    list(p.start())
    list(p.send("hint"))
    assert root.db.session(p.session_id).pending_answer == ""


def test_one_request_at_a_time(root):
    p = Practice.new(root.db, root, SessionSpec("section", "1.1"))
    list(p.start())
    first = p.send(ANSWER)
    next(first)
    assert list(p.send("hint")) == [Said("Still working on the previous request: wait for it to finish.", "note")]
    list(first)
