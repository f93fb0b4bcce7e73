"""Reads the corpus directory: every Markdown file in it, `roadmap.md` first, parsed into one
`Corpus` (sections, chunks, questions, labs). The answer keys under `answers/` are read by
`coach.corpus.answer_keys`, not here. Pure apart from reading the files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from coach.corpus.answer_keys import AnswerKey, KeyFormatError, key_chunk, parse_keys
from coach.corpus.markdown import parse_markdown
from coach.errors import CoachError
from coach.types import Chunk, Lab, RoadmapQuestion, Section

PRIMARY = "roadmap.md"
KEYS_DIR = "answers"  # the answer keys (`coach.corpus.answer_keys`), not roadmap text


@dataclass(frozen=True)
class Corpus:
    sections: tuple[Section, ...]
    chunks: tuple[Chunk, ...]
    questions: tuple[RoadmapQuestion, ...]
    labs: tuple[Lab, ...]
    file_hashes: dict[str, str]  # relative path -> sha256 of its bytes
    keys: tuple[AnswerKey, ...] = ()  # the answer keys, in question order; their chunks are in `chunks`

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def key(self, question_id: str) -> AnswerKey | None:
        """The answer key of a roadmap question (its id, e.g. "3.17#2"), if it has one."""
        return next((k for k in self.keys if k.question_id == question_id), None)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Markdown files under `corpus_dir`, the primary roadmap first, then sorted by path."""
    if not corpus_dir.is_dir():
        raise CoachError(f"corpus directory not found: {corpus_dir} (set paths.corpus_dir in coach.toml)")
    files = sorted(p for p in corpus_dir.rglob("*.md")
                   if p.is_file() and p.relative_to(corpus_dir).parts[0] != KEYS_DIR)
    files.sort(key=lambda p: (p.relative_to(corpus_dir).as_posix() != PRIMARY, p.relative_to(corpus_dir).as_posix()))
    if not files:
        raise CoachError(f"no Markdown files in {corpus_dir}: add the roadmap (corpus/roadmap.md)")
    return files


def key_files(corpus_dir: Path) -> list[Path]:
    """The answer-key files, sorted (none is fine: grading then uses the roadmap's passages)."""
    return sorted(p for p in (corpus_dir / KEYS_DIR).glob("*.md") if p.is_file())


def file_hashes(corpus_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(corpus_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in corpus_files(corpus_dir) + key_files(corpus_dir)
    }


def load_corpus(corpus_dir: Path, max_tokens: int) -> Corpus:
    sections: list[Section] = []
    chunks: list[Chunk] = []
    questions: list[RoadmapQuestion] = []
    labs: list[Lab] = []
    hashes: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        raw = path.read_bytes()
        hashes[rel] = hashlib.sha256(raw).hexdigest()
        text = raw.decode("utf-8", errors="replace")
        doc = parse_markdown(text, rel, max_tokens, frozenset(s.id for s in sections))
        sections += doc.sections
        chunks += doc.chunks
        questions += doc.questions
        labs += doc.labs
    keys: list[AnswerKey] = []
    for path in key_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        raw = path.read_bytes()
        hashes[rel] = hashlib.sha256(raw).hexdigest()
        try:
            keys += parse_keys(raw.decode("utf-8", errors="replace"), rel)
        except KeyFormatError as e:
            raise CoachError(f"answer key file {e} (format: docs/answer-keys.md)") from e
    by_id = {s.id: s for s in sections}
    chunks += [key_chunk(k, by_id) for k in keys if k.section in by_id]
    return Corpus(tuple(sections), tuple(chunks), tuple(questions), tuple(labs), hashes, tuple(keys))
