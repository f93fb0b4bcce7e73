"""Heading-aware Markdown chunking, and extraction of the roadmap's sections, questions and labs.

What it does: splits a Markdown file along its headings; inside one heading it groups lines into
blocks (a top-level bullet with all its sub-bullets and code, a paragraph, a table, a quote) and
packs consecutive blocks into chunks of at most `max_tokens` estimated tokens (`estimate_tokens`). Every chunk keeps its section id
(`3.1` for `### 3.1 ...`, `3` for text under `## Section 3 — ...` before any `###`), the section
title and the heading path. A bullet is never separated from its sub-bullets: a block too big
for one chunk is cut between its sub-bullets, and each part repeats the parent bullet's line.

What it does not do: tokenise, embed, or read files (see `coach.corpus.loader`); it works on strings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from coach.types import Chunk, Lab, RoadmapQuestion, Section

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SECTION_TOP = re.compile(r"^Section\s+(\d+)\s*[—–:-]\s*(.+)$")  # "Section 3 — Networking"
_SECTION_NUM = re.compile(r"^(\d+(?:\.\d+)+)\.?\s+(.+)$")  # "3.1 TCP/IP Deep Dive"
_LEVEL = re.compile(r"^Level\s+(\d)\b")
_TOP_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CHECKBOX = re.compile(r"^[-*+]\s+\[[ xX]\]\s+(.+)$")
_QUESTION_HEADING = re.compile(r"questions\b", re.I)


@dataclass(frozen=True)
class ParsedDoc:
    sections: list[Section]
    chunks: list[Chunk]
    questions: list[RoadmapQuestion]
    labs: list[Lab]


@dataclass
class _Heading:
    depth: int
    text: str
    section_id: str | None  # set when the heading defines a section


def parse_heading(text: str) -> tuple[str | None, str]:
    """Section id and title of a heading text.

    >>> parse_heading("Section 3 — Networking")
    ('3', 'Networking')
    >>> parse_heading("3.1 TCP/IP Deep Dive")
    ('3.1', 'TCP/IP Deep Dive')
    >>> parse_heading("Level 1 — Intermediate")
    (None, 'Level 1 — Intermediate')
    """
    m = _SECTION_TOP.match(text)
    if m:
        return m.group(1), m.group(2).strip()
    m = _SECTION_NUM.match(text)
    if m:
        return m.group(1), m.group(2).strip()
    return None, text.strip()


def split_blocks(lines: list[str]) -> list[list[str]]:
    """Group the body lines of one heading into blocks that must not be split apart.

    A top-level list item owns every following line that is indented, blank-then-indented, or
    inside a code fence; a paragraph runs until a blank line; a table or quote is its run of lines.
    """
    blocks: list[list[str]] = []
    cur: list[str] = []
    in_fence = False
    kind = ""  # "item", "para", "table", "quote"

    def flush() -> None:
        nonlocal cur
        while cur and not cur[-1].strip():
            cur.pop()
        if cur:
            blocks.append(cur)
        cur = []

    for line in lines:
        if in_fence:
            cur.append(line)
            if _FENCE.match(line):
                in_fence = False
            continue
        if _FENCE.match(line):
            if not cur:
                kind = "para"
            cur.append(line)
            in_fence = True
            continue
        stripped = line.strip()
        if not stripped:
            if kind == "item":
                cur.append(line)  # a blank line inside a list item; trimmed if the item ends here
            else:
                flush()
            continue
        if stripped in {"---", "***", "___"}:
            flush()
            continue
        indented = line[:1] in {" ", "\t"}
        if _TOP_ITEM.match(line):
            flush()
            cur, kind = [line], "item"
        elif indented and kind == "item":
            cur.append(line)
        elif line.startswith("|"):
            if kind != "table":
                flush()
                kind = "table"
            cur.append(line)
        elif line.startswith(">"):
            if kind != "quote":
                flush()
                kind = "quote"
            cur.append(line)
        else:
            if kind not in {"para"} or (cur and not cur[-1].strip()):
                flush()
                kind = "para"
            cur.append(line)
    flush()
    return blocks


_TOKENISH = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Words plus punctuation marks: a cheap lower bound on BERT word pieces (measured on the
    roadmap: MiniLM's count is ~1.2x this, 1.34x at the 95th percentile; plain words are 2.1x).

    >>> estimate_tokens("`ss -tan` shows CLOSE_WAIT")
    7
    """
    return len(_TOKENISH.findall(text))


def _tokens(lines: list[str]) -> int:
    return sum(estimate_tokens(line) for line in lines)


def pack_blocks(blocks: list[list[str]], max_tokens: int) -> list[str]:
    """Pack consecutive blocks greedily into texts of at most `max_tokens` estimated tokens.

    A single block over the limit is cut between its sub-items; each part repeats the block's
    first line so that no sub-bullet loses its parent. A single line over the limit stays whole.
    """
    pieces: list[list[str]] = []
    for block in blocks:
        if _tokens(block) <= max_tokens or len(block) == 1:
            pieces.append(block)
            continue
        head, rest = block[0], block[1:]
        groups = _sub_groups(rest)
        part: list[str] = [head]
        for g in groups:
            if len(part) > 1 and _tokens(part) + _tokens(g) > max_tokens:
                pieces.append(part)
                part = [head]
            part.extend(g)
        pieces.append(part)

    texts: list[str] = []
    cur: list[str] = []
    for p in pieces:
        if cur and _tokens(cur) + _tokens(p) > max_tokens:
            texts.append("\n".join(cur))
            cur = []
        cur.extend(p)
    if cur:
        texts.append("\n".join(cur))
    return [t.strip("\n") for t in texts if t.strip()]


def _sub_groups(lines: list[str]) -> list[list[str]]:
    """Split an item's body into its direct sub-items, each with its own deeper lines and code."""
    if not lines:
        return []
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    base = min(indents) if indents else 0
    groups: list[list[str]] = []
    in_fence = False
    for line in lines:
        ind = len(line) - len(line.lstrip())
        starts = (not in_fence) and line.strip() and ind == base and _TOP_ITEM.match(line.strip())
        if starts or not groups:
            groups.append([line])
        else:
            groups[-1].append(line)
        if _FENCE.match(line):
            in_fence = not in_fence
    return groups


def chunk_id(source: str, path: str, text: str) -> str:
    """A stable id from content, so an unchanged chunk keeps its id (incremental indexing)."""
    return hashlib.sha1(f"{source}\x00{path}\x00{text}".encode()).hexdigest()[:16]


def parse_markdown(text: str, source: str, max_tokens: int, taken_ids: frozenset[str] = frozenset()) -> ParsedDoc:
    """Parse one Markdown document into sections, chunks, questions and labs.

    `taken_ids` are section ids already used by other files; a colliding id here is prefixed
    with the file's stem ("notes:3.1") so that sections stay unique across the corpus.
    """
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    sections: dict[str, Section] = {}
    chunks: list[Chunk] = []
    questions: list[RoadmapQuestion] = []
    labs: list[Lab] = []
    stack: list[_Heading] = []
    doc_title = stem
    body: list[str] = []
    seen_chunk_ids: set[str] = set()

    def current_section() -> tuple[str, str]:
        for h in reversed(stack):
            if h.section_id:
                return h.section_id, sections[h.section_id].title
        return stem, doc_title

    def current_level() -> int | None:
        for h in reversed(stack):
            m = _LEVEL.match(h.text)
            if m:
                return int(m.group(1))
        return None

    def emit() -> None:
        nonlocal body
        lines, body = body, []
        if not any(line.strip() for line in lines):
            return
        sec_id, sec_title = current_section()
        path = tuple(h.text for h in stack if h.depth > 1) or (doc_title,)
        blocks = split_blocks(lines)
        heading_text = next((h.text for h in reversed(stack) if h.section_id), "")
        top = sec_id.split(".")[0]
        if _QUESTION_HEADING.search(heading_text):
            for block in blocks:
                if _TOP_ITEM.match(block[0]):
                    q = _clean_item(" ".join(line.strip() for line in block))
                    n = len([x for x in questions if x.section == sec_id]) + 1
                    questions.append(RoadmapQuestion(f"{sec_id}#{n}", sec_id, n, q, top, source))
        for block in blocks:
            m = _CHECKBOX.match(block[0])
            if m:
                n = len([x for x in labs if x.section == sec_id]) + 1
                labs.append(Lab(f"{sec_id}#{n}", sec_id, n, m.group(1).strip(), top, source))
        level = current_level()
        for t in pack_blocks(blocks, max_tokens):
            cid = chunk_id(source, " > ".join(path), t)
            while cid in seen_chunk_ids:  # identical text twice under one heading
                cid = chunk_id(source, cid, t)
            seen_chunk_ids.add(cid)
            chunks.append(Chunk(cid, sec_id, sec_title, path, t, source, level))

    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if not m:
            body.append(line)
            continue
        emit()
        depth, htext = len(m.group(1)), m.group(2).strip()
        if depth == 1:
            doc_title = htext
            stack = []
            continue
        while stack and stack[-1].depth >= depth:
            stack.pop()
        sid, title = parse_heading(htext) if depth <= 3 else (None, htext)
        if sid is not None:
            if sid in taken_ids or sid in sections:
                sid = f"{stem}:{sid}"
            parent = next((h.section_id for h in reversed(stack) if h.section_id), None)
            sections[sid] = Section(sid, title, parent, source)
        stack.append(_Heading(depth, htext, sid))
    emit()
    return ParsedDoc(list(sections.values()), chunks, questions, labs)


def _clean_item(text: str) -> str:
    """'1. **Why** is `x`?' -> 'Why is `x`?' (list marker and bold markers removed)."""
    text = _TOP_ITEM.sub("", text.strip(), count=1)
    return re.sub(r"\*\*(.+?)\*\*", r"\1", text).strip()
