"""`coach ask`: a grounded explanation from the roadmap, citing section ids like [3.1], or a polite
decline when the roadmap does not cover the question.

Scope is decided mostly without the LLM (`coach.ask.scope`); out of scope is a decline with no
citation and no model call. In scope, the LLM answers from the most relevant bullets of the top
passages (a short prompt: prompt length is the latency here) and may still reply NOT IN ROADMAP.
Citations are kept only when they name a section that was retrieved (`coach.ask.citations`), and
the answer carries the passage behind each one.

It does not grade answers (`coach.grading`) or hold a conversation (`coach.session`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from coach.ask.citations import CitationFilter, tidy
from coach.ask.scope import Scope, Thresholds, decide
from coach.corpus.text import tokenize
from coach.grading.keypoints import NOT_CONTENT, KeyPoint, select, split_points
from coach.llm.chat import ChatModel, Message
from coach.prompts import render
from coach.retrieval.query import needs_context, resolve
from coach.retrieval.retriever import Retriever
from coach.sanitize import MAX_QUESTION_CHARS, clean
from coach.session.events import Cited, Event, Said
from coach.types import Citation, Hit

DECLINE_TEXT = ("That is outside what the roadmap covers, so I can't answer it from the study material. "
                "Ask me about a roadmap topic instead, e.g. TCP TIME_WAIT, Kubernetes networking or Terraform state.")
NOT_COVERED = "NOT IN ROADMAP"
ANSWER_TOKENS = 220
CONTEXT_CHARS = 300


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: tuple[str, ...]  # section ids, in order of first use
    declined: bool
    scope: Scope | None = None
    sources: tuple[Citation, ...] = ()  # the passage behind each citation

    def to_json(self) -> dict:
        """The `coach ask --json` contract (without the id)."""
        return {"answer": self.answer, "citations": list(self.citations), "declined": self.declined}


class AnswerStream:
    """Iterate for the text pieces; `result` holds the `Answer` once the iteration is done."""

    def __init__(self) -> None:
        self._pieces: Iterator[str] = iter(())
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
        holder = AnswerStream()
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
        by_section: dict[str, list[str]] = {}
        for p in points:
            by_section.setdefault(p.section, []).append(p.text)
        listing = "\n".join(f"[{sid}] " + " | ".join(texts) for sid, texts in by_section.items())
        prompt = render("ask_user", passages=listing, question=q,
                        context=f"\nPrevious turn (for context only): {ctx}\n" if ctx else "")
        messages = [Message("system", render("ask_system")), Message("user", prompt)]
        f = CitationFilter({h.chunk.section for h in hits})
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
        text = tidy(text)
        cited = list(f.cited)
        if not cited and by_section:  # a grounded answer always says where it comes from
            first = next(iter(by_section))
            tail = f" [{first}]"
            text += tail
            cited.append(first)
            yield tail
        holder.result = Answer(text, tuple(cited), False, scope, _sources(hits, cited))


def _sources(hits: list[Hit], sections: list[str]) -> tuple[Citation, ...]:
    """The best retrieved passage of each cited section, in citation order."""
    out = []
    for sid in sections:
        chunk = next((h.chunk for h in hits if h.chunk.section == sid), None)
        if chunk is not None:
            out.append(Citation.of(chunk))
    return tuple(out)


def events(explainer: Explainer, question: str, context: str | None = None) -> Iterator[Event]:
    """An explanation as interview events: `Said(kind="answer")` pieces, then `Cited` (the app's Ask tab)."""
    stream = explainer.stream(question, context)
    for piece in stream:
        yield Said(piece, "answer")
    if stream.result is not None and stream.result.sources:
        yield Cited(stream.result.sources, "answer")
