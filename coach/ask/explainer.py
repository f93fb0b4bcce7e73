"""`coach ask`: an explanation grounded in the roadmap and its answer keys, citing section ids like
[3.1], or a polite decline when the roadmap does not cover the question.

Reviewed content first. Scope is decided without the LLM (`coach.ask.scope`); out of scope is a
decline with no citation and no model call. A question that is one of the roadmap's (the same
text, or a near duplicate: `coach.grading.keys`) is answered with its answer key's model answer,
cited, and no model call. Otherwise the LLM writes from notes: the key facts of the answer keys
closest to the question and the most relevant key points of the top roadmap passages (a short
prompt: prompt length is the latency here); it may still reply NOT IN ROADMAP. Its text is shown
sentence by sentence, and a sentence that no note supports is dropped before the user sees it
(`coach.ask.support`); a citation stays only when the cited section's notes support the sentence.

It does not grade answers (`coach.grading`) or hold a conversation (`coach.session`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from coach.ask.scope import Scope, Thresholds, decide
from coach.ask.support import Note, cited_sections, support
from coach.corpus.answer_keys import AnswerKey, key_heading
from coach.corpus.text import tokenize
from coach.grading.keypoints import NOT_CONTENT, plain, select, split_points
from coach.grading.keys import KeyMatcher
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
_CITE = re.compile(r"\s*\[(\d+(?:\.\d+)*)\]")


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: tuple[str, ...]  # section ids, in order of first use
    declined: bool
    scope: Scope | None = None
    sources: tuple[Citation, ...] = ()  # the passage behind each citation
    key: str = ""  # the answer key shown (its question id), when the question is one of the roadmap's
    dropped: tuple[str, ...] = ()  # generated sentences no note supported, not shown

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
                 thresholds: Thresholds = Thresholds(), keys: KeyMatcher | None = None, n_keys: int = 2) -> None:
        self.retriever = retriever
        self.model = model
        self.k = k
        self.n_points = n_points
        self.t = thresholds
        self.keys = keys
        self.n_keys = n_keys  # answer keys whose facts join the notes
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

    def notes(self, question: str, context: str | None) -> tuple[list[Hit], list[Note]]:
        """What the LLM writes from: the key facts of the answer keys closest to the question, then
        the most relevant key points of the top roadmap passages, with their vectors."""
        found = self.retriever.search(question, 3 * self.k, context=context or None)
        # the roadmap's question and lab lists hold no answers (and would be cited for echoing them)
        hits = ([h for h in found if not NOT_CONTENT.search(h.chunk.title)] or found)[: self.k]
        facts = [(plain(f.text), k.section) for k in self._keys_near(question, context) for f in k.facts]
        points = [p for h in hits for p in split_points(h.chunk)]
        emb = self.retriever.embedder
        if points:
            qvec = emb.embed([question], query=True)[0]
            points = [p for p, _ in select(points, emb.embed([p.text for p in points]), qvec, self.n_points)]
        texts = facts + [(p.text, p.section) for p in points]
        vecs = emb.embed([t for t, _ in texts]) if texts else []
        return hits, [Note(t, sec, v) for (t, sec), v in zip(texts, vecs)]

    def _keys_near(self, question: str, context: str | None) -> list[AnswerKey]:
        if self.keys is None:
            return []
        hits = self.retriever.search(question, self.n_keys, context=context or None, kind="key", rerank=False)
        found = [self.retriever.corpus.key(h.chunk.heading_path[-1].rsplit(" ", 1)[-1]) for h in hits]
        return [k for k in found if k is not None]

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
        if scope.verdict == "out":
            holder.result = Answer(DECLINE_TEXT, (), True, scope)
            yield DECLINE_TEXT
            return
        key = self.keys.match(resolve(q, ctx) if ctx and needs_context(q) else q) if self.keys else None
        if key is not None:  # reviewed content: the key's model answer, no model call
            yield from self._key_answer(key, scope, holder)
            return
        if self.model is None:
            holder.result = Answer(DECLINE_TEXT, (), True, scope)
            yield DECLINE_TEXT
            return
        yield from self._generated(q, ctx, scope, holder)

    def _generated(self, q: str, ctx: str, scope: Scope, holder: AnswerStream) -> Iterator[str]:
        hits, notes = self.notes(q, ctx)
        by_section: dict[str, list[str]] = {}
        for n in notes:
            by_section.setdefault(n.section, []).append(n.text)
        listing = "\n".join(f"[{sid}] " + " | ".join(texts) for sid, texts in by_section.items())
        prompt = render("ask_user", passages=listing, question=q,
                        context=f"\nPrevious turn (for context only): {ctx}\n" if ctx else "")
        messages = [Message("system", render("ask_system")), Message("user", prompt)]
        kept: list[str] = []
        dropped: list[str] = []
        cited: list[str] = []
        head, decided = "", False
        assert self.model is not None
        for sentence in _sentences(self.model.stream(messages, max_tokens=ANSWER_TOKENS)):
            if not decided:  # the first words may be the decline marker
                head += sentence
                if NOT_COVERED.startswith(head.strip().upper()):
                    continue
                decided = True
                if head.strip().upper().startswith(NOT_COVERED):
                    break
                sentence, head = head, ""
            shown = self._checked(sentence, notes, cited)
            if shown is None:
                dropped.append(sentence.strip())
                continue
            kept.append(shown)
            yield shown
        if not kept:
            holder.result = Answer(DECLINE_TEXT, (), True, scope, dropped=tuple(dropped))
            yield DECLINE_TEXT
            return
        text = tidy("".join(kept))
        if not cited and by_section:  # a grounded answer always says where it comes from
            first = next(iter(by_section))
            text += f" [{first}]"
            cited.append(first)
            yield f" [{first}]"
        holder.result = Answer(text, tuple(cited), False, scope, _sources(hits, cited), dropped=tuple(dropped))

    def _checked(self, sentence: str, notes: list[Note], cited: list[str]) -> str | None:
        """The sentence as shown: None when no note supports it; its citations kept only where the
        cited section's notes support it (a citation of another section is replaced by the
        section that does)."""
        bare = _CITE.sub("", sentence).strip()
        if not bare:
            return None
        vec = self.retriever.embedder.embed([bare])[0]
        best, section = support(vec, notes)
        if best < self.t.supported:
            return None
        named = list(dict.fromkeys(m.group(1) for m in _CITE.finditer(sentence)))
        ok = cited_sections(vec, named, notes, self.t.cites)
        shown = _CITE.sub(lambda m: m.group(0) if m.group(1) in ok else "", sentence)
        if named and not ok and section:
            shown = shown.rstrip() + f" [{section}]" + (" " if sentence.endswith(" ") else "")
            ok = [section]
        cited.extend(s for s in ok if s not in cited)
        return shown

    def _key_answer(self, key: AnswerKey, scope: Scope, holder: AnswerStream) -> Iterator[str]:
        own = next((c for c in self.retriever.chunks.values()
                    if c.kind == "key" and c.heading_path[-1] == key_heading(key.question_id)), None)
        text = f"{key.model_answer} [{key.section}]"
        holder.result = Answer(text, (key.section,), False, scope, (Citation.of(own),) if own else (),
                               key=key.question_id)
        yield from _sentences(iter([text]))


def _sources(hits: list[Hit], sections: list[str]) -> tuple[Citation, ...]:
    """The best retrieved passage of each cited section, in citation order."""
    out = []
    for sid in sections:
        chunk = next((h.chunk for h in hits if h.chunk.section == sid), None)
        if chunk is not None:
            out.append(Citation.of(chunk))
    return tuple(out)


def tidy(text: str) -> str:
    """Spaces left by dropped citations removed.

    >>> tidy("lasts  2 MSL [3.1] .")
    'lasts 2 MSL [3.1].'
    """
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]+([.,;:])", r"\1", text).strip()


_END = re.compile(r"[.!?](?:\s*\[\d+(?:\.\d+)*\])*\s+(?=\S)")


def _sentences(pieces: Iterator[str]) -> Iterator[str]:
    """Streamed text regrouped into sentences, a sentence's trailing citations kept with it.

    >>> list(_sentences(iter(["TIME_WAIT lasts 2*MSL [3.1]. It pro", "tects new connections."])))
    ['TIME_WAIT lasts 2*MSL [3.1]. ', 'It protects new connections.']
    """
    buf = ""
    for piece in pieces:
        buf += piece
        while (m := _END.search(buf)) is not None:
            yield buf[: m.end()]
            buf = buf[m.end():]
    if buf.strip():
        yield buf


def events(explainer: Explainer, question: str, context: str | None = None) -> Iterator[Event]:
    """An explanation as interview events: `Said(kind="answer")` pieces, then `Cited` (the app's Ask tab)."""
    stream = explainer.stream(question, context)
    for piece in stream:
        yield Said(piece, "answer")
    if stream.result is not None and stream.result.sources:
        yield Cited(stream.result.sources, "answer")
