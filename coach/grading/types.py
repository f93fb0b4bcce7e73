"""What a grade is: the value the grader returns and every caller (CLI, interview, app, store) keeps.

A `Grade` holds the score card and how it was reached; it has no feedback. Feedback is text worded
after the card (`coach.grading.feedback`) and belongs to whoever shows or stores it (the interview
turn, the `coach grade` output), so a grade never changes once computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.grading.keypoints import KeyPoint
from coach.grading.scoring import AnswerSignals
from coach.types import Chunk, Citation


@dataclass(frozen=True)
class PointResult:
    """One rubric item and how the answer fared on it."""

    text: str
    section: str
    chunk_id: str
    label: str  # a short name of the point ("Window scaling"), for hints and follow-ups
    similarity: float
    terms: float
    llm: float | None  # the judge's P(yes), None when not asked
    credit: float  # 0-1


@dataclass(frozen=True)
class Grade:
    score: float  # 0-10, one decimal
    verdict: str  # one of scoring.VERDICTS
    covered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    citations: tuple[str, ...] = ()  # section ids of the reference passages, the key points' first
    sources: tuple[Citation, ...] = ()  # the passages shown under the card
    points: tuple[PointResult, ...] = ()
    signals: AnswerSignals | None = None
    reason: str = ""  # why a pre-check decided, or what capped the score
    note: str = ""  # e.g. the answer was truncated
    llm_calls: int = 0
    parse_failures: int = 0
    seconds: float = 0.0
    key: str = ""  # the question id of the answer key graded against ("" : the roadmap's passages)
    claimed: tuple[str, ...] = ()  # the key's misconceptions the answer claims

    def to_json(self, feedback: str) -> dict:
        """The `coach grade --json` contract (without the id)."""
        return {"score": self.score, "verdict": self.verdict, "covered": list(self.covered),
                "missing": list(self.missing), "feedback": feedback, "citations": list(self.citations)}

    def missing_points(self) -> list[PointResult]:
        """The rubric items the answer missed, most relevant first."""
        return [p for p in self.points if p.text in self.missing]


@dataclass(frozen=True)
class Rubric:
    """What grading an answer to one question needs before the answer: the reference passages and
    the key points chosen from them with their relevance, and the vectors of both."""

    chunks: tuple[Chunk, ...] = ()  # the reference passages
    points: tuple[tuple[KeyPoint, float], ...] = ()  # the key points chosen, with their relevance
    vectors: dict[str, list[float]] = field(default_factory=dict, compare=False)  # text -> unit vector

    @property
    def key_points(self) -> list[KeyPoint]:
        return [p for p, _ in self.points]
