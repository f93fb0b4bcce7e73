"""Progress from the stored turns: scores over time, per-section mastery, the due questions.

What it does: pure functions over `coach.session.store` values (turns, review states) that feed the
Progress tab, the "Review weak topics" mode and `coach history`. Only the latest grade of each
question counts for mastery, so answering a question better later raises it.

What it does not do: query the database or draw (the UI turns these rows into plots).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from coach.session.review import DueItem, Mastery, mastery, order_due, top_section
from coach.session.store import ReviewState, Turn
from coach.types import Question


@dataclass(frozen=True)
class ScorePoint:
    when: datetime
    score: float
    section: str  # top-level section
    session: str
    question: str


def latest_scores(turns: Iterable[Turn]) -> dict[str, tuple[str, float]]:
    """question id -> (section, score) of its most recent graded turn."""
    out: dict[str, tuple[str, float]] = {}
    for t in sorted(turns, key=lambda t: (t.created, t.session, t.n)):
        if t.grade is not None:
            out[t.question.id] = (t.question.section, t.grade.score)
    return out


def section_mastery(turns: Iterable[Turn], group=top_section) -> dict[str, Mastery]:
    """Mastery per section (top-level by default) from the latest grade of each question."""
    return mastery((group(section), score) for section, score in latest_scores(turns).values())


def score_points(turns: Iterable[Turn]) -> list[ScorePoint]:
    """One point per graded turn, oldest first."""
    return [ScorePoint(t.created, t.grade.score, top_section(t.question.section), t.session, t.question.text)
            for t in sorted(turns, key=lambda t: t.created) if t.grade is not None]


def due_questions(reviews: Sequence[ReviewState], turns: Iterable[Turn], now: datetime,
                  section: str | None = None) -> list[Question]:
    """The questions whose FSRS card is due at `now`, weakest section first, most overdue next;
    only those in `section` (and its subsections) when given."""
    by_id = {r.question.id: r for r in reviews
             if section is None or r.question.section == section or r.question.section.startswith(section + ".")}
    items = [DueItem(qid, r.question.section, r.due) for qid, r in by_id.items()]
    return [by_id[i.question_id].question for i in order_due(items, section_mastery(turns), now)]


def mastery_rows(masteries: Mapping[str, Mastery], titles: Mapping[str, str]) -> list[tuple[str, float, int]]:
    """(label, mastery 0..1, questions answered) per section, in section order, for a bar chart.

    >>> mastery_rows({"10": Mastery("10", 0.5, 1, 10.0), "3": Mastery("3", 0.25, 3, 3.3)}, {"3": "Networking"})
    [('3 Networking', 0.25, 3), ('10', 0.5, 1)]
    """
    def key(s: str) -> tuple:
        return tuple(int(p) if p.isdigit() else 10**6 for p in s.split("."))

    return [((f"{s} {titles[s]}" if s in titles else s), m.mastery, m.answered)
            for s, m in sorted(masteries.items(), key=lambda kv: key(kv[0]))]
