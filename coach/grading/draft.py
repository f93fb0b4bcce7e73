"""Answer keys drafted by the local LLM for questions no reviewed key covers.

A user's own question ("I was asked this yesterday") or a question the LLM wrote for the bank has
no reviewed key, and the roadmap's passages name topics rather than facts, so grading on them marks
a strong answer as missing everything. `KeyDrafter.draft` asks the model for a key in the reviewed
keys' shape (model answer, key facts most important first, misconceptions) from the question's best
roadmap passages and the two nearest reviewed keys, and caches it by question in the data dir: the
second grade of the same question costs what a keyed grade costs.

A draft is marked as such (`DRAFT_PREFIX` in its id; the card says so). Its misconceptions are kept
for the user to read but never cap a score: nobody reviewed them.

It does not grade (`coach.grading.grader`) or match reviewed keys (`coach.grading.keys`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from coach.corpus.answer_keys import AnswerKey, KeyFact
from coach.errors import ModelError
from coach.grading.keys import normalise
from coach.llm.chat import ChatModel, Message, complete_json
from coach.prompts import render
from coach.types import Chunk

DRAFT_PREFIX = "draft:"
MAX_TOKENS = 700  # the schema's caps add up to ~600 tokens: 400 cut some replies off
SCHEMA = {
    "type": "object",
    "properties": {
        "model_answer": {"type": "string", "maxLength": 600},
        "facts": {"type": "array", "minItems": 3, "maxItems": 4, "items": {"type": "string", "maxLength": 220}},
        "misconceptions": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 200}},
    },
    "required": ["model_answer", "facts", "misconceptions"],
}
CORE = 2  # the first facts (the model lists the most important first) are the core ones
NOTE_CHARS = 700  # per passage or key in the prompt


def draft_id(question: str) -> str:
    """The id of a question's drafted key: stable across runs and processes.

    >>> draft_id("What is TIME_WAIT?") == draft_id("what is time_wait")
    True
    """
    return DRAFT_PREFIX + hashlib.sha1(normalise(question).encode()).hexdigest()[:12]


def is_draft(question_id: str) -> bool:
    return question_id.startswith(DRAFT_PREFIX)


def notes(passages: Sequence[Chunk], keys: Sequence[Chunk]) -> str:
    """The reference notes of the prompt: the passages, then the nearby reviewed keys, each cut to
    `NOTE_CHARS` and labelled with its section.

    >>> from coach.types import Chunk
    >>> print(notes([Chunk("a", "3.1", "TCP", ("TCP",), "SYN, SYN-ACK, ACK.", "f")], []))
    [3.1] TCP: SYN, SYN-ACK, ACK.
    """
    lines = [f"[{c.section}] {c.title}: {' '.join(c.text.split())[:NOTE_CHARS]}" for c in passages]
    lines += [f"[{c.section}] Reviewed answer to a nearby question: {' '.join(c.text.split())[:NOTE_CHARS]}"
              for c in keys]
    return "\n\n".join(lines)


def parse(reply: dict, question: str, section: str) -> AnswerKey:
    """The key in a validated reply; ModelError when it says nothing usable."""
    facts = [" ".join(f.split()) for f in reply["facts"] if len(f.split()) >= 3]
    facts = list(dict.fromkeys(facts))
    answer = " ".join(reply["model_answer"].split())
    if len(facts) < 2 or len(answer.split()) < 8:
        raise ModelError("the drafted key has too few facts or no model answer")
    wrong = tuple(" ".join(m.split()) for m in reply["misconceptions"] if len(m.split()) >= 3)
    return AnswerKey(draft_id(question), section, question, answer,
                     tuple(KeyFact(f, i < CORE) for i, f in enumerate(facts)), wrong, source="drafted")


class KeyDrafter:
    """Drafts keys with `model` from the context `gather(question)` returns (passages, nearby keys,
    best first), cached in the JSON file at `path` (None: in memory only)."""

    def __init__(self, model: ChatModel, gather: Callable[[str], tuple[list[Chunk], list[Chunk]]],
                 path: Path | None) -> None:
        self.model = model
        self.gather = gather
        self.path = path
        self._lock = threading.Lock()
        self._cache: dict[str, dict] | None = None

    def cached(self, question: str) -> AnswerKey | None:
        with self._lock:
            row = self._rows().get(draft_id(question))
        return _key(row) if row else None

    def draft(self, question: str) -> AnswerKey:
        """The question's drafted key: from the cache, else written by the model now (ModelError
        when the model's reply is unusable)."""
        found = self.cached(question)
        if found is not None:
            return found
        passages, keys = self.gather(question)
        if not passages and not keys:
            raise ModelError("no passage to draft an answer key from")
        section = (passages or keys)[0].section
        messages = [Message("system", render("draft_key_system")),
                    Message("user", render("draft_key_user", notes=notes(passages, keys), question=question))]
        key = parse(complete_json(self.model, messages, SCHEMA, max_tokens=MAX_TOKENS), question, section)
        with self._lock:
            self._rows()[key.question_id] = _row(key)
            self._save()
        return key

    def _rows(self) -> dict[str, dict]:
        if self._cache is None:
            self._cache = {}
            if self.path is not None and self.path.is_file():
                try:
                    self._cache = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, json.JSONDecodeError):
                    self._cache = {}  # a damaged cache is only a cache: drafts are written again
        return self._cache

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self._rows(), f, indent=1, ensure_ascii=False)
        os.replace(tmp, self.path)


def _row(key: AnswerKey) -> dict:
    return {"question": key.question, "section": key.section, "model_answer": key.model_answer,
            "facts": [[f.text, f.core] for f in key.facts], "misconceptions": list(key.misconceptions)}


def _key(row: dict) -> AnswerKey:
    return AnswerKey(draft_id(row["question"]), row["section"], row["question"], row["model_answer"],
                     tuple(KeyFact(t, bool(c)) for t, c in row["facts"]), tuple(row["misconceptions"]),
                     source="drafted")
