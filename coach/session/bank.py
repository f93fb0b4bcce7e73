"""The question bank: the roadmap's own interview questions plus questions the LLM writes from
chunks at three levels (0 basics, 1 intermediate, 2 advanced).

What it does:
- the roadmap's questions keep their id ("6.12#3") and the subsection that lists them (`home`);
  each is also mapped, by retrieval, to the subsection it is about (`section`, e.g. 6.10 for "What
  is a PDB?"), so practising 6.10 offers it. Its level is that passage's "Level N" heading, else 1;
- generated questions carry their source chunk ids; duplicates are dropped by normalised text and by
  embedding similarity (>= `DUP_COSINE`) to every question already in the bank;
- everything is cached as JSON in `<data_dir>/bank/questions.json`, keyed by the corpus hashes, so
  the next question is ready instantly and generation happens once per chunk and level.

Section filters follow `coach.corpus.sections.in_section`: "6" covers 6.1 ... 6.13, the "Interview
Questions" subsection 6.12 included. It does not grade (`coach.grading.grader`) or talk to the user.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from coach.corpus.loader import Corpus
from coach.corpus.sections import in_section, resolve_section
from coach.errors import ModelError
from coach.grading.keypoints import NOT_CONTENT, cosine
from coach.llm.chat import ChatModel, Message, complete_json
from coach.prompts import render
from coach.types import Chunk, Question, Section

LEVELS = {0: "basics", 1: "intermediate", 2: "advanced"}
DUP_COSINE = 0.90  # two questions this similar (MiniLM) ask the same thing
_ASKS = re.compile(r"^(how|what|why|when|where|which|who|explain|describe|compare|walk|design|list|name|"
                   r"give|can|could|would|should|is|are|does|do|suppose|imagine|you|a |an |your|tell|outline|"
                   r"contrast|define|discuss|in what|under what)\b", re.I)
GEN_SCHEMA = {"type": "object", "required": ["questions"], "properties": {
    "questions": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 220}}}}


def questions_from(model: ChatModel, system: str, prompt: str, schema: dict = GEN_SCHEMA,
                   max_tokens: int = 200) -> list[str]:
    """Ask `model` for `{"questions": [...]}` (schema-constrained) and keep the usable ones,
    whitespace collapsed. Raises `ModelError` when the reply is unusable. Used for the bank's
    questions and for the reranker's synthetic search questions (scripts/gen_questions.py)."""
    reply = complete_json(model, [Message("system", system), Message("user", prompt)], schema, max_tokens=max_tokens)
    return [" ".join(t.split()) for t in reply.get("questions", []) if isinstance(t, str) and valid_question(t)]


def normalise(text: str) -> str:
    """Lower-case letters and digits only: the key for exact duplicates.

    >>> normalise("What is a PDB?  ") == normalise("what is a pdb")
    True
    """
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def valid_question(text: str) -> bool:
    """A generated line that reads as an interview question (not a fragment or a note).

    >>> valid_question("How does TIME_WAIT protect new connections?"), valid_question("See the passage.")
    (True, False)
    """
    t = text.strip()
    return 15 <= len(t) <= 220 and ("?" in t or bool(_ASKS.match(t))) and "passage" not in t.lower()


def _topic(section_id: str) -> str:
    return section_id.split(".")[0]


class QuestionBank:
    """Questions by section and level; `embed` (texts -> unit vectors) is used for deduplication."""

    def __init__(self, corpus: Corpus, path: Path | None, *, embed: Callable[[Sequence[str]], list] | None = None,
                 search: Callable[[str], Sequence[Chunk]] | None = None) -> None:
        self.corpus = corpus
        self.path = path
        self.embed = embed
        self.search = search  # question -> passages, for mapping the roadmap's questions to subsections
        self.key = hashlib.sha256(json.dumps(corpus.file_hashes, sort_keys=True).encode()).hexdigest()[:16]
        self.questions: list[Question] = []
        self._vecs: dict[str, list[float]] = {}
        if not self._load():
            self.questions = self._roadmap_questions()
            self.save()

    @classmethod
    def over(cls, corpus: Corpus, path: Path | None, retriever: Callable[[], Any]) -> QuestionBank:
        """The bank backed by a retriever (`coach.retrieval.retriever.Retriever`): its embedder deduplicates,
        its search maps the roadmap's questions. `retriever` is called only when one is needed (the
        cache must be rebuilt, or a question is generated), so a cached bank never loads a model.
        The search keeps the fused order (no reranking): the bank is built once, over ~300
        questions, and the question's section is what it needs from the top 30."""
        return cls(corpus, path, embed=lambda texts: retriever().embedder.embed(texts),
                   search=lambda text: [h.chunk for h in retriever().search(text, 30, rerank=False)])

    # -- sections ----------------------------------------------------------------------------------
    @property
    def sections(self) -> tuple[Section, ...]:
        return self.corpus.sections

    def resolve_section(self, text: str) -> Section:
        headings: dict[str, list[str]] = {}
        for c in self.corpus.chunks:
            for h in c.heading_path[2:]:
                if not h.startswith("Level "):
                    headings.setdefault(c.section, []).append(h)
        return resolve_section(text, self.corpus.sections, headings)

    # -- selection ---------------------------------------------------------------------------------
    def candidates(self, section: str | None = None, level: int | None = None) -> list[Question]:
        return [q for q in self.questions
                if (section is None or q.in_section(section)) and (level is None or q.level == level)]

    def pick(self, section: str | None = None, level: int | None = None, exclude: Sequence[str] = (),
             rng: random.Random | None = None) -> Question | None:
        """A question not in `exclude` (ids or texts), the roadmap's own first, at random among
        equals; None when the filter has none left."""
        rng = rng or random.Random()
        seen = set(exclude)
        fresh = [q for q in self.candidates(section, level) if q.id not in seen and q.text not in seen]
        if not fresh:
            return None
        own = [q for q in fresh if q.origin == "roadmap"]
        return rng.choice(own or fresh)

    # -- generation --------------------------------------------------------------------------------
    def source_chunks(self, section: str | None, level: int | None) -> list[Chunk]:
        """Content passages of the section; at `level` when the section has "Level N" headings."""
        pool = [c for c in self.corpus.chunks if not NOT_CONTENT.search(c.title)
                and (section is None or in_section(c.section, section))]
        at_level = [c for c in pool if level is not None and c.level == level]
        return at_level or pool

    def generate(self, model: ChatModel, section: str | None, level: int, *, n: int = 1,
                 rng: random.Random | None = None, max_chunks: int = 3) -> list[Question]:
        """Write questions from up to `max_chunks` passages not yet used at this level, until `n`
        new ones are in the bank. Saves the bank. Returns the new questions."""
        rng = rng or random.Random()
        used = {(cid, q.level) for q in self.questions if q.origin == "generated" for cid in q.chunk_ids}
        pool = [c for c in self.source_chunks(section, level) if (c.id, level) not in used]
        rng.shuffle(pool)
        added: list[Question] = []
        for chunk in pool[:max_chunks]:
            for text in self._ask(model, chunk, level):
                q = Question(f"gen-{hashlib.sha256((chunk.id + text).encode()).hexdigest()[:10]}", text,
                             chunk.section, level, "generated", _topic(chunk.section), (chunk.id,))
                if not self.is_duplicate(text):
                    self.questions.append(q)
                    added.append(q)
            if len(added) >= n:
                break
        self.save()
        return added

    def _ask(self, model: ChatModel, chunk: Chunk, level: int) -> list[str]:
        prompt = render("question_gen", level=LEVELS[level], section=f"{chunk.section} {chunk.title}",
                        passage=chunk.text[:1500])
        try:
            return questions_from(model, "You write technical interview questions. Reply with JSON only.", prompt)
        except ModelError:
            return []  # an unusable reply costs one passage, not the session

    def lookup(self, q: Question) -> Question:
        """The bank's own copy of a stored question (with its passages); a follow-up or a question
        since regenerated stays as stored, a plain question on its section."""
        found = next((x for x in self.questions if x.id == q.id), None)
        if found is not None:
            return found
        return Question(q.id, q.text, q.section, q.level if q.level is not None else 1, q.origin or "roadmap",
                        q.topic or q.section.split(".")[0], q.chunk_ids, q.home)

    def is_duplicate(self, text: str) -> bool:
        key = normalise(text)
        if any(normalise(q.text) == key for q in self.questions):
            return True
        if self.embed is None:
            return False
        texts = [q.text for q in self.questions]
        missing = [t for t in texts if t not in self._vecs]
        if missing:
            self._vecs.update(zip(missing, self.embed(missing)))
        vec = self.embed([text])[0]
        self._vecs[text] = vec
        return any(cosine(vec, self._vecs[t]) >= DUP_COSINE for t in texts)

    # -- the roadmap's questions and the cache ----------------------------------------------------
    def _roadmap_questions(self) -> list[Question]:
        out = []
        for rq in self.corpus.questions:
            section, level, chunk_ids = rq.section, 1, ()
            if self.search is not None:
                about = next((c for c in self.search(rq.text) if _topic(c.section) == rq.topic
                              and not NOT_CONTENT.search(c.title)), None)
                if about is not None:
                    section, chunk_ids = about.section, (about.id,)
                    level = about.level if about.level is not None else 1
            out.append(Question(rq.id, rq.text, section, level, "roadmap", rq.topic, chunk_ids, rq.section))
        return out

    def _load(self) -> bool:
        if self.path is None or not self.path.is_file():
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("corpus") != self.key or data.get("mapped") != (self.search is not None):
                return False
            self.questions = [Question(**{**q, "chunk_ids": tuple(q["chunk_ids"])}) for q in data["questions"]]
        except (ValueError, KeyError, TypeError):
            return False  # a damaged cache is rebuilt, never fatal
        return True

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"corpus": self.key, "mapped": self.search is not None,
                                   "questions": [asdict(q) for q in self.questions]}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def bank_path(data_dir: Path) -> Path:
    return data_dir / "bank" / "questions.json"


class BankView:
    """The shared bank as one interview sees it: `queue` is asked first, in order (a resumed
    session's pending question; the due questions of a review); with `more=False` nothing else.
    Generation, which writes the shared cache, runs one interview at a time (`lock`)."""

    def __init__(self, bank: QuestionBank, lock: threading.Lock, queue: Sequence[Question] = (),
                 more: bool = True) -> None:
        self.bank, self.lock, self.more = bank, lock, more
        self.queue = [bank.lookup(q) for q in queue]

    def pick(self, section: str | None = None, level: int | None = None, exclude: Sequence[str] = (),
             rng: random.Random | None = None) -> Question | None:
        seen = set(exclude)
        for q in self.queue:
            if q.id not in seen and q.text not in seen:
                return q
        return self.bank.pick(section, level, exclude, rng) if self.more else None

    def candidates(self, section: str | None = None, level: int | None = None) -> list[Question]:
        return list(self.queue) + (self.bank.candidates(section, level) if self.more else [])

    def generate(self, *args: Any, **kw: Any) -> list[Question]:
        with self.lock:
            return self.bank.generate(*args, **kw)
