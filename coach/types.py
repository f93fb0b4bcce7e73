"""Value objects passed between pipeline stages. Frozen dataclasses, no raw dicts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A heading with an id: `## Section 3 — Networking` is "3", `### 3.1 TCP/IP Deep Dive` is "3.1"."""

    id: str
    title: str
    parent: str | None = None  # "3" for "3.1"; None for a top-level section
    source: str = ""  # corpus file (relative path)


@dataclass(frozen=True)
class Chunk:
    """A bounded piece of one heading's text. `text` is the chunk's own text; the heading path is
    prepended (see `contextual_text`) for what BM25 and the embedder see."""

    id: str
    section: str
    title: str  # the section's title, e.g. "TCP/IP Deep Dive"
    heading_path: tuple[str, ...]
    text: str
    source: str  # corpus file (relative path)
    level: int | None = None  # 0/1/2 when under a "Level N" heading

    @property
    def path_str(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def contextual_text(self) -> str:
        return f"{self.path_str}\n{self.text}"


@dataclass(frozen=True)
class Hit:
    """A chunk with the score of the stage that produced it (higher is better)."""

    chunk: Chunk
    score: float
    scores: dict[str, float] = field(default_factory=dict, compare=False)  # per-stage, for debugging


@dataclass(frozen=True)
class RoadmapQuestion:
    """An interview question the roadmap itself asks."""

    id: str  # e.g. "3.17#2"
    section: str  # the "Interview Questions" subsection it sits in, e.g. "3.17"
    number: int  # 1-based position within that subsection
    text: str
    topic: str  # the top-level section, e.g. "3"
    source: str = ""


@dataclass(frozen=True)
class Lab:
    id: str  # e.g. "2.12#3"
    section: str
    number: int
    text: str
    topic: str
    source: str = ""
