"""Grading an answer: a score card computed in code from grounded signals, never one number from the LLM.

Steps (`Grader.grade`):
1. clean the answer (`coach.sanitize`); an empty one scores 0 without any model;
2. the rubric: reference passages and the key points chosen from them (`coach.grading.rubric`);
3. deterministic signals: sentence-to-point similarity, term coverage, relevance, echo, injection
   (`coach.grading.signals`); `scoring.precheck` settles empty, too short, echo and off-topic
   answers without the LLM;
4. the judge's P(yes) per key point (`coach.grading.judging`);
5. `scoring.aggregate` computes the score, and the card lists the points covered and missed.
`feedback` then streams 2-3 sentences about the card (`coach.grading.feedback`).

`prepare` does everything that needs only the question (the rubric, and the judge's prompt head)
while the user types, and the answer typed so far when the app sends it; `grade` takes the same
steps itself when they were not done, so the score does not depend on it.

It does not choose questions (`coach.session.bank`) or talk to the user (the CLI, the app).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from coach.corpus.text import tokenize
from coach.grading import feedback, judging, scoring
from coach.grading.keypoints import KeyPoint, cosine
from coach.grading.rubric import Rubrics
from coach.grading.signals import content_words, echo_ratio, injection_flags, sentences, term_coverage, windows
from coach.grading.types import Grade, PointResult, Rubric
from coach.llm.chat import ChatModel
from coach.llm.judge import Judge
from coach.sanitize import MAX_QUESTION_CHARS, clean
from coach.types import Chunk, Citation

MAX_SOURCES = 3  # passages shown under a grade: the ones its key points came from first


class Grader:
    """Grades answers. Without a `judge` it grades from the deterministic signals only; without a
    `model` the feedback is a template."""

    def __init__(self, rubrics: Rubrics, judge: Judge | None, model: ChatModel | None = None,
                 params: scoring.Params = scoring.DEFAULT) -> None:
        self.rubrics = rubrics
        self.embedder = rubrics.embedder
        self.judge = judge
        self.model = model
        self.params = params

    def prepare(self, question: str, chunk_ids: Sequence[str] = (), answer: str = "") -> None:
        """Everything grading needs before the answer, done while the user types (from a background
        thread): the rubric and the judge's prompt head; with `answer`, the answer typed so far, the
        judge reads that ahead too."""
        q = clean(question, MAX_QUESTION_CHARS).text
        if not q:
            return
        rubric = self.rubrics.for_question(q, chunk_ids)
        if rubric.points and self.judge is not None:
            typed = clean(answer).text if answer else ""
            self.judge.prefill(judging.head(q), judging.judged_text(typed) if typed else "")

    def key_points(self, question: str, chunk_ids: Sequence[str] = ()) -> list[KeyPoint]:
        """The rubric `grade` uses for this question (from the same cache `prepare` fills)."""
        q = clean(question, MAX_QUESTION_CHARS).text
        return self.rubrics.for_question(q, chunk_ids).key_points if q else []

    def grade(self, question: str, answer: object, *, chunk_ids: Sequence[str] = ()) -> Grade:
        """The score card."""
        t0 = time.perf_counter()
        q = clean(question, MAX_QUESTION_CHARS).text
        a = clean(answer)
        rubric = self.rubrics.for_question(q, chunk_ids) if q else Rubric()
        if content_words(a.text) == 0:
            sig = scoring.AnswerSignals((), 0.0, 0, 1.0)
            return self._card(rubric, sig, 0.0, "empty", "no answer given", a.note, t0)

        sig = self._signals(q, a.text, rubric)
        early = scoring.precheck(sig, self.params)
        if early is not None:
            return self._card(rubric, sig, float(early[0]), early[1], early[2], a.note, t0)
        calls = failures = 0
        if self.judge is not None and rubric.points and not sig.injection:
            verdicts = judging.ask_points(self.judge, q, a.text, rubric.key_points)
            sig = replace(sig, points=tuple(replace(ps, llm=v) for ps, v in zip(sig.points, verdicts.p_yes)))
            calls, failures = verdicts.calls, verdicts.failures
        score, verdict = scoring.aggregate(sig, self.params)
        reason = ("instructions to the grader found in the answer (" + ", ".join(sig.injection) + "): ignored, "
                  f"score capped at {self.params.cap_injection}") if sig.injection else ""
        return self._card(rubric, sig, score, verdict, reason, a.note, t0, calls, failures)

    def feedback(self, question: str, grade: Grade) -> Iterator[str]:
        """Short feedback on `grade`, streamed (see `coach.grading.feedback`)."""
        yield from feedback.stream(self.model, clean(question, MAX_QUESTION_CHARS).text, grade)

    def _signals(self, question: str, answer: str, rubric: Rubric) -> scoring.AnswerSignals:
        """Everything about the answer that needs no LLM."""
        units = windows(sentences(answer))
        vecs = self.embedder.embed([answer, *units])
        avec, uvecs = vecs[0], vecs[1:]
        pvecs = [rubric.vectors[p.text] for p, _ in rubric.points]
        cvecs = [rubric.vectors[c.contextual_text] for c in rubric.chunks]
        atoks = set(tokenize(answer))
        sims = [max(cosine(pv, u) for u in uvecs) for pv in pvecs]
        points = tuple(scoring.PointSignals(round(s, 4), round(term_coverage(p, atoks), 4), None, max(w, 0.05))
                       for (p, w), s in zip(rubric.points, sims))
        relevance = max([cosine(avec, self.rubrics.query_vector(question)), *(cosine(avec, c) for c in cvecs), *sims])
        return scoring.AnswerSignals(points, round(relevance, 4), content_words(answer),
                                     round(echo_ratio(answer, question), 4), injection_flags(answer))

    def _card(self, rubric: Rubric, sig: scoring.AnswerSignals, score: float, verdict: str, reason: str,
              note: str, t0: float, calls: int = 0, failures: int = 0) -> Grade:
        results = []
        for (p, _), ps in zip(rubric.points, sig.points or [scoring.PointSignals(0.0, 0.0)] * len(rubric.points)):
            credit = scoring.point_credit(ps, self.params) if sig.points else 0.0
            results.append(PointResult(p.text, p.section, p.chunk_id, p.label, ps.similarity, ps.terms, ps.llm,
                                       round(credit, 4)))
        covered = tuple(r.text for r in results if r.credit >= 0.5 and verdict not in ("empty", "off-topic"))
        missing = tuple(r.text for r in results if r.text not in covered)
        citations = tuple(dict.fromkeys(p.section for p, _ in rubric.points)) or \
            tuple(dict.fromkeys(c.section for c in rubric.chunks))
        return Grade(score, verdict, covered, missing, citations, sources(rubric), tuple(results), sig, reason,
                     note, calls, failures, round(time.perf_counter() - t0, 3))


def sources(rubric: Rubric, limit: int = MAX_SOURCES) -> tuple[Citation, ...]:
    """The passages to show under a grade: those the key points came from first, then the other
    reference passages."""
    by_id: dict[str, Chunk] = {c.id: c for c in rubric.chunks}
    ids = [p.chunk_id for p, _ in rubric.points] + list(by_id)
    return tuple(Citation.of(by_id[i]) for i in dict.fromkeys(ids) if i in by_id)[:limit]
