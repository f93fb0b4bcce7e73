"""`coach ask`: a grounded explanation from the roadmap, citing section ids like [3.1], or a polite
decline when the roadmap does not cover the question.

Scope is decided mostly without the LLM (`scope`): the best dense cosine between the question and
any passage, and the share of the question's words the roadmap uses at all. Below the `decline`
thresholds the question is declined with no model call; otherwise the LLM answers from the most
relevant bullets of the top passages (a short prompt: prompt length is the latency here) and may
still reply NOT IN ROADMAP, the second check. Citations are kept only when they name a section
that was retrieved, both in the streamed text (`CitationFilter`) and in the result.

It does not grade answers (`coach.grading`) or hold a conversation (`coach.interview`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from coach.keypoints import NOT_CONTENT, KeyPoint, select, split_points
from coach.llm import ChatModel, Message
from coach.prompts import render
from coach.query import needs_context, resolve
from coach.retrieve import Retriever
from coach.sanitize import MAX_QUESTION_CHARS, clean
from coach.text import tokenize
from coach.types import Hit

DECLINE_TEXT = ("That is outside what the roadmap covers, so I can't answer it from the study material. "
                "Ask me about a roadmap topic instead, e.g. TCP TIME_WAIT, Kubernetes networking or Terraform state.")
NOT_COVERED = "NOT IN ROADMAP"
_CITE = re.compile(r"\[(\d+(?:\.\d+)*)\]")
ANSWER_TOKENS = 220
CONTEXT_CHARS = 300


@dataclass(frozen=True)
class Scope:
    dense: float  # best cosine of the question with any passage
    known: float  # share of the question's content words found in the roadmap's vocabulary
    verdict: str  # "in" | "out"


@dataclass(frozen=True)
class Thresholds:
    # Measured on evals/ask_dev.jsonl (in-scope vs out-of-scope questions; BENCHMARKS.md): below
    # `dense_out` nothing the roadmap says is close; `known_out` catches questions whose words the
    # roadmap never uses (CSS, medicine, poems) even when MiniLM finds a vague match.
    dense_out: float = 0.30
    known_out: float = 0.50
    dense_sure: float = 0.45  # at or above this the vocabulary test is skipped


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: tuple[str, ...]
    declined: bool
    scope: Scope | None = None

    def to_json(self) -> dict:
        return {"answer": self.answer, "citations": list(self.citations), "declined": self.declined}


def decide(dense: float, known: float, t: Thresholds = Thresholds()) -> str:
    """"in" or "out" of the roadmap's scope.

    >>> decide(0.62, 0.2), decide(0.35, 0.9), decide(0.35, 0.3), decide(0.1, 1.0)
    ('in', 'in', 'out', 'out')
    """
    if dense >= t.dense_sure:
        return "in"
    if dense < t.dense_out or known < t.known_out:
        return "out"
    return "in"


class CitationFilter:
    """Streams text through, holding back a "[...]" until it closes, and drops citations of
    sections that were not retrieved; records the valid ones in order.

    >>> f = CitationFilter({"3.1"})
    >>> _tidy("".join(f.feed(p) for p in ["TIME_WAIT [3", ".1] lasts [9.9]", " 2 MSL."]) + f.close())
    'TIME_WAIT [3.1] lasts 2 MSL.'
    >>> f.cited
    ['3.1']
    """

    def __init__(self, valid: set[str]) -> None:
        self.valid = valid
        self.cited: list[str] = []
        self._held = ""

    def feed(self, piece: str) -> str:
        out = []
        for ch in piece:
            if self._held:
                self._held += ch
                if ch == "]":
                    out.append(self._resolve(self._held))
                    self._held = ""
                elif len(self._held) > 12:
                    out.append(self._held)
                    self._held = ""
            elif ch == "[":
                self._held = ch
            else:
                out.append(ch)
        return "".join(out)

    def close(self) -> str:
        held, self._held = self._held, ""
        return held

    def _resolve(self, bracket: str) -> str:
        m = _CITE.fullmatch(bracket)
        if not m:
            return bracket
        if m.group(1) in self.valid:
            if m.group(1) not in self.cited:
                self.cited.append(m.group(1))
            return bracket
        return ""  # a section that was not retrieved: the model made it up


def _tidy(text: str) -> str:
    """Spaces left by dropped citations removed.

    >>> _tidy("lasts  2 MSL [3.1] .")
    'lasts 2 MSL [3.1].'
    """
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]+([.,;:])", r"\1", text).strip()


class AnswerStream:
    """Iterate for the text pieces; `result` holds the `Answer` once the iteration is done."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.result: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces


class Explainer:
    def __init__(self, retriever: Retriever, model: ChatModel | None, *, k: int = 4, n_points: int = 8,
                 thresholds: Thresholds = Thresholds()) -> None:
        self.retriever = retriever
        self.model = model
        self.k = k
        self.n_points = n_points
        self.t = thresholds
        self._vocab: set[str] | None = None  # the roadmap's tokens, built on first use

    def _known(self, text: str) -> float:
        words = {w for w in tokenize(text) if not w.isdigit()}
        if not words:
            return 0.0
        vocab = self._vocab
        if vocab is None:
            vocab = self._vocab = {t for c in self.retriever.chunks.values() for t in tokenize(c.contextual_text)}
        return len(words & vocab) / len(words)

    def scope(self, question: str, context: str | None = None) -> Scope:
        """In or out of scope. The previous turn counts only for a question that cannot stand
        alone ("and how do I tune that?"): it does not make a question about CSS a roadmap one."""
        if context and needs_context(question):
            question = resolve(question, context)
        best = self.retriever.search(question, 1, mode="dense", rerank=False)
        dense = float(best[0].scores.get("dense", best[0].score)) if best else 0.0
        known = self._known(question)
        return Scope(round(dense, 4), round(known, 4), decide(dense, known, self.t))

    def passages(self, question: str, context: str | None) -> tuple[list[Hit], list[KeyPoint]]:
        found = self.retriever.search(question, 3 * self.k, context=context or None)
        # the roadmap's question and lab lists hold no answers (and would be cited for echoing them)
        hits = ([h for h in found if not NOT_CONTENT.search(h.chunk.title)] or found)[: self.k]
        points = [p for h in hits for p in split_points(h.chunk)]
        if not points:
            return hits, []
        emb = self.retriever.embedder
        qvec = emb.embed([question], query=True)[0]
        chosen = select(points, emb.embed([p.text for p in points]), qvec, self.n_points)
        return hits, [p for p, _ in chosen]

    def stream(self, question: object, context: object = None) -> AnswerStream:
        q = clean(question, MAX_QUESTION_CHARS).text
        ctx = clean(context, CONTEXT_CHARS).text if context else ""
        holder = AnswerStream(iter(()))
        holder._pieces = self._run(q, ctx, holder)
        return holder

    def answer(self, question: object, context: object = None) -> Answer:
        s = self.stream(question, context)
        for _ in s:
            pass
        assert s.result is not None
        return s.result

    def _run(self, q: str, ctx: str, holder: AnswerStream) -> Iterator[str]:
        scope = self.scope(q, ctx) if q and (tokenize(q) or ctx) else Scope(0.0, 0.0, "out")
        if scope.verdict == "out" or self.model is None:
            holder.result = Answer(DECLINE_TEXT, (), True, scope)
            yield DECLINE_TEXT
            return
        hits, points = self.passages(q, ctx)
        valid = {h.chunk.section for h in hits}
        by_section: dict[str, list[str]] = {}
        for p in points:
            by_section.setdefault(p.section, []).append(p.text)
        listing = "\n".join(f"[{sid}] " + " | ".join(texts) for sid, texts in by_section.items())
        prompt = render("ask_user", passages=listing, question=q,
                        context=f"\nPrevious turn (for context only): {ctx}\n" if ctx else "")
        messages = [Message("system", render("ask_system")), Message("user", prompt)]
        f = CitationFilter(valid)
        text, head = "", ""
        decided = False
        for piece in self.model.stream(messages, max_tokens=ANSWER_TOKENS):
            if not decided:  # hold the first characters back: they may be the decline marker
                head += piece
                if len(head) < len(NOT_COVERED) and NOT_COVERED.startswith(head.strip().upper()):
                    continue
                decided = True
                if head.strip().upper().startswith(NOT_COVERED):
                    break
                piece, head = head, ""
            out = f.feed(piece)
            text += out
            if out:
                yield out
        if not decided or head.strip().upper().startswith(NOT_COVERED):
            holder.result = Answer(DECLINE_TEXT, (), True, scope)
            yield DECLINE_TEXT
            return
        text += f.close()
        text = _tidy(text)
        cited = list(f.cited)
        if not cited and by_section:  # a grounded answer always says where it comes from
            first = next(iter(by_section))
            tail = f" [{first}]"
            text += tail
            cited.append(first)
            yield tail
        holder.result = Answer(text, tuple(cited), False, scope)


def citations_in(text: str, valid: Sequence[str]) -> list[str]:
    """Section ids cited in `text` that are in `valid`, in order of first use.

    >>> citations_in("A [3.1], B [9.9], C [3.1] [2]", ["3.1", "2"])
    ['3.1', '2']
    """
    out: list[str] = []
    for m in _CITE.finditer(text):
        if m.group(1) in valid and m.group(1) not in out:
            out.append(m.group(1))
    return out
