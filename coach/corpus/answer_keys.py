"""Answer keys: the reviewed model answer, key facts and misconceptions for a roadmap question.

What it does: parses the Markdown files in `corpus/answers/` (format: docs/answer-keys.md) into
`AnswerKey` values, and lints them (`lint`): every listed question has exactly one key, with
counts and lengths in range. Pure apart from reading files.

`key_chunk` turns a key into the chunk that is indexed with the roadmap (kind "key", under the
subsection the question is about), so explanations can be grounded in it and cite that section.

What it does not do: match a typed question to a key (`coach.grading.keys`).

Run it on a file or folder while writing keys:

    python -m coach.answer_keys corpus/answers [--questions questions.json]
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from coach.types import Chunk, Section

ANSWER_WORDS = (60, 180)  # a model answer's length in words
FACTS = (3, 6)
MISCONCEPTIONS = (1, 3)
FACT_WORDS = (3, 45)

_HEAD = re.compile(r"^## +(?P<qid>\d+\.\d+#\d+) +\[(?P<section>\d+(?:\.\d+)*)\] *$")
_FIELD = re.compile(r"^\*\*(?P<name>Question|Model answer|Key facts|Misconceptions):\*\* *(?P<rest>.*)$")
_CORE = re.compile(r"^\(core\) +", re.I)


class KeyFormatError(ValueError):
    """A key file that does not follow docs/answer-keys.md; the message names file and line."""


@dataclass(frozen=True)
class KeyFact:
    text: str
    core: bool


@dataclass(frozen=True)
class AnswerKey:
    """The key for one roadmap question."""

    question_id: str  # "3.17#2": the id `coach questions` lists
    section: str  # the subsection the question is about, e.g. "3.1"
    question: str  # verbatim
    model_answer: str
    facts: tuple[KeyFact, ...]
    misconceptions: tuple[str, ...]
    source: str = ""  # file, relative to the corpus dir
    line: int = 0

    @property
    def core_facts(self) -> tuple[KeyFact, ...]:
        return tuple(f for f in self.facts if f.core)


def key_heading(question_id: str) -> str:
    """The last heading of a key's chunk: how the chunk of a question's key is found."""
    return f"Answer key {question_id}"


def key_chunk(key: AnswerKey, sections: Mapping[str, Section]) -> Chunk:
    """The indexed form of a key: the question and its model answer, under its subsection's heading
    path plus "Answer key"; the id is a hash of the text, like a roadmap chunk's."""
    import hashlib

    sec = sections[key.section]
    path = [f"{sec.id} {sec.title}"]
    parent = sections.get(sec.parent) if sec.parent else None
    if parent is not None:
        path.insert(0, f"Section {parent.id} — {parent.title}")
    text = f"Q: {key.question}\n{key.model_answer}"
    heading = (*path, key_heading(key.question_id))
    cid = hashlib.sha1(f"{key.source}\x00{' > '.join(heading)}\x00{text}".encode()).hexdigest()[:16]
    return Chunk(cid, sec.id, sec.title, heading, text, key.source, None, "key")


def words(text: str) -> int:
    """
    >>> words("SYN, SYN-ACK, ACK: the 3-way handshake.")
    6
    """
    return len(text.split())


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def parse_keys(text: str, source: str = "") -> list[AnswerKey]:
    """Every key in one Markdown file. Text before the first `## ` heading is free prose.

    >>> doc = '''# Keys
    ... ## 3.17#2 [3.1]
    ... **Question:** Why does TIME_WAIT exist?
    ...
    ... **Model answer:**
    ... It lasts 2*MSL.
    ...
    ... **Key facts:**
    ... - (core) TIME_WAIT lasts twice the maximum segment lifetime.
    ... - The side that closes first enters it.
    ...
    ... **Misconceptions:**
    ... - The server always enters TIME_WAIT.
    ... '''
    >>> k = parse_keys(doc)[0]
    >>> k.question_id, k.section, k.model_answer, [f.core for f in k.facts], k.misconceptions
    ('3.17#2', '3.1', 'It lasts 2*MSL.', [True, False], ('The server always enters TIME_WAIT.',))
    """
    keys: list[AnswerKey] = []
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        keys.append(_parse_one(lines[start:end], start + 1, source))
    return keys


def _parse_one(block: list[str], line_no: int, source: str) -> AnswerKey:
    where = f"{source or '<text>'}:{line_no}"
    head = _HEAD.match(block[0].rstrip())
    if not head:
        raise KeyFormatError(f"{where}: a key starts with '## <question id> [<section id>]', "
                             f"e.g. '## 3.17#2 [3.1]'; got {block[0]!r}")
    fields: dict[str, list[str]] = {}
    current = None
    for line in block[1:]:
        m = _FIELD.match(line.strip())
        if m:
            current = m.group("name")
            if current in fields:
                raise KeyFormatError(f"{where}: '{current}' appears twice in key {head.group('qid')}")
            fields[current] = [m.group("rest")] if m.group("rest") else []
        elif current is not None:
            fields[current].append(line)
        elif line.strip():
            raise KeyFormatError(f"{where}: text before '**Question:**' in key {head.group('qid')}: {line!r}")
    missing = [f for f in ("Question", "Model answer", "Key facts", "Misconceptions") if f not in fields]
    if missing:
        raise KeyFormatError(f"{where}: key {head.group('qid')} lacks {', '.join(missing)}")
    facts = [_CORE.sub("", b) for b in _bullets(fields["Key facts"], where)]
    cores = [bool(_CORE.match(b)) for b in _bullets(fields["Key facts"], where)]
    return AnswerKey(
        question_id=head.group("qid"),
        section=head.group("section"),
        question=" ".join(" ".join(fields["Question"]).split()),
        model_answer="\n\n".join(_paragraphs(fields["Model answer"])),
        facts=tuple(KeyFact(t, c) for t, c in zip(facts, cores)),
        misconceptions=tuple(_bullets(fields["Misconceptions"], where)),
        source=source,
        line=line_no,
    )


def _paragraphs(lines: list[str]) -> list[str]:
    paras, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line.strip())
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return paras


def _bullets(lines: list[str], where: str) -> list[str]:
    items: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
        else:
            raise KeyFormatError(f"{where}: expected a '- ' bullet, got {line!r}")
    return items


def load_keys(path: Path) -> list[AnswerKey]:
    """Keys from one file or every `*.md` in a folder (sorted), `source` relative to the folder."""
    if path.is_file():
        return parse_keys(path.read_text(encoding="utf-8"), path.name)
    keys: list[AnswerKey] = []
    for f in sorted(path.glob("*.md")):
        keys += parse_keys(f.read_text(encoding="utf-8"), f.name)
    return keys


def lint(keys: Iterable[AnswerKey], questions: Mapping[str, str] | None = None,
         section_ids: Iterable[str] | None = None) -> list[str]:
    """Problems found, one line each (empty: all good). `questions` maps every listed question id
    to its text; given, each must have exactly one key with that text verbatim."""
    problems: list[str] = []
    keys = list(keys)
    known = set(section_ids) if section_ids is not None else None
    seen: dict[str, AnswerKey] = {}
    all_facts: dict[str, str] = {}
    for k in keys:
        at = f"{k.source}:{k.line} {k.question_id}"
        if k.question_id in seen:
            problems.append(f"{at}: a second key for this question (first at line {seen[k.question_id].line})")
        seen[k.question_id] = k
        if questions is not None:
            if k.question_id not in questions:
                problems.append(f"{at}: no such question in `coach questions`")
            elif questions[k.question_id] != k.question:
                problems.append(f"{at}: question text is not verbatim: {questions[k.question_id]!r}")
        if known is not None and k.section not in known:
            problems.append(f"{at}: section [{k.section}] does not exist")
        n = words(k.model_answer)
        if not ANSWER_WORDS[0] <= n <= ANSWER_WORDS[1]:
            problems.append(f"{at}: model answer has {n} words (want {ANSWER_WORDS[0]}-{ANSWER_WORDS[1]})")
        if not FACTS[0] <= len(k.facts) <= FACTS[1]:
            problems.append(f"{at}: {len(k.facts)} key facts (want {FACTS[0]}-{FACTS[1]})")
        if not k.core_facts:
            problems.append(f"{at}: no fact is marked (core)")
        flags = [f.core for f in k.facts]
        if flags != sorted(flags, reverse=True):
            problems.append(f"{at}: core facts must come first")
        if not MISCONCEPTIONS[0] <= len(k.misconceptions) <= MISCONCEPTIONS[1]:
            problems.append(f"{at}: {len(k.misconceptions)} misconceptions "
                            f"(want {MISCONCEPTIONS[0]}-{MISCONCEPTIONS[1]})")
        for f in k.facts:
            if not FACT_WORDS[0] <= words(f.text) <= FACT_WORDS[1]:
                problems.append(f"{at}: fact of {words(f.text)} words (want {FACT_WORDS[0]}-{FACT_WORDS[1]}): "
                                f"{f.text[:60]!r}")
            norm = _norm(f.text)
            if norm in all_facts:
                problems.append(f"{at}: duplicate fact (also in {all_facts[norm]}): {f.text[:60]!r}")
            all_facts[norm] = k.question_id
        for m in k.misconceptions:
            if _norm(m) in {_norm(f.text) for f in k.facts}:
                problems.append(f"{at}: a misconception repeats a key fact: {m[:60]!r}")
    if questions is not None:
        for qid in questions:
            if qid not in seen:
                problems.append(f"{qid}: no key")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    questions = None
    if "--questions" in args:
        i = args.index("--questions")
        rows = json.loads(Path(args[i + 1]).read_text(encoding="utf-8"))
        questions = {r["id"]: r["text"] for r in rows}
        del args[i:i + 2]
    keys: list[AnswerKey] = []
    try:
        for a in args or ["corpus/answers"]:
            keys += load_keys(Path(a))
    except KeyFormatError as e:
        print(e, file=sys.stderr)
        return 1
    if questions is not None:
        present = {k.question_id.split("#")[0].split(".")[0] for k in keys}
        questions = {q: t for q, t in questions.items() if q.split(".")[0] in present}
    problems = lint(keys, questions)
    for p in problems:
        print(p)
    print(f"{len(keys)} keys, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
