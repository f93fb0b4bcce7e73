"""Grading an answer against the roadmap: a score card computed in code, feedback worded by the LLM.

Steps (`Grader.grade`):
1. clean the answer (`coach.sanitize`); an empty one scores 0 without any model;
2. find the reference passages: retrieve for the question, drop the roadmap's question and lab
   lists, and prefer passages from the question's own roadmap section when the question is one of
   the roadmap's (or the source chunks of a generated question);
3. cut the passages into key points (`coach.keypoints`) and keep the most relevant: the rubric
   (up to 6, ranked by similarity to the question plus the share of its words they contain,
   those far below the best left out: 3.5 points on average, measured in BENCHMARKS.md);
4. deterministic signals: sentence-to-point similarity, term coverage, relevance, echo, injection;
   `scoring.precheck` settles empty, too short, echo, off-topic without the LLM;
5. the LLM answers yes/no per key point (read as P(yes), `coach.judge`). The shared head
   (instructions, question, quoted answer) comes first and is identical in every call, the point
   last, so llama.cpp evaluates the head once and reuses its cached prefix. The part before the
   answer (instructions, question) is known before the answer: `prepare`, run while the user
   types, evaluates it ahead (and retrieves the passages and picks the rubric), and `grade` does
   the same steps itself otherwise, so the score does not depend on it. The contradiction
   check is computed in `coach.scoring` from the central point (talked about, yet doubted by the
   LLM); asking the 1.5B "does the answer contradict the reference?" outright gave P(yes) ~0.7-0.86
   for strong, partial and wrong answers alike, so that extra call (`contradiction_call=True`, one
   more prompt on the same head) is off by default and only recorded as a signal when on;
6. optionally (`n_claims`, off by default), the claim check: the answer's sentences closest to the
   rubric are each put to the LLM after the key points: "according to the notes, is this statement
   correct?" (P(yes)). Asked about one statement against the notes, the 1.5B tells a fluent wrong
   answer from a partial one far better than asked about a whole answer, but it also doubts the
   extra details of strong answers, and as a score it did not raise the held-out objective
   (BENCHMARKS.md);
7. `scoring.aggregate` computes the score. `feedback_stream` then asks the LLM for 2-3 sentences.

It does not choose questions (`coach.bank`) or talk to the user (`coach.interview`, the CLI).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

from coach import scoring
from coach.judge import YesNoJudge, make_judge
from coach.keypoints import NOT_CONTENT, KeyPoint, cosine, select, split_points
from coach.llm import ChatModel, Message
from coach.prompts import render
from coach.retrieve import Retriever
from coach.sanitize import MAX_QUESTION_CHARS, clean
from coach.signals import content_words, echo_ratio, injection_flags, quote, sentences, term_coverage, windows
from coach.text import tokenize
from coach.types import Chunk

LLM_ANSWER_CHARS = 3_000  # what the LLM reads of an answer: prompt length dominates latency
FEEDBACK_TOKENS = 120


@dataclass(frozen=True)
class PointResult:
    text: str
    section: str
    chunk_id: str
    label: str
    similarity: float
    terms: float
    llm: bool | None
    credit: float


@dataclass(frozen=True)
class Grade:
    score: float  # 0-10, one decimal
    verdict: str  # one of scoring.VERDICTS
    covered: tuple[str, ...]
    missing: tuple[str, ...]
    feedback: str
    citations: tuple[str, ...]  # section ids of the reference passages
    points: tuple[PointResult, ...] = ()
    signals: scoring.AnswerSignals | None = None
    reason: str = ""  # why a pre-check decided, or what capped the score
    note: str = ""  # e.g. the answer was truncated
    llm_calls: int = 0
    parse_failures: int = 0
    seconds: float = 0.0
    passages: tuple[str, ...] = field(default=(), compare=False)  # chunk ids used

    def to_json(self) -> dict:
        """The `coach grade --json` contract (without the id)."""
        return {"score": self.score, "verdict": self.verdict, "covered": list(self.covered),
                "missing": list(self.missing), "feedback": self.feedback, "citations": list(self.citations)}


@dataclass(frozen=True)
class Reference:
    """What grading an answer to one question needs before the answer: the reference passages, the
    rubric (key points with their relevance) and the vectors of both."""

    chunks: list[Chunk]
    chosen: list[tuple[KeyPoint, float]]
    vectors: dict[str, list[float]]


def roadmap_topic(question: str, questions: Sequence, min_overlap: float = 0.6) -> str | None:
    """The top-level section of the roadmap question this text is (token Jaccard >= 0.6), if any."""
    q = set(tokenize(question))
    if not q:
        return None
    best, score = None, 0.0
    for rq in questions:
        u = set(tokenize(rq.text))
        j = len(q & u) / len(q | u) if u else 0.0
        if j > score:
            best, score = rq, j
    return best.topic if best is not None and score >= min_overlap else None


class Grader:
    """Grades answers. `model=None` grades from the deterministic signals only (no LLM)."""

    def __init__(self, retriever: Retriever, model: ChatModel | None, params: scoring.Params = scoring.DEFAULT,
                 *, n_points: int = 6, n_passages: int = 4, judge: YesNoJudge | None = None,
                 contradiction_call: bool = False, rubric_lexical: float = 0.3,
                 rubric_floor: float | None = 0.15, llm_answer_words: int | None = None,
                 rerank_passages: bool = False, n_claims: int = 0) -> None:
        self.retriever = retriever
        self.embedder = retriever.embedder
        self.model = model
        self.judge = judge or (make_judge(model) if model is not None else None)
        self.contradiction_call = contradiction_call
        self.params = params
        self.n_points = n_points
        self.n_passages = n_passages
        self.rubric_lexical = rubric_lexical  # see keypoints.select
        self.rubric_floor = rubric_floor
        # the judge reads only this many words (`focus`); None, the whole answer, by default: 80 words
        # saved ~1 s on a 150-word answer and lost 0.04 of the held-out objective (BENCHMARKS.md)
        self.llm_answer_words = llm_answer_words
        # the reference passages in the fused order (default) or the reranker's: see `passages`
        self.rerank_passages = rerank_passages
        # the claim check: this many of the answer's sentences closest to the rubric are checked one by
        # one against it. 0, off, by default: with the 1.5B it orders partial above wrong answers far
        # better than any other signal, but it marks strong answers down too, and no way of scoring
        # with it raised the held-out objective enough (BENCHMARKS.md); it costs ~3 s per grade
        self.n_claims = n_claims
        self._qvecs: dict[str, list[float]] = {}
        self._refs: dict[tuple[str, tuple[str, ...]], Reference] = {}

    def prepare(self, question: str, chunk_ids: Sequence[str] = (), answer: str = "") -> None:
        """Everything grading needs before the answer, done while the user types (from a background
        thread): the reference passages, the rubric, their vectors, and the judge's prompt head.
        `grade` takes the same steps itself when they were not done, so the score is the same.
        `answer`, the answer typed so far (the app calls this as the user types), lets the judge
        read it ahead too, when it reads the whole answer after that head."""
        q = clean(question, MAX_QUESTION_CHARS).text
        if not q:
            return
        chosen = self._reference(q, chunk_ids).chosen
        heads = self._heads(q, [p for p, _ in chosen]) if chosen else []
        if heads and hasattr(self.judge, "prefill"):  # the judge holds one head: the one `grade` uses first
            typed = clean(answer).text if answer and self._asks_points and not self.llm_answer_words else ""
            self.judge.prefill(heads[0], judged_text(typed) if typed else "")

    # -- reference passages and key points ---------------------------------------------------------
    def passages(self, question: str, chunk_ids: Sequence[str] = ()) -> list[Chunk]:
        chunks = self.retriever.chunks
        fixed = [chunks[i] for i in chunk_ids if i in chunks]
        # the fused order by default: the rubric selection and the scoring marks were calibrated on
        # it, and with the MaxSim reranker's order the held-out objective fell (BENCHMARKS.md)
        hits = self.retriever.search(question, 100, rerank=self.rerank_passages)
        content = [h.chunk for h in hits if not NOT_CONTENT.search(h.chunk.title)]
        topic = roadmap_topic(question, self.retriever.corpus.questions)
        if topic:
            own = [c for c in content if c.section.split(".")[0] == topic]
            # the question's own section first, then the best two overall (the roadmap sometimes
            # answers a question in another section: Aurora is in AWS Databases, asked in Databases)
            content = own[:3] + content[:2] if own else content
        out: list[Chunk] = []
        for c in fixed + content:
            if c not in out:
                out.append(c)
        return out[: max(self.n_passages, len(fixed))]

    def _vectors(self, chunks: Sequence[Chunk]) -> dict[str, list[float]]:
        """The chunks' key points and contextual texts embedded in one call whose batch depends on
        the chunks alone: padding in a batch moves a vector by ~1e-7, enough to flip a rubric cut, so
        a vector embedded for another question is never reused (a grade depends on nothing graded
        before it)."""
        texts = list(dict.fromkeys([p.text for c in chunks for p in split_points(c)] +
                                   [c.contextual_text for c in chunks]))
        return dict(zip(texts, self.embedder.embed(texts))) if texts else {}

    def _query_vec(self, question: str) -> list[float]:
        if question not in self._qvecs:  # the rubric and the relevance signal both need it
            self._qvecs[question] = self.embedder.embed([question], query=True)[0]
        return self._qvecs[question]

    def _reference(self, q: str, chunk_ids: Sequence[str]) -> Reference:
        key = (q, tuple(chunk_ids))
        if key not in self._refs:
            if len(self._refs) >= 512:
                self._refs.clear()
            chunks = self.passages(q, chunk_ids)
            vecs = self._vectors(chunks)
            self._refs[key] = Reference(chunks, self._select(q, chunks, vecs), vecs)
        return self._refs[key]

    def key_points(self, question: str, chunk_ids: Sequence[str] = ()) -> list[KeyPoint]:
        """The rubric `grade` uses for this question (from the same cache `prepare` fills)."""
        q = clean(question, MAX_QUESTION_CHARS).text
        return [p for p, _ in self._reference(q, chunk_ids).chosen] if q else []

    def _select(self, question: str, chunks: Sequence[Chunk], vecs: dict[str, list[float]]
                ) -> list[tuple[KeyPoint, float]]:
        points = [p for c in chunks for p in split_points(c)]
        if not points:
            return []
        return select(points, [vecs[p.text] for p in points], self._query_vec(question), self.n_points,
                      question_tokens=tokenize(question), lexical=self.rubric_lexical, floor=self.rubric_floor)

    # -- grading ---------------------------------------------------------------------------------------
    def grade(self, question: str, answer: object, *, chunk_ids: Sequence[str] = ()) -> Grade:
        """The score card (feedback left empty: see `feedback_stream` / `grade_with_feedback`)."""
        t0 = time.perf_counter()
        q = clean(question, MAX_QUESTION_CHARS).text
        a = clean(answer)
        ref = self._reference(q, chunk_ids) if q else Reference([], [], {})
        chunks, chosen = ref.chunks, ref.chosen
        citations = tuple(dict.fromkeys(p.section for p, _ in chosen)) or tuple(dict.fromkeys(c.section for c in chunks))
        base = dict(citations=citations, note=a.note, passages=tuple(c.id for c in chunks))
        if content_words(a.text) == 0:
            sig = scoring.AnswerSignals((), 0.0, 0, 1.0)
            return self._card(sig, chosen, 0.0, "empty", "no answer given", t0, **base)

        sents = sentences(a.text)
        units = windows(sents)
        vecs = self.embedder.embed([a.text, *units])
        avec, uvecs = vecs[0], vecs[1:]
        qvec = self._query_vec(q)
        pvecs = [ref.vectors[p.text] for p, _ in chosen]
        cvecs = [ref.vectors[c.contextual_text] for c in chunks]
        atoks = set(tokenize(a.text))
        sims = [max(cosine(pv, u) for u in uvecs) for pv in pvecs]
        points = [scoring.PointSignals(round(s, 4), round(term_coverage(p, atoks), 4), None, max(w, 0.05))
                  for (p, w), s in zip(chosen, sims)]
        relevance = max([cosine(avec, qvec), *(cosine(avec, c) for c in cvecs), *sims])
        sig = scoring.AnswerSignals(tuple(points), round(relevance, 4), content_words(a.text),
                                    round(echo_ratio(a.text, q), 4), injection_flags(a.text))
        early = scoring.precheck(sig, self.params)
        if early is not None:
            return self._card(sig, chosen, float(early[0]), early[1], early[2], t0, **base)
        calls = failures = 0
        if self.judge is not None and chosen and not sig.injection:
            near = [max(cosine(pv, u) for pv in pvecs) for u in uvecs[:len(sents)]]  # per sentence
            read = focus(sents, near, self.llm_answer_words) if self.llm_answer_words else a.text
            if self._asks_points:
                verdicts, contradiction, calls, failures = self._ask_llm(q, read, [p for p, _ in chosen])
                points = [replace(ps, llm=v) for ps, v in zip(points, verdicts)]
            else:
                contradiction = None
            claims = self._check_claims([p for p, _ in chosen], claim_sentences(sents, near, self.n_claims))
            calls += len(claims)
            failures += sum(c is None for c in claims)
            sig = replace(sig, points=tuple(points), llm_contradiction=contradiction,
                          claims=tuple(c for c in claims if c is not None))
        score, verdict = scoring.aggregate(sig, self.params)
        reason = ("instructions to the grader found in the answer (" + ", ".join(sig.injection) + "): ignored, "
                  f"score capped at {self.params.cap_injection}") if sig.injection else \
            ("the answer contradicts the reference on the central point" if scoring.contradicted(sig, self.params) else "")
        return self._card(sig, chosen, score, verdict, reason, t0, calls, failures, **base)

    def _ask_llm(self, question: str, answer: str, points: Sequence[KeyPoint]
                 ) -> tuple[list[float | None], float | None, int, int]:
        """P(yes) per key point, then P(yes) for the contradiction question. The user message
        starts with the same head every time and ends with the point, so the head is evaluated once;
        its part before the answer may have been evaluated already (`prepare`)."""
        assert self.judge is not None
        start = self._judge_head(question)
        system = start[0]
        quoted = judged_text(answer)
        head = render("grade_head", question=question, answer=quoted)
        judging = getattr(self.judge, "judging", None)
        with judging(start, quoted) if judging else nullcontext():
            verdicts = [self.judge.p_yes([system, Message("user", f"{head}\n\n{render('grade_point', point=p.text)}")])
                        for p in points]
            contradiction = None
            if self.contradiction_call:
                reference = "\n".join(f"- {p.text}" for p in points)
                contradiction = self.judge.p_yes(
                    [system, Message("user", f"{head}\n\n{render('grade_contradiction', reference=reference)}")])
        asked = [*verdicts, contradiction] if self.contradiction_call else verdicts
        return verdicts, contradiction, len(asked), sum(v is None for v in asked)

    @property
    def _asks_points(self) -> bool:
        """The key-point questions are asked only when their answers count (or are recorded)."""
        return self.params.w_llm > 0 or self.contradiction_call

    def _heads(self, question: str, points: Sequence[KeyPoint]) -> list[list[Message]]:
        """The prompt heads a grade of an answer to `question` uses, in the order it uses them."""
        return ([self._judge_head(question)] if self._asks_points else []) + \
            ([self._claim_head(points)] if self.n_claims > 0 else [])

    def _check_claims(self, points: Sequence[KeyPoint], statements: Sequence[str]) -> list[float | None]:
        """P(yes) per statement for "according to the key points, is it correct?". The prompts share
        the head (the key points and the instruction), so it is evaluated once."""
        assert self.judge is not None
        if not statements:
            return []
        start = self._claim_head(points)
        judging = getattr(self.judge, "judging", None)
        with judging(start) if judging else nullcontext():
            return [self.judge.p_yes([start[0], Message("user", start[1].content + s)]) for s in statements]

    @staticmethod
    def _claim_head(points: Sequence[KeyPoint]) -> list[Message]:
        mark = "\x00statement\x00"
        user = render("grade_claim", notes="\n".join(f"- {p.text}" for p in points), statement=mark)
        return [Message("system", render("grade_claim_system")), Message("user", user[: user.index(mark)])]

    @staticmethod
    def _judge_head(question: str) -> list[Message]:
        """The start every judge prompt for `question` shares: the system message, and the user
        message up to where the answer begins."""
        mark = "\x00answer\x00"  # `clean` removes NUL bytes, so no answer contains it
        user = render("grade_head", question=question, answer=mark)
        return [Message("system", render("grade_system")), Message("user", user[: user.index(mark)])]

    def _card(self, sig: scoring.AnswerSignals, chosen: Sequence[tuple[KeyPoint, float]], score: float, verdict: str,
              reason: str, t0: float, calls: int = 0, failures: int = 0, **base) -> Grade:
        results = []
        for (p, _), ps in zip(chosen, sig.points or [scoring.PointSignals(0.0, 0.0)] * len(chosen)):
            credit = scoring.point_credit(ps, self.params) if sig.points else 0.0
            results.append(PointResult(p.text, p.section, p.chunk_id, p.label, ps.similarity, ps.terms, ps.llm,
                                       round(credit, 4)))
        covered = tuple(r.text for r in results if r.credit >= 0.5 and verdict not in ("empty", "off-topic"))
        missing = tuple(r.text for r in results if r.text not in covered)
        return Grade(score, verdict, covered, missing, "", points=tuple(results), signals=sig, reason=reason,
                     llm_calls=calls, parse_failures=failures, seconds=round(time.perf_counter() - t0, 3), **base)

    # -- feedback ----------------------------------------------------------------------------------
    def feedback_stream(self, question: str, grade: Grade) -> Iterator[str]:
        """Short feedback, streamed. Deterministic (no LLM) for the pre-checked cases."""
        fixed = fixed_feedback(grade)
        if fixed is not None or self.model is None:
            yield fixed if fixed is not None else template_feedback(grade)
            return
        wrong = "The answer also contains a claim that contradicts the reference.\n" if grade.signals and \
            scoring.contradicted(grade.signals, self.params) else ""
        prompt = render("grade_feedback", question=clean(question, MAX_QUESTION_CHARS).text, score=grade.score,
                        verdict=grade.verdict, covered=_bullets(grade.covered), missing=_bullets(grade.missing),
                        wrong=wrong, task=feedback_task(grade))
        messages = [Message("system", "You are a concise, encouraging technical interview coach."),
                    Message("user", prompt)]
        yield from self.model.stream(messages, max_tokens=FEEDBACK_TOKENS)

    def grade_with_feedback(self, question: str, answer: object, *, chunk_ids: Sequence[str] = ()) -> Grade:
        g = self.grade(question, answer, chunk_ids=chunk_ids)
        text = "".join(self.feedback_stream(question, g)).strip()
        return replace(g, feedback=text or template_feedback(g))


def judged_text(answer: str) -> str:
    """The answer as the judge's prompts quote it (and as `prepare` reads it ahead while typed).

    >>> judged_text("TCP </answer> FIN")
    'TCP [/answer] FIN'
    """
    return quote(answer[:LLM_ANSWER_CHARS])


CLAIM_WORDS = 60  # a statement longer than this is cut: it is one prompt per sentence


def claim_sentences(sents: Sequence[str], relevance: Sequence[float], n: int) -> list[str]:
    """The `n` sentences most relevant to the rubric, most relevant first, each cut to CLAIM_WORDS.

    >>> claim_sentences(["a b", "c d", "e f"], [0.2, 0.9, 0.5], 2)
    ['c d', 'e f']
    """
    order = sorted(range(len(sents)), key=lambda i: -relevance[i])[: max(n, 0)]
    return [" ".join(sents[i].split()[:CLAIM_WORDS]) for i in order]


def focus(sents: Sequence[str], relevance: Sequence[float], words: int) -> str:
    """The most relevant sentences that fit in `words` words, in their original order; when none
    fits, the most relevant one cut to `words` words.

    >>> focus(["a b c", "d e", "f g h i"], [0.1, 0.9, 0.5], 6)
    'd e f g h i'
    >>> focus(["a b c d"], [0.3], 2)
    'a b'
    """
    keep, used = set(), 0
    for i in sorted(range(len(sents)), key=lambda i: -relevance[i]):
        n = len(sents[i].split())
        if used + n <= words:
            keep.add(i)
            used += n
    if not keep:
        best = max(range(len(sents)), key=lambda i: relevance[i])
        return " ".join(sents[best].split()[:words])
    return " ".join(sents[i] for i in sorted(keep))


def feedback_task(g: Grade) -> str:
    """What the feedback should do. With nothing covered, "say what was good" made the 1.5B praise
    points the card lists as missed.

    >>> feedback_task(Grade(2.0, "weak", (), ("TIME_WAIT lasts 2*MSL",), "", ()))[:27]
    'the answer covered none of '
    """
    if not g.covered:
        return ("the answer covered none of the key points, so do not praise it: say which missed points "
                "to explain first")
    if not g.missing:
        return "say what was good, and one thing that would make the answer even clearer"
    return "say what was good, then what to add or correct"


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {x}" for x in items) or "- (none)"


def fixed_feedback(g: Grade) -> str | None:
    """Feedback that needs no LLM: the answer was empty, too short, an echo, off-topic, or an
    injection attempt."""
    todo = "; ".join(g.missing[:3])
    if g.verdict == "empty":
        return f"No answer was given. A good answer would cover: {todo}." if todo else "No answer was given."
    if g.signals and g.signals.injection:
        return ("Your answer contains instructions addressed to the grader; they were ignored and the score is "
                f"capped at {g.score}. Answer the question itself" + (f", e.g.: {todo}." if todo else "."))
    if g.reason.startswith(("too short", "the answer mostly repeats")):
        return f"The answer is too thin to grade ({g.reason}). Explain it in your own words" + \
            (f", covering: {todo}." if todo else ".")
    if g.verdict == "off-topic":
        return "This answer does not address the question that was asked" + (f"; it should cover: {todo}." if todo else ".")
    return None


def template_feedback(g: Grade) -> str:
    parts = []
    if g.covered:
        parts.append("You covered: " + "; ".join(g.covered[:3]) + ".")
    if g.missing:
        parts.append("Add: " + "; ".join(g.missing[:3]) + ".")
    return " ".join(parts) or "Graded against the roadmap's key points."
