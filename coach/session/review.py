"""Spaced repetition and mastery: which questions to ask again, and how well each section is known.

What it does: maps a grade (0-10) to an FSRS rating, advances a question's FSRS card with the
`fsrs` library (Ye et al., "A Stochastic Shortest Path Algorithm for Optimizing Spaced Repetition
Scheduling", KDD 2022; py-fsrs 6 defaults, no fuzzing so schedules are reproducible), computes a
per-section mastery from each question's latest score, and orders the due questions weakest
section first.

What it does not do: read or write the database (`coach.session.store` calls `schedule` inside the
transaction that records a turn) or pick new questions (`coach.session.bank`). `fsrs` is imported on
first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

# Score bands, shared with grading's verdicts: wrong answers score <= 3, strong ones >= 7.
AGAIN_BELOW = 4.0  # 0-3.x: not recalled -> Again
HARD_BELOW = 6.0  # 4-5.x: recalled with big gaps -> Hard
GOOD_BELOW = 9.0  # 6-8.x: recalled -> Good; 9-10 -> Easy
PRIOR_ANSWERS = 1  # mastery counts this many imaginary zero-score answers (one lucky answer is not mastery)


@dataclass(frozen=True)
class Scheduled:
    """A question's FSRS card after a review: the card as JSON (py-fsrs `Card.to_json`) and its due time."""

    card: str
    due: datetime
    rating: int  # fsrs.Rating value: 1 Again, 2 Hard, 3 Good, 4 Easy


@dataclass(frozen=True)
class Mastery:
    section: str
    mastery: float  # 0..1, see `mastery`
    answered: int  # distinct questions with a graded answer
    mean_score: float  # mean of their latest scores, 0..10


def rating_value(score: float) -> int:
    """The FSRS rating (1 Again, 2 Hard, 3 Good, 4 Easy) for a 0-10 grade.

    >>> [rating_value(s) for s in (0, 3, 3.9, 4, 5.5, 6, 8.9, 9, 10)]
    [1, 1, 1, 2, 2, 3, 3, 4, 4]
    """
    if not 0.0 <= score <= 10.0:
        raise ValueError(f"a grade is between 0 and 10, got {score!r}")
    if score < AGAIN_BELOW:
        return 1
    if score < HARD_BELOW:
        return 2
    if score < GOOD_BELOW:
        return 3
    return 4


def rating(score: float):
    """`rating_value` as an `fsrs.Rating`.

    >>> rating(7).name
    'Good'
    """
    from fsrs import Rating

    return Rating(rating_value(score))


def _scheduler():
    from fsrs import Scheduler

    return Scheduler(enable_fuzzing=False)  # reproducible due dates


def schedule(card_json: str | None, score: float, now: datetime, card_id: int = 1) -> Scheduled:
    """Review a question's card (a new card when `card_json` is None) with the grade `score` at `now`
    (timezone-aware UTC). The first review of a new card with a bad grade comes back within minutes;
    good grades move it days ahead.
    """
    from fsrs import Card

    card = Card.from_json(card_json) if card_json else Card(card_id=card_id, due=now)
    card, _log = _scheduler().review_card(card, rating(score), review_datetime=now)
    return Scheduled(card.to_json(), card.due, rating_value(score))


def top_section(section: str) -> str:
    """The top-level section of a subsection id.

    >>> top_section("6.12"), top_section("3"), top_section("")
    ('6', '3', '')
    """
    return section.split(".", 1)[0]


def mastery(latest: Iterable[tuple[str, float]], prior: int = PRIOR_ANSWERS) -> dict[str, Mastery]:
    """Per-section mastery from (section, latest score of one question) pairs: the sum of
    scores/10 over (answered + prior), i.e. the mean pulled towards 0 by `prior` imaginary failed
    answers, so it grows with evidence. Sections are taken as given (pass top-level ids to group).

    >>> m = mastery([("3", 10), ("3", 8), ("6", 10)])
    >>> round(m["3"].mastery, 3), m["3"].answered, m["3"].mean_score, m["6"].mastery
    (0.6, 2, 9.0, 0.5)
    """
    sums: dict[str, list[float]] = {}
    for section, score in latest:
        sums.setdefault(section, []).append(float(score))
    return {s: Mastery(s, sum(v) / 10.0 / (len(v) + prior), len(v), sum(v) / len(v))
            for s, v in sorted(sums.items())}


@dataclass(frozen=True)
class DueItem:
    question_id: str
    section: str
    due: datetime


def order_due(items: Sequence[DueItem], masteries: Mapping[str, Mastery], now: datetime,
              group=top_section) -> list[DueItem]:
    """The items due at `now`, weakest section first (by mastery of `group(section)`; a section
    with no mastery yet counts as 0), then the most overdue first.

    >>> from datetime import timezone
    >>> t = lambda d: datetime(2025, 1, d, tzinfo=timezone.utc)
    >>> items = [DueItem("a", "3.1", t(1)), DueItem("b", "6.4", t(2)), DueItem("c", "6.1", t(1)),
    ...          DueItem("d", "3.2", t(9))]
    >>> m = {"3": Mastery("3", 0.8, 4, 9.0), "6": Mastery("6", 0.2, 2, 3.0)}
    >>> [i.question_id for i in order_due(items, m, t(5))]
    ['c', 'b', 'a']
    """
    due = [i for i in items if i.due <= now]
    return sorted(due, key=lambda i: (masteries[g].mastery if (g := group(i.section)) in masteries else 0.0,
                                      i.due, i.question_id))
