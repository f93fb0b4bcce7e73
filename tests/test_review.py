"""Spaced repetition (grade -> FSRS rating, scheduling checked against py-fsrs itself), mastery,
and the due questions weakest section first."""

from datetime import datetime, timedelta, timezone

import pytest
from fsrs import Card, Rating, Scheduler

from coach.grading.types import Grade
from coach.session import progress, review
from coach.session.review import Mastery
from coach.session.store import Store
from coach.types import Question

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("score,rating", [(0, Rating.Again), (3.99, Rating.Again), (4, Rating.Hard),
                                          (5.9, Rating.Hard), (6, Rating.Good), (8.5, Rating.Good),
                                          (9, Rating.Easy), (10, Rating.Easy)])
def test_grade_to_rating(score, rating):
    assert review.rating(score) == rating


@pytest.mark.parametrize("bad", [-0.1, 10.5, float("nan")])
def test_grade_out_of_range(bad):
    with pytest.raises(ValueError):
        review.rating_value(bad)


def test_mapping_is_monotonic():
    values = [review.rating_value(s / 10) for s in range(0, 101)]
    assert values == sorted(values) and set(values) == {1, 2, 3, 4}


def test_schedule_matches_py_fsrs():
    """Our wrapper is py-fsrs with fuzzing off: same card, same due date."""
    scores = [2, 7, 7, 9, 3, 8]
    card_json, when = None, T0
    ref, ref_sched = Card(card_id=1, due=T0), Scheduler(enable_fuzzing=False)
    for s in scores:
        nxt = review.schedule(card_json, s, when)
        ref, _ = ref_sched.review_card(ref, review.rating(s), review_datetime=when)
        assert nxt.due == ref.due and Card.from_json(nxt.card).stability == ref.stability
        card_json, when = nxt.card, max(nxt.due, when + timedelta(minutes=1))


def test_better_grades_come_back_later():
    due = {s: review.schedule(None, s, T0).due for s in (1, 5, 7, 10)}
    assert due[1] <= due[5] <= due[7] < due[10]
    assert due[1] - T0 <= timedelta(minutes=10)  # a failed question is due again within minutes
    assert due[10] - T0 >= timedelta(days=1)


def test_repeated_good_answers_grow_the_interval():
    card, when, gaps = None, T0, []
    for _ in range(5):
        nxt = review.schedule(card, 8, when)
        gaps.append(nxt.due - when)
        card, when = nxt.card, nxt.due
    assert gaps[-1] > gaps[2] > gaps[0] and gaps[-1] >= timedelta(days=7)


def test_mastery_by_hand():
    m = review.mastery([("3", 6), ("3", 9), ("3", 3), ("6", 10)])
    assert m["3"] == Mastery("3", pytest.approx(1.8 / 4), 3, 6.0)
    assert m["6"].mastery == 0.5 and m["6"].answered == 1
    assert review.mastery([]) == {}


def test_mastery_counts_only_the_latest_grade(tmp_path):
    s = Store(tmp_path / "p.db")
    sess = s.create_session("mock", now=T0)
    q = Question("1.3#1", "handshake?", "1.3")
    s.record_turn(sess.id, q, "bad", Grade(2, "weak"), now=T0)
    s.record_turn(sess.id, q, "good", Grade(10, "strong"), now=T0 + timedelta(minutes=5))
    m = progress.section_mastery(s.all_turns())
    assert list(m) == ["1"] and m["1"].mean_score == 10 and m["1"].answered == 1


def test_due_questions_weakest_section_first(tmp_path):
    s = Store(tmp_path / "p.db")
    sess = s.create_session("mock", now=T0)
    weak_a = Question("2.1#a", "oom?", "2.1")
    weak_b = Question("2.1#b", "page cache?", "2.1")
    strong_net = Question("1.1#a", "ports?", "1.1")
    shaky_net = Question("1.2#a", "dns?", "1.2")
    s.record_turn(sess.id, shaky_net, "x", Grade(2, "weak"), now=T0)
    s.record_turn(sess.id, weak_a, "x", Grade(1, "weak"), now=T0 + timedelta(seconds=1))
    s.record_turn(sess.id, weak_b, "x", Grade(0, "weak"), now=T0 + timedelta(seconds=2))
    s.record_turn(sess.id, strong_net, "x", Grade(10, "strong"), now=T0 + timedelta(seconds=3))
    later = T0 + timedelta(hours=1)
    due = progress.due_questions(s.reviews(), s.all_turns(), later)
    # section 2 (mastery 0.5/3) is weaker than section 1 (12/10/3): its questions first, most overdue first
    assert [q.id for q in due] == ["2.1#a", "2.1#b", "1.2#a"]
    assert progress.due_questions(s.reviews(), s.all_turns(), T0) == []  # nothing due yet
    assert [q.id for q in progress.due_questions(s.reviews(), s.all_turns(), later, section="1")] == ["1.2#a"]


def test_score_points_and_mastery_rows():
    from coach.session.store import Turn

    q = Question("3.1#1", "q", "3.1")
    turns = [Turn("s", 2, q, "b", Grade(8, "ok"), T0 + timedelta(hours=1)),
             Turn("s", 1, q, "a", Grade(4, "ok"), T0),
             Turn("s", 3, q, "", None, T0 + timedelta(hours=2))]
    pts = progress.score_points(turns)
    assert [(p.score, p.section) for p in pts] == [(4, "3"), (8, "3")]
    rows = progress.mastery_rows(progress.section_mastery(turns), {"3": "Networking"})
    assert rows == [("3 Networking", 0.4, 1)]
