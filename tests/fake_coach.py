"""A deterministic `coach.session.events.Interviewer` over the test corpus, for the app's fast and browser tests.

It stands in for the interview engine: questions are the corpus's roadmap questions plus one per
chunk, a grade is the share of the source chunk's words the answer uses, feedback streams in word
pieces (from a ScriptedChatModel when given, which records what it was sent).
"""

from __future__ import annotations

import re

from coach.corpus.text import tokenize
from coach.grading.types import Grade
from coach.session.events import Asked, Cited, Ended, Graded, Said, SessionSpec, Skipped
from coach.types import Citation, Question


def _pieces(text: str):
    return [p for p in re.split(r"(?<=\s)(?=\S)", text) if p]


class FakeInterview:
    def __init__(self, coach: FakeCoach, spec: SessionSpec) -> None:
        self.coach, self.spec = coach, spec
        pool = list(spec.questions) or [q for q in coach.questions
                                        if spec.section is None or q.section == spec.section
                                        or q.section.startswith(spec.section + ".")]
        asked = set(spec.asked)
        self.queue = [q for q in pool if q.id not in asked]
        if spec.first is not None:
            self.queue = [spec.first] + [q for q in self.queue if q.id != spec.first.id]
        self.current: Question | None = None

    def start(self):
        yield from self._next()

    def typed(self, text):
        self.coach.typed.append((self.current, text))

    def _next(self):
        if not self.queue:
            self.current = None
            yield Ended("No more questions.")
            return
        self.current = self.queue.pop(0)
        yield Asked(self.current)

    def send(self, text):
        q = self.current
        if text == "quit":
            yield Ended("quit")
        elif text in ("skip", "next"):
            if q is not None:
                yield Skipped(q)
            yield from self._next()
        elif text == "hint" and q is not None:
            yield Said("Think about ", "hint")
            yield Said(f"{self.coach.chunk_for(q).title}.", "hint")
        elif text == "explain" and q is not None:
            chunk = self.coach.chunk_for(q)
            for p in _pieces(chunk.text[:200]):
                yield Said(p, "explanation")
            yield Cited((self.coach.citation(chunk),))
        elif q is None:
            yield Said("Press Next question for a new question.", "note")
        else:
            chunk = self.coach.chunk_for(q)
            want = set(tokenize(chunk.text))
            got = set(tokenize(text))
            score = round(10 * len(want & got) / max(len(want), 1), 1)
            points = [line.strip("- *") for line in chunk.text.splitlines() if line.strip().startswith("-")][:4]
            covered = tuple(p for p in points if set(tokenize(p)) & got)
            missing = tuple(p for p in points if p not in covered)
            verdict = "strong" if score >= 7 else "partial" if score >= 4 else "weak"
            yield Graded(q, text, Grade(min(score, 10.0), verdict, covered, missing, (chunk.section,),
                                        (self.coach.citation(chunk),)))
            feedback = self.coach.feedback(q, text)
            for p in _pieces(feedback):
                yield Said(p, "feedback")
            self.current = None


class FakeCoach:
    """questions: the corpus's roadmap questions, then one generated question per chunk section."""

    def __init__(self, corpus, model=None) -> None:
        self.corpus = corpus
        self.model = model  # a ScriptedChatModel, or None for canned feedback
        self.chunks = {c.section: c for c in reversed(corpus.chunks)}
        qs = [Question(q.id, q.text, q.section, None, "roadmap") for q in corpus.questions]
        for c in corpus.chunks:
            qid = f"gen:{c.section}"
            if c.section in self.chunks and all(q.id != qid for q in qs):
                qs.append(Question(qid, f"What do you know about {c.title}?", c.section, c.level or 0,
                                      "generated"))
        self.questions = qs
        self.progress_calls: list[tuple[float, str]] = []
        self.specs: list[SessionSpec] = []
        self.typed: list[tuple[Question | None, str]] = []  # what the interviews were sent as typed

    def chunk_for(self, q: Question):
        if q.section in self.chunks:
            return self.chunks[q.section]
        return next(c for s, c in self.chunks.items() if s.startswith(q.section + ".") or s == q.section.split(".")[0]) \
            if any(s.startswith(q.section + ".") for s in self.chunks) else next(iter(self.chunks.values()))

    def citation(self, chunk) -> Citation:
        return Citation(chunk.section, chunk.path_str, chunk.text, chunk.id)

    def feedback(self, q, answer) -> str:
        if self.model is None:
            return "Good start: name the states and say why each exists."
        from coach.llm.chat import Message

        return "".join(self.model.stream([Message("system", "Give feedback."),
                                          Message("user", f"Q: {q.text}\nA: {answer}")]))

    def interview(self, spec, progress=None):
        if progress:
            progress(0.5, "loading the fake model")
        self.specs.append(spec)
        return FakeInterview(self, spec)

    def ask(self, question, context=None, progress=None):
        words = set(tokenize(question))
        best = max(self.corpus.chunks, key=lambda c: len(words & set(tokenize(c.contextual_text))))
        for p in _pieces(f"From the roadmap [{best.section}]: {best.text[:160]}"):
            yield Said(p, "answer")
        yield Cited((self.citation(best),), "answer")


class BrokenCoach:
    """A coach whose model or index is missing."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def interview(self, spec, progress=None):
        raise self.error

    def ask(self, question, context=None, progress=None):
        raise self.error
