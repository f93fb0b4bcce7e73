"""The rubric of a question: its answer key's facts when it has one, else reference passages
retrieved from the roadmap, cut into key points.

With a key (`Rubrics.for_key`): the key facts, core facts first, are the rubric; the key's own
chunk (its model answer) and the question's two best roadmap passages are the reference passages.

Without one (`Rubrics.for_question`):
1. retrieve for the question (the fused order: the rubric selection and the scoring marks were
   calibrated on it), drop the roadmap's question and lab lists, and prefer passages from the
   question's own roadmap section when the question is one of the roadmap's (or the source chunks
   of a generated question);
2. cut the passages into key points (`coach.grading.keypoints`) and keep the most relevant: up to
   `n_points`, ranked by similarity to the question plus the share of its words they contain,
   those far below the best left out (3.5 points on average, measured in BENCHMARKS.md).

Rubrics are cached per question, so the work done while the user types (`Grader.prepare`) is not
repeated at grading. Each question's passages are embedded in a batch of their own: padding in a
batch moves a vector by ~1e-7, enough to flip a rubric cut, so a grade depends on nothing graded
before it.

It does not judge answers (`coach.grading.grader`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from coach.corpus.answer_keys import AnswerKey, key_heading
from coach.corpus.text import tokenize
from coach.grading.keypoints import NOT_CONTENT, KeyPoint, plain, select, split_points, terms_of
from coach.grading.types import Rubric
from coach.retrieval.retriever import Retriever
from coach.types import Chunk, RoadmapQuestion

CACHE_SIZE = 512


def roadmap_topic(question: str, questions: Sequence[RoadmapQuestion], min_overlap: float = 0.6) -> str | None:
    """The top-level section of the roadmap question this text is (token Jaccard >= 0.6), if any.

    >>> qs = [RoadmapQuestion("3.17#2", "3.17", 2, "Explain the TCP handshake and TIME_WAIT.", "3")]
    >>> roadmap_topic("Explain the TCP handshake and TIME_WAIT", qs), roadmap_topic("What is BGP?", qs)
    ('3', None)
    """
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


class Rubrics:
    """Rubrics from the roadmap's passages, cached per (question, source chunks)."""

    def __init__(self, retriever: Retriever, *, n_points: int = 6, n_passages: int = 4,
                 lexical: float = 0.3, floor: float | None = 0.15) -> None:
        self.retriever = retriever
        self.embedder = retriever.embedder
        self.n_points = n_points
        self.n_passages = n_passages
        self.lexical = lexical  # see keypoints.select
        self.floor = floor
        self._qvecs: dict[str, list[float]] = {}
        self._cache: dict[tuple[str, tuple[str, ...]], Rubric] = {}
        self._lock = threading.Lock()

    def for_question(self, question: str, chunk_ids: Sequence[str] = ()) -> Rubric:
        key = (question, tuple(chunk_ids))
        with self._lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        chunks = self.passages(question, chunk_ids)
        vecs = self._vectors(chunks)
        rubric = Rubric(tuple(chunks), tuple(self._select(question, chunks, vecs)), vecs)
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = rubric
        return rubric

    def for_key(self, key: AnswerKey) -> Rubric:
        """The rubric of a keyed question: its facts (relevance 1), graded against the key's chunk and
        the question's best two roadmap passages."""
        cache = ("\x00key", (key.question_id,))
        with self._lock:
            found = self._cache.get(cache)
        if found is not None:
            return found
        own = next((c for c in self.retriever.chunks.values() if c.kind == "key"
                    and c.heading_path[-1] == key_heading(key.question_id)), None)
        hits = [h.chunk for h in self.retriever.search(key.question, 10, rerank=False)
                if not NOT_CONTENT.search(h.chunk.title)][:2]
        chunks = ([own] if own else []) + hits
        points = [KeyPoint(plain(f.text), key.section, own.id if own else "", terms_of(f.text), fact_label(f.text),
                           f.core) for f in key.facts]
        texts = list(dict.fromkeys([p.text for p in points] + [c.contextual_text for c in chunks]))
        vecs = dict(zip(texts, self.embedder.embed(texts)))
        rubric = Rubric(tuple(chunks), tuple((p, 1.0) for p in points), vecs)
        with self._lock:
            self._cache[cache] = rubric
        return rubric

    def passages(self, question: str, chunk_ids: Sequence[str] = ()) -> list[Chunk]:
        chunks = self.retriever.chunks
        fixed = [chunks[i] for i in chunk_ids if i in chunks]
        hits = self.retriever.search(question, 100, rerank=False)
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

    def query_vector(self, question: str) -> list[float]:
        """The question embedded as a query (the rubric and the relevance signal both need it)."""
        if question not in self._qvecs:
            self._qvecs[question] = self.embedder.embed([question], query=True)[0]
        return self._qvecs[question]

    def _vectors(self, chunks: Sequence[Chunk]) -> dict[str, list[float]]:
        """The chunks' key points and contextual texts, embedded in one call of their own."""
        texts = list(dict.fromkeys([p.text for c in chunks for p in split_points(c)] +
                                   [c.contextual_text for c in chunks]))
        return dict(zip(texts, self.embedder.embed(texts))) if texts else {}

    def _select(self, question: str, chunks: Sequence[Chunk], vecs: dict[str, list[float]]
                ) -> list[tuple[KeyPoint, float]]:
        points = [p for c in chunks for p in split_points(c)]
        if not points:
            return []
        return select(points, [vecs[p.text] for p in points], self.query_vector(question), self.n_points,
                      question_tokens=tokenize(question), lexical=self.lexical, floor=self.floor)


def fact_label(fact: str) -> str:
    """A short name for a key fact's topic, for a follow-up question: its first technical term
    without digits (a name, not the fact), else its first three words.

    >>> fact_label("`TIME_WAIT` lasts 2×MSL on the side that closes first.")
    'TIME_WAIT'
    >>> fact_label("Teardown is FIN and ACK in each direction.")
    'FIN'
    >>> fact_label("each side closes its half independently")
    'each side closes'
    """
    names = [t for t in terms_of(fact) if not any(ch.isdigit() for ch in t)]
    return names[0] if names else " ".join(plain(fact).split()[:3])
