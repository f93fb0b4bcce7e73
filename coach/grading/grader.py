"""Grading an answer: a score card computed in code from grounded signals, never one number from the LLM.

Steps (`Grader.grade`):
1. clean the answer (`coach.sanitize`); an empty one scores 0 without any model;
2. the rubric (`coach.grading.rubric`): the question's answer key when it has one
   (`coach.grading.keys`: its facts, core first), else a key the LLM drafts once per question
   (`coach.grading.draft`), else key points cut from retrieved passages;
3. deterministic signals: sentence-to-point similarity, term coverage, relevance, echo, how much
   is prose, injection (`coach.grading.signals`); `scoring.precheck` settles empty, too short,
   echo and off-topic answers without the LLM;
4. the judge's P(yes) per key point, and with a key, per misconception and the fact closest to it
   (`coach.grading.judging`);
5. `scoring.aggregate` computes the score, and the card lists the points covered and missed and
   the misconceptions claimed.
`feedback` then streams 2-3 sentences about the card (`coach.grading.feedback`).

`prepare` does everything that needs only the question (the rubric, and the judge's prompt head)
while the user types, and the answer typed so far when the app sends it; `grade` takes the same
steps itself when they were not done, so the score does not depend on it.

It does not choose questions (`coach.session.bank`) or talk to the user (the CLI, the app).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from coach.corpus.answer_keys import AnswerKey
from coach.corpus.text import tokenize
from coach.errors import ModelError
from coach.grading import feedback, judging, scoring
from coach.grading.draft import KeyDrafter, is_draft
from coach.grading.keypoints import KeyPoint, cosine, plain
from coach.grading.keys import KeyMatcher
from coach.grading.rubric import Rubrics
from coach.grading.signals import (
    content_words,
    distinct_sentences,
    echo_ratio,
    injection_flags,
    prose_ratio,
    sentences,
    term_coverage,
    windows,
)
from coach.grading.types import Grade, PointResult, Rubric
from coach.llm.chat import ChatModel
from coach.llm.judge import Judge
from coach.sanitize import MAX_QUESTION_CHARS, clean
from coach.types import Chunk, Citation

MAX_SOURCES = 3  # passages shown under a grade: the ones its key points came from first
FOLLOWUP = "/f"  # a follow-up question's id is its question's id + "/f1": graded on the key facts it asks about


@dataclass(frozen=True)
class Plan:
    """What grading an answer to one question uses, known before the answer."""

    question: str
    rubric: Rubric
    key: AnswerKey | None = None
    misconceptions: tuple[str, ...] = ()  # the key's, plain text
    paired: tuple[str, ...] = ()  # for each misconception, the key fact closest to it
    reference: str = ""  # the model answer the judge reads, when `Grader.reference` is on
    note: str = ""  # e.g. why no key could be drafted


class Grader:
    """Grades answers. Without a `judge` it grades from the deterministic signals only; without a
    `model` the feedback is a template; without `keys` every question is graded on passages.
    `reference`: the judge reads the key's model answer before the candidate's. With a `drafter`,
    a question no reviewed key covers is graded against a key the LLM drafts (`coach.grading.draft`)."""

    def __init__(self, rubrics: Rubrics, judge: Judge | None, model: ChatModel | None = None,
                 params: scoring.Params = scoring.DEFAULT, keys: KeyMatcher | None = None, *,
                 keyed_params: scoring.Params | None = None, reference: bool = False,
                 drafter: KeyDrafter | None = None) -> None:
        self.rubrics = rubrics
        self.embedder = rubrics.embedder
        self.judge = judge
        self.model = model
        self.params = params
        self.keyed_params = keyed_params or params
        self.keys = keys
        self.reference = reference
        self.drafter = drafter
        self._plans: dict[tuple[str, tuple[str, ...], str], Plan] = {}
        self._lock = threading.RLock()  # `prepare` plans from a background thread while `grade` may

    # -- before the answer -------------------------------------------------------------------------
    def plan(self, question: str, chunk_ids: Sequence[str] = (), question_id: str = "") -> Plan:
        """The rubric (and, with a key, the misconceptions to check) for a question, cached."""
        q = clean(question, MAX_QUESTION_CHARS).text
        cache = (q, tuple(chunk_ids), question_id)
        with self._lock:
            if cache not in self._plans:
                if len(self._plans) >= 512:
                    self._plans.clear()
                self._plans[cache] = self._make_plan(q, chunk_ids, question_id)
            return self._plans[cache]

    def _make_plan(self, q: str, chunk_ids: Sequence[str], question_id: str) -> Plan:
        followup = FOLLOWUP in question_id
        key, note = self.answer_key(q, question_id), ""
        if key is None and q and self.drafter is not None:
            try:
                key = self.drafter.draft(q)
            except ModelError as e:
                note = f"graded on the roadmap's passages: no answer key could be drafted ({e})"
        if key is None:
            return Plan(q, self.rubrics.for_question(q, chunk_ids) if q else Rubric(), note=note)
        rubric = self.rubrics.for_key(key)
        if followup and not is_draft(key.question_id):  # a follow-up asks about the facts its question names
            rubric = self._focus(rubric, q)
        wrong, paired = self._pairs(key, rubric)
        if is_draft(key.question_id):  # nobody reviewed a drafted misconception: it never caps a score
            wrong = paired = ()
        return Plan(q, rubric, key, wrong, paired, reference=plain(key.model_answer) if self.reference else "")

    def prepare(self, question: str, chunk_ids: Sequence[str] = (), answer: str = "", question_id: str = "") -> None:
        """Everything grading needs before the answer, done while the user types (from a background
        thread): the rubric and the judge's prompt head; with `answer`, the answer typed so far, the
        judge reads that ahead too."""
        plan = self.plan(question, chunk_ids, question_id)
        if plan.question and plan.rubric.points and self.judge is not None:
            typed = clean(answer).text if answer else ""
            self.judge.prefill(judging.head(plan.question, plan.reference), judging.judged_text(typed) if typed else "")

    def answer_key(self, question: str, question_id: str = "") -> AnswerKey | None:
        """The answer key a question is graded against, if any (a follow-up: its question's)."""
        q = clean(question, MAX_QUESTION_CHARS).text
        root_id = question_id.partition(FOLLOWUP)[0]
        return self.keys.match(q, root_id) if self.keys is not None and q else None

    def key_source(self, key: AnswerKey) -> Citation | None:
        """The key's own chunk, as a citation."""
        own = next((c for c in self.rubrics.for_key(key).chunks if c.kind == "key"), None)
        return Citation.of(own) if own else None

    def key_points(self, question: str, chunk_ids: Sequence[str] = ()) -> list[KeyPoint]:
        """The roadmap's key points for a question (hints name their topics; never the key's facts)."""
        q = clean(question, MAX_QUESTION_CHARS).text
        return self.rubrics.for_question(q, chunk_ids).key_points if q else []

    # -- the grade ---------------------------------------------------------------------------------
    def grade(self, question: str, answer: object, *, chunk_ids: Sequence[str] = (), question_id: str = "") -> Grade:
        """The score card."""
        t0 = time.perf_counter()
        a = clean(answer)
        text, repeats = distinct_sentences(a.text)
        if repeats:  # saying a thing twice earns nothing more
            a = replace(a, text=text, note="; ".join(x for x in (a.note, f"{repeats} repeated sentences counted once") if x))
        plan = self.plan(question, chunk_ids, question_id)
        params = self.keyed_params if plan.key else self.params
        if content_words(a.text) == 0:
            sig = scoring.AnswerSignals((), 0.0, 0, 1.0)
            return self._card(plan, sig, 0.0, "empty", "no answer given", a.note, t0)
        sig = self._signals(plan, a.text)
        early = scoring.precheck(sig, params)
        if early is not None:
            return self._card(plan, sig, float(early[0]), early[1], early[2], a.note, t0)
        calls = failures = 0
        if self.judge is not None and plan.rubric.points and not sig.injection and sig.prose >= params.min_prose:
            # the judge's misconception question is asked only when its answer counts (m_margin < 1)
            claims = plan.misconceptions + plan.paired if params.m_margin < 1.0 else ()
            facts, said = judging.ask_points(self.judge, plan.question, a.text, plan.rubric.key_points, claims,
                                             plan.reference)
            n = len(plan.misconceptions)
            sig = replace(sig, points=tuple(replace(ps, llm=v) for ps, v in zip(sig.points, facts.p_yes)))
            if claims:
                sig = replace(sig, misconceptions=tuple(replace(m, p_claim=said.p_yes[i], p_fact=said.p_yes[n + i])
                                                        for i, m in enumerate(sig.misconceptions)))
            calls, failures = facts.calls + said.calls, facts.failures + said.failures
        score, verdict = scoring.aggregate(sig, params)
        return self._card(plan, sig, score, verdict, self._reason(sig, params), a.note, t0, calls, failures)

    def feedback(self, question: str, grade: Grade) -> Iterator[str]:
        """Short feedback on `grade`, streamed (see `coach.grading.feedback`)."""
        yield from feedback.stream(self.model, clean(question, MAX_QUESTION_CHARS).text, grade)

    @staticmethod
    def _reason(sig: scoring.AnswerSignals, params: scoring.Params) -> str:
        if sig.injection:
            return (f"instructions to the grader found in the answer ({', '.join(sig.injection)}): ignored, "
                    f"score capped at {params.cap_injection}")
        if any(scoring.claims(sig, params)):
            return f"the answer claims a common misconception: score capped at {params.cap_misconception}"
        if sig.prose < params.min_prose:
            return f"a list of terms without explanation: score capped at {params.cap_terms}"
        return ""

    def _signals(self, plan: Plan, answer: str) -> scoring.AnswerSignals:
        """Everything about the answer that needs no LLM."""
        rubric = plan.rubric
        units = windows(sentences(answer))
        vecs = self.embedder.embed([answer, *units])
        avec, uvecs = vecs[0], vecs[1:]
        pvecs = [rubric.vectors[p.text] for p, _ in rubric.points]
        cvecs = [rubric.vectors[c.contextual_text] for c in rubric.chunks]
        atoks = set(tokenize(answer))
        sims = [max(cosine(pv, u) for u in uvecs) for pv in pvecs]
        points = tuple(scoring.PointSignals(round(s, 4), round(term_coverage(p, atoks), 4), None, max(w, 0.05), p.core)
                       for (p, w), s in zip(rubric.points, sims))
        relevance = max([cosine(avec, self.rubrics.query_vector(plan.question)), *(cosine(avec, c) for c in cvecs),
                         *sims])
        to_facts = max(sims, default=0.0)
        wrong = tuple(scoring.MisconceptionSignals(round(max(cosine(rubric.vectors[m], u) for u in uvecs), 4),
                                                   round(to_facts, 4)) for m in plan.misconceptions)
        return scoring.AnswerSignals(points, round(relevance, 4), content_words(answer),
                                     round(echo_ratio(answer, plan.question), 4), injection_flags(answer),
                                     prose_ratio(answer), wrong)

    def _pairs(self, key: AnswerKey, rubric: Rubric) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The key's misconceptions, and for each the fact closest to it (what a right answer says
        instead), with their vectors added to the rubric's."""
        wrong = tuple(plain(m) for m in key.misconceptions)
        new = [m for m in wrong if m not in rubric.vectors]
        if new:
            rubric.vectors.update(zip(new, self.embedder.embed(new)))
        facts = [p.text for p, _ in rubric.points]
        if not facts:
            return (), ()
        paired = tuple(max(facts, key=lambda f: cosine(rubric.vectors[f], rubric.vectors[m])) for m in wrong)
        return wrong, paired

    def _focus(self, rubric: Rubric, question: str, n: int = 2) -> Rubric:
        """The `n` facts of a key closest to a follow-up question."""
        qvec = self.rubrics.query_vector(question)
        ranked = sorted(rubric.points, key=lambda pw: -cosine(rubric.vectors[pw[0].text], qvec))[:n]
        return replace(rubric, points=tuple(ranked))

    def _card(self, plan: Plan, sig: scoring.AnswerSignals, score: float, verdict: str, reason: str,
              note: str, t0: float, calls: int = 0, failures: int = 0) -> Grade:
        rubric, params = plan.rubric, (self.keyed_params if plan.key else self.params)
        results = []
        for (p, _), ps in zip(rubric.points, sig.points or [scoring.PointSignals(0.0, 0.0)] * len(rubric.points)):
            credit = scoring.point_credit(ps, params) if sig.points else 0.0
            results.append(PointResult(p.text, p.section, p.chunk_id, p.label, ps.similarity, ps.terms, ps.llm,
                                       round(credit, 4)))
        covered = tuple(r.text for r in results if r.credit >= 0.5 and verdict not in ("empty", "off-topic"))
        missing = tuple(r.text for r in results if r.text not in covered)
        claimed = tuple(m for m, c in zip(plan.misconceptions, scoring.claims(sig, params)) if c)
        citations = tuple(dict.fromkeys(p.section for p, _ in rubric.points)) or \
            tuple(dict.fromkeys(c.section for c in rubric.chunks))
        note = "; ".join(x for x in (note, plan.note) if x)
        return Grade(score, verdict, covered, missing, citations, sources(rubric), tuple(results), sig, reason,
                     note, calls, failures, round(time.perf_counter() - t0, 3),
                     key=plan.key.question_id if plan.key else "", claimed=claimed)


def sources(rubric: Rubric, limit: int = MAX_SOURCES) -> tuple[Citation, ...]:
    """The passages to show under a grade: those the key points came from first (an answer key's
    model answer), then the other reference passages."""
    by_id: dict[str, Chunk] = {c.id: c for c in rubric.chunks}
    ids = [p.chunk_id for p, _ in rubric.points] + list(by_id)
    return tuple(Citation.of(by_id[i]) for i in dict.fromkeys(ids) if i in by_id)[:limit]
