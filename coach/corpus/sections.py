"""Resolving what the user typed ("6.4", "section 6", "kubernetes networking") to a roadmap section.

What it does: an id matches exactly ("6.4", "6.4.", "Section 6"); a name matches when every
content word of it is found (exactly, as a prefix of 4+ letters, or within a small typo distance)
in the section's title or its parent's title, so "kubernetes networking" finds 6.4 "Networking —
CNI Deep Dive" under "Kubernetes". Ties go to the section whose own title is closest to the words
typed. Anything else raises `UnknownSectionError` listing the nearest sections first.

What it does not do: pick questions (`coach.session.bank`) or load the corpus. Pure functions over
`Section` tuples.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence

from coach.corpus.text import tokenize
from coach.errors import UnknownSectionError
from coach.types import Section

_ID = re.compile(r"^(?:section\s*|§\s*)?(\d+(?:\.\d+)*)\.?$", re.I)
_ALIASES = {"k8s": "kubernetes", "kube": "kubernetes", "tf": "terraform", "o11y": "observability",
            "cicd": "ci/cd", "ci": "ci/cd", "llm": "llmops", "ml": "ai", "db": "database", "sre": "reliability"}
NEAREST = 8  # how many near matches an unknown-section message lists first


def in_section(section_id: str, selected: str) -> bool:
    """True when `section_id` is `selected` or one of its subsections. The "Interview Questions"
    subsection 6.12 belongs to section 6.

    >>> in_section("6.12", "6"), in_section("6.4", "6.4"), in_section("16.1", "6")
    (True, True, False)
    """
    return section_id == selected or section_id.startswith(selected + ".")


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower()
    return [_ALIASES.get(w, w) for w in tokenize(text) if w not in ("section", "deep", "dive")]


def _word_match(q: str, words: Sequence[str]) -> bool:
    if q in words:
        return True
    for w in words:
        if len(q) >= 4 and w.startswith(q):
            return True
        if len(q) >= 5 and difflib.SequenceMatcher(None, q, w).ratio() >= 0.85:
            return True
    return False


def _titles(sec: Section, by_id: dict[str, Section]) -> tuple[list[str], list[str]]:
    parent = by_id.get(sec.parent) if sec.parent else None
    return _words(sec.title), _words(parent.title) if parent else []


def name_score(query: str, sec: Section, by_id: dict[str, Section]) -> tuple[float, float]:
    """(share of the query's words found in the section's or its parent's title, closeness of
    the section's own title to the query). A name resolves only when the first is 1.0."""
    words = _words(query)
    own, ctx = _titles(sec, by_id)
    if not words:
        return 0.0, 0.0
    found = sum(_word_match(w, own + ctx) for w in words)
    closeness = difflib.SequenceMatcher(None, " ".join(words), " ".join(own)).ratio()
    return found / len(words), closeness


def resolve_section(text: str, sections: Sequence[Section],
                    headings: Mapping[str, Sequence[str]] | None = None) -> Section:
    """The section meant by `text`; UnknownSectionError (exit code 2) listing the nearest ones.

    `headings` (section id -> the texts of the headings below it, e.g. "Prometheus") is a fallback
    for names that are in no section title: the section with the most such headings matching
    every word wins.
    """
    raw = unicodedata.normalize("NFC", str(text or "")).strip()
    by_id = {s.id: s for s in sections}
    m = _ID.match(raw)
    if m and m.group(1) in by_id:
        return by_id[m.group(1)]
    if raw and not m:
        scored = [(name_score(raw, s, by_id), s) for s in sections]
        # closest own title first, with a small edge for a top-level section ("observability" is
        # section 10 "Monitoring and Observability" more than 23.4 "Expert Observability")
        full = [(closeness + (0.1 if s.parent is None else 0.0), -len(s.id.split(".")), s)
                for (cov, closeness), s in scored if cov == 1.0]
        if full:
            return max(full, key=lambda t: (round(t[0], 6), t[1]))[2]
        words = _words(raw)
        counts = {sid: sum(all(_word_match(w, _words(h)) for w in words) for h in hs)
                  for sid, hs in (headings or {}).items() if sid in by_id and words}
        best = max(counts, key=lambda sid: counts[sid], default=None)
        if best is not None and counts[best] > 0:
            return by_id[best]
    raise UnknownSectionError(unknown_message(raw, sections))


def nearest(text: str, sections: Sequence[Section], n: int = NEAREST) -> list[Section]:
    """The sections most like `text`, nearest first (ids by numeric closeness, names by words
    and spelling)."""
    by_id = {s.id: s for s in sections}
    m = _ID.match(text.strip())
    if m:
        want = [int(x) for x in m.group(1).split(".")]

        def id_key(s: Section) -> tuple:
            have = [int(x) for x in s.id.split(".")]
            return (have[0] != want[0], abs(have[0] - want[0]),
                    abs((have[1] if len(have) > 1 else 0) - (want[1] if len(want) > 1 else 0)), len(have))

        return sorted(sections, key=id_key)[:n]

    def key(s: Section) -> float:
        cov, _ = name_score(text, s, by_id)
        own, ctx = _titles(s, by_id)
        spelling = difflib.SequenceMatcher(None, text.lower(), " ".join(ctx + own)).ratio()
        return -(cov + spelling)

    return sorted(sections, key=key)[:n]


def unknown_message(text: str, sections: Sequence[Section]) -> str:
    near = nearest(text, sections) if text else []
    tops = [s for s in sections if s.parent is None]
    shown = ", ".join(f"{s.id} {s.title}" for s in near)
    listing = ", ".join(f"{s.id} {s.title}" for s in tops)
    head = f"unknown section {text!r}" if text else "no section given"
    return (f"{head}: nearest: {shown}; all sections: {listing} "
            f'(give an id like 6.4 or a name like "kubernetes networking"; "coach sections" lists every subsection)'
            if near else f'{head}: valid sections: {listing} ("coach sections" lists every subsection)')
