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
    kind: str = "roadmap"  # "roadmap" (the roadmap's text) or "key" (an answer key, corpus/answers/)

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


@dataclass(frozen=True)
class Citation:
    """A passage shown as the source of a grade or an explanation."""

    section: str
    heading_path: str  # "Section 3 — Networking > 3.1 TCP/IP Deep Dive > Level 1"
    text: str
    chunk_id: str = ""

    @classmethod
    def of(cls, chunk: Chunk) -> Citation:
        return cls(chunk.section, chunk.path_str, chunk.text, chunk.id)


@dataclass(frozen=True)
class Question:
    """An interview question as the bank holds it, the interview asks it and the store keeps it."""

    id: str  # "6.12#3" (the roadmap's), "gen-<hash>" (written by the LLM), "<id>/f1" (a follow-up)
    text: str
    section: str  # the section it is about, e.g. "6.10"
    level: int | None = None  # 0 basics, 1 intermediate, 2 advanced; None when unknown
    origin: str = ""  # "roadmap" | "generated" | "follow-up"
    topic: str = ""  # the top-level section
    chunk_ids: tuple[str, ...] = ()  # source passages (generated) or the mapped passage (roadmap)
    home: str = ""  # the roadmap's "Interview Questions" subsection that lists it

    def in_section(self, selected: str) -> bool:
        """Whether practising `selected` offers this question: its own section or the list it is in.

        >>> q = Question("6.12#3", "What is a PDB?", "6.10", 1, "roadmap", "6", (), "6.12")
        >>> q.in_section("6"), q.in_section("6.10"), q.in_section("6.12"), q.in_section("6.1")
        (True, True, True, False)
        """
        return _within(self.section, selected) or bool(self.home and _within(self.home, selected))


def _within(section_id: str, selected: str) -> bool:
    return section_id == selected or section_id.startswith(selected + ".")
