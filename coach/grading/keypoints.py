"""Key points: the rubric items of a grade, cut from the roadmap's own bullets.

What it does: splits a chunk into points (a top-level bullet with its sub-bullets; when the
parent bullet is only a label like "**4-way teardown**:", each sub-bullet becomes its own point,
prefixed with the label), strips Markdown, and records each point's technical terms (backticked,
bold, acronyms). `select` keeps the points most similar to the question. The roadmap's bullets are
dense and factual, which is what makes them usable as a rubric without writing one by hand.

What it does not do: embed (the caller passes vectors) or judge an answer (`coach.grading.signals`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from coach.corpus.text import tokenize
from coach.types import Chunk

_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")
_LABEL_ONLY = re.compile(r"^\*\*([^*]+)\*\*\s*:?\s*$|^([^:]{1,60}):\s*$")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,}[a-z]?\b")
# Subsections that list questions or labs rather than state facts: never a source of key points.
NOT_CONTENT = re.compile(r"interview questions|hands-on labs|behavioral questions|design questions", re.I)
MAX_POINT_CHARS = 300  # a longer point is cut: it goes into every per-point prompt


@dataclass(frozen=True)
class KeyPoint:
    text: str  # plain text, e.g. "4-way teardown: Initiator sends FIN → enters FIN_WAIT_1"
    section: str
    chunk_id: str
    terms: tuple[str, ...] = ()  # backticked, bold and acronym spans, as written
    label: str = ""  # the bold lead ("Window scaling") or parent label, for follow-up questions
    core: bool = False  # an answer key's core fact (an answer cannot be strong without it)


def plain(md: str) -> str:
    """Markdown emphasis and code marks removed, whitespace collapsed.

    >>> plain("**TIME_WAIT** purpose: `2*MSL` wait")
    'TIME_WAIT purpose: 2*MSL wait'
    """
    text = _BOLD.sub(r"\1", md)
    text = _CODE.sub(r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links: keep the text
    return " ".join(text.split())


def terms_of(md: str) -> tuple[str, ...]:
    """Distinct technical terms of a Markdown line, in order.

    >>> terms_of("**Window scaling** (RFC 7323): `rwnd` up to 1 GB")
    ('Window scaling', 'rwnd', 'RFC', 'GB')
    """
    found = [*_BOLD.findall(md), *_CODE.findall(md), *_ACRONYM.findall(_CODE.sub(" ", md))]
    seen: dict[str, None] = {}
    for t in found:
        t = t.strip()
        if t:
            seen.setdefault(t, None)
    return tuple(seen)


def _label(md: str) -> str:
    m = _BOLD.match(md.strip())
    if m:
        return m.group(1).strip()
    head = md.split(":", 1)[0] if ":" in md[:60] else ""
    return plain(head)


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(top line, sub lines) for each top-level item; a paragraph or table row is its own block."""
    blocks: list[tuple[str, list[str]]] = []
    in_fence = False
    for line in text.splitlines():
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip() or re.match(r"^\s*\|?\s*:?-{3,}", line):
            continue
        m = _BULLET.match(line)
        if m and len(m.group(1)) >= 2 and blocks:
            blocks[-1][1].append(m.group(2).strip())
        elif m:
            blocks.append((m.group(2).strip(), []))
        else:
            body = line.strip().lstrip(">").strip()
            if body.startswith("|"):
                body = " — ".join(c.strip() for c in body.strip("|").split("|") if c.strip())
            if len(body.split()) >= 4:
                blocks.append((body, []))
    return blocks


def split_points(chunk: Chunk) -> list[KeyPoint]:
    """The chunk's rubric items (see the module docstring).

    >>> c = Chunk("c1", "3.1", "TCP", ("3.1 TCP",), "- **4-way teardown**:\\n  - Initiator sends `FIN`\\n"
    ...           "  - `TIME_WAIT` purpose: ensure delayed packets do not corrupt new connections\\n"
    ...           "- **Ports**: well-known (0–1023)", "r.md")
    >>> [p.text for p in split_points(c)]
    ['4-way teardown: Initiator sends FIN', '4-way teardown: TIME_WAIT purpose: ensure delayed packets do not corrupt new connections', 'Ports: well-known (0–1023)']
    >>> nested = Chunk("c2", "3.1", "TCP", ("3.1 TCP",), "- **Congestion control**:\\n  - **Algorithms**:\\n"
    ...                "    - **Reno**: classic, halve cwnd on loss", "r.md")
    >>> [p.text for p in split_points(nested)]
    ['Congestion control: Reno: classic, halve cwnd on loss']
    """
    out: list[KeyPoint] = []

    def add(md: str, label: str, prefix: str = "") -> None:
        text = (prefix + plain(md))[:MAX_POINT_CHARS].strip()
        if len(text.split()) >= 2:
            out.append(KeyPoint(text, chunk.section, chunk.id, terms_of(md), label))

    for top, subs in _blocks(chunk.text):
        m = _LABEL_ONLY.match(top)
        if m and subs:
            label = plain(m.group(1) or m.group(2))
            for sub in subs:
                if not _LABEL_ONLY.match(sub):  # "**Algorithms**:" says nothing; its items follow it
                    add(sub, _label(sub) or label, f"{label}: ")
        elif subs:
            add(top + " " + "; ".join(subs), _label(top))
        else:
            add(top, _label(top))
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Dot product of two unit vectors (the Embedder Protocol returns unit vectors).

    >>> round(cosine([0.6, 0.8], [1.0, 0.0]), 2)
    0.6
    """
    return float(sum(x * y for x, y in zip(a, b)))


def select(points: Sequence[KeyPoint], point_vecs: Sequence[Sequence[float]], question_vec: Sequence[float],
           n: int, *, question_tokens: Sequence[str] = (), lexical: float = 0.0, floor: float | None = None,
           min_points: int = 3) -> list[tuple[KeyPoint, float]]:
    """The `n` points most relevant to the question, most relevant first, duplicates (same text)
    dropped. Relevance is the cosine to the question plus `lexical` times the share of the
    question's tokens the point contains (MiniLM alone ranks a neighbouring bullet on the same
    topic as high as the one the question names). With `floor`, points scoring more than `floor`
    below the best are left out once `min_points` are in. Returns (point, relevance).

    >>> p = [KeyPoint("a b", "1", "c"), KeyPoint("c d", "1", "c"), KeyPoint("a b", "1", "d")]
    >>> [(k.text, s) for k, s in select(p, [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [0.8, 0.6], 2)]
    [('a b', 0.8), ('c d', 0.6)]
    >>> [(k.text, s) for k, s in select(p, [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [0.8, 0.6], 2,
    ...                                 question_tokens=["d"], lexical=0.5)]
    [('c d', 1.1), ('a b', 0.8)]
    >>> [k.text for k, _ in select(p, [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [0.8, 0.6], 2, floor=0.1, min_points=1)]
    ['a b']
    """
    q = set(question_tokens)

    def overlap(point: KeyPoint) -> float:
        return len(q & set(tokenize(point.text))) / len(q) if q and lexical else 0.0

    scored = [(p, cosine(v, question_vec) + lexical * overlap(p)) for p, v in zip(points, point_vecs)]
    ranked = sorted(scored, key=lambda t: -t[1])
    seen: set[str] = set()
    out: list[tuple[KeyPoint, float]] = []
    for p, s in ranked:
        if floor is not None and len(out) >= min_points and s < ranked[0][1] - floor:
            break
        key = p.text.lower()
        if key not in seen:
            seen.add(key)
            out.append((p, round(s, 6)))
        if len(out) == n:
            break
    return out
