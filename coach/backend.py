"""The real coach behind the app: the index, the embedder, the LLM and the interview engine,
built on first use with progress reported, then shared by every browser tab.

What it does: `RealCoach.interview(spec)` and `RealCoach.ask(question)` (the `coach.practice.Coach`
Protocol). The first call assembles the packaged model if needed, builds the index if it is
missing (and trains the reranker when the config asks for the trained one), loads the retriever,
and reports each step to a progress callback, so the page shows what is happening instead of
freezing. Missing or broken models and indexes surface as `CoachError`s that say what to run.

What it does not do: grade or choose questions itself (`coach.grading`, `coach.bank`,
`coach.interview`), or know anything about Gradio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coach.config import Config
from coach.practice import Asked, Cited, Ended, Event, Graded, ProgressFn, Said, SessionSpec, Skipped
from coach.store import Citation, GradeRecord, QuestionRef
from coach.types import Chunk, Section


def load_sections(cfg: Config) -> tuple[Section, ...]:
    """The roadmap's sections: from the saved index when there is one, else parsed from the corpus."""
    from coach.corpus import load_corpus
    from coach.errors import CoachError
    from coach.index import load_saved, read_manifest

    try:
        if read_manifest(cfg) is not None:
            return load_saved(cfg).sections
    except CoachError:
        pass  # e.g. built with another embedder: the files still list the sections
    return load_corpus(cfg.corpus_dir, cfg.chunking.max_tokens).sections


MAX_CITATIONS = 3  # passages shown under a grade: the ones its key points came from first


def grade_record(grade: Any, chunks: Mapping[str, Chunk], feedback: str = "") -> GradeRecord:
    """A `coach.grading.Grade` as the store and the app keep it: the cited passages resolved to
    their section id, heading path and text (the key points' own chunks first, then the other
    reference passages)."""
    ids = [p.chunk_id for p in getattr(grade, "points", ())] + list(getattr(grade, "passages", ()))
    cited = [chunks[i] for i in dict.fromkeys(ids) if i in chunks][:MAX_CITATIONS]
    citations = tuple(Citation(c.section, c.path_str, c.text, c.id) for c in cited)
    if not citations:  # no passage ids: keep at least the section ids
        citations = tuple(Citation(str(s), "", "") for s in getattr(grade, "citations", ()))
    return GradeRecord(float(grade.score), grade.verdict, tuple(grade.covered), tuple(grade.missing),
                       (grade.feedback or feedback).strip(), citations)


@dataclass(frozen=True)
class Engine:
    """What every interview shares, loaded once: the retriever, the model, the question bank
    (`coach.bank.QuestionBank`), the grader and the explainer."""

    retriever: Any  # coach.retrieve.Retriever
    model: Any  # coach.llm.ChatModel
    bank: Any  # coach.bank.QuestionBank
    grader: Any  # coach.grading.Grader
    explainer: Any  # coach.explain.Explainer
    bank_lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @classmethod
    def build(cls, retriever, model, bank_file=None) -> Engine:
        from coach.bank import QuestionBank
        from coach.explain import Explainer
        from coach.grading import Grader

        bank = QuestionBank.over(retriever.corpus, bank_file, lambda: retriever)
        return cls(retriever, model, bank, Grader(retriever, model), Explainer(retriever, model))


def question_ref(q) -> QuestionRef:
    """A `coach.bank.Question` as the store keeps it."""
    return QuestionRef(q.id, q.text, q.section, q.level, q.origin)


def bank_question(ref: QuestionRef, bank):
    """The bank's question for a stored reference (a follow-up or a since-regenerated question
    becomes a plain question on the same section)."""
    from coach.bank import Question

    found = next((q for q in bank.questions if q.id == ref.id), None)
    return found or Question(ref.id, ref.text, ref.section, ref.level if ref.level is not None else 1,
                             ref.source or "roadmap", ref.section.split(".")[0])


class BankView:
    """The shared bank as one session sees it: `queue` is asked first, in order (a resumed
    session's pending question; the due questions of a review); with `more=False` nothing else.
    Generation, which writes the shared cache, runs one session at a time."""

    def __init__(self, bank, lock: threading.Lock, queue=(), more: bool = True) -> None:
        self.bank, self.lock, self.queue, self.more = bank, lock, list(queue), more

    def pick(self, section=None, level=None, exclude=(), rng=None):
        seen = set(exclude)
        for q in self.queue:
            if q.id not in seen and q.text not in seen:
                return q
        return self.bank.pick(section, level, exclude, rng) if self.more else None

    def candidates(self, section=None, level=None):
        return list(self.queue) + (self.bank.candidates(section, level) if self.more else [])

    def generate(self, *args, **kw):
        with self.lock:
            return self.bank.generate(*args, **kw)


class _KeepStream:
    """The explainer, keeping the last answer stream so its citations can be shown."""

    def __init__(self, explainer) -> None:
        self.explainer, self.last = explainer, None

    def stream(self, question, context=None):
        self.last = self.explainer.stream(question, context)
        return self.last


def cited_passages(retriever, question: str, context: str | None, sections: Sequence[str], k: int = 4
                   ) -> tuple[Citation, ...]:
    """The passage behind each cited section id: the best retrieved chunk of that section (the
    explainer's own retrieval, repeated: it is deterministic and needs no model)."""
    hits = retriever.search(question, k, context=context or None) if sections else []
    out = []
    for sid in sections:
        chunk = next((h.chunk for h in hits if h.chunk.section == sid), None)
        if chunk is not None:
            out.append(Citation(chunk.section, chunk.path_str, chunk.text, chunk.id))
    return tuple(out)


class SessionInterview:
    """A `coach.interview.Session` driven as a `coach.practice.Interview`: its turns become events."""

    def __init__(self, session, engine: Engine, explainer: _KeepStream, background: bool = True) -> None:
        self.session, self.engine, self.explainer, self.background = session, engine, explainer, background

    def start(self) -> Iterator[Event]:
        yield from self._turn(self.session.start(), None, "")

    def send(self, text: str) -> Iterator[Event]:
        before = self.session.current
        yield from self._turn(self.session.handle(text), before, text)

    def typed(self, text: str) -> None:
        """The answer typed so far: read ahead by the grader (see `Session.typed`)."""
        if self.background:
            self.session.typed(text)

    def _turn(self, turn, before, text: str) -> Iterator[Event]:
        if turn.grade is not None and before is not None:
            yield Graded(question_ref(before), text, grade_record(turn.grade, self.engine.retriever.chunks))
            for piece in self.session.stream_feedback():
                yield Said(piece, "feedback")
        if turn.kind == "skipped" and before is not None:
            yield Skipped(question_ref(before))
        elif turn.kind == "hint" and turn.message:
            yield Said(turn.message, "hint")
        elif turn.kind == "explain":
            for piece in self.session.stream_explanation():
                yield Said(piece, "explanation")
            result = getattr(self.explainer.last, "result", None)
            if result is not None and result.citations and before is not None:
                yield Cited(cited_passages(self.engine.retriever, before.text, None, result.citations))
        elif turn.kind in ("notice", "error") and turn.message:
            yield Said(turn.message, "note")
        if turn.kind == "done":
            yield Ended(turn.message)
        elif turn.question is not None and turn.question is not before:
            yield Asked(question_ref(turn.question))
            if self.background:  # read the question (and write more if the bank runs low) while the user types
                from coach.interview import work_ahead

                work_ahead(self.session)


def _ask_events(engine: Engine, question: str, context: str | None) -> Iterator[Event]:
    stream = engine.explainer.stream(question, context)
    for piece in stream:
        yield Said(piece, "answer")
    result = stream.result
    if result is not None and result.citations:
        yield Cited(cited_passages(engine.retriever, question, context, result.citations), "answer")


def _quiet(fraction: float, desc: str) -> None:
    pass


def _steps(progress: ProgressFn, start: float, end: float) -> Callable[[Iterable[Any], int, str], Iterable[Any]]:
    """An `index.Progress` (iterable, total, description) that reports into [start, end] of `progress`."""
    def wrap(it: Iterable[Any], total: int, desc: str) -> Iterator[Any]:
        for i, x in enumerate(it):
            progress(start + (end - start) * i / max(total, 1), desc)
            yield x
        progress(end, desc)

    return wrap


class RealCoach:
    """The `Coach` of `coach serve`. `engine` is built from the config on first use; tests pass one
    built from fakes."""

    def __init__(self, cfg: Config, engine: Engine | None = None, *, background: bool = True,
                 seed: int | None = None) -> None:
        self.cfg = cfg
        self._engine = engine
        self._lock = threading.Lock()
        self.background = background  # pre-generate questions in a thread (off in tests)
        self.seed = seed  # question order; None: a different order every session

    def engine(self, progress: ProgressFn | None = None) -> Engine:
        """Build (once) and return the shared engine; other callers wait for the first."""
        progress = progress or _quiet
        with self._lock:
            if self._engine is None:
                self._engine = self._build(progress)
            return self._engine

    def _build(self, progress: ProgressFn) -> Engine:
        from coach import index
        from coach.bank import bank_path
        from coach.llm import make_chat_model
        from coach.runtime import make_embedder, make_store, open_retriever

        cfg = self.cfg
        progress(0.0, "checking the language model")

        def model_bytes(done: int, total: int) -> None:
            progress(0.05 + 0.3 * done / max(total, 1), "assembling the language model (first run only)")

        model = make_chat_model(cfg, model_bytes)
        progress(0.35, "loading the embedder")
        embedder = make_embedder(cfg)
        store = make_store(cfg, embedder)
        if index.read_manifest(cfg) is None or not index.is_up_to_date(cfg):
            index.build_index(cfg, embedder, store, progress=_steps(progress, 0.4, 0.7))
        from coach.rerank_train import ensure_trained

        ensure_trained(cfg, embedder, store, progress=_steps(progress, 0.7, 0.8), log=lambda _m: None)
        progress(0.8, "loading the index")
        retriever = open_retriever(cfg, embedder=embedder, store=store)
        progress(0.85, "preparing the question bank (first run: maps the roadmap's questions)")
        engine = Engine.build(retriever, model, bank_path(cfg.data_dir))
        progress(0.95, "loading the language model")
        if hasattr(model, "load"):
            model.load()  # now, under this progress message, rather than inside the first answer
        progress(1.0, "ready")
        return engine

    def interview(self, spec: SessionSpec, progress: ProgressFn | None = None) -> SessionInterview:
        from coach.interview import Session

        eng = self.engine(progress)
        queue = [bank_question(q, eng.bank) for q in ((spec.first,) if spec.first else ()) + spec.questions]
        review = spec.mode == "review"
        explainer = _KeepStream(eng.explainer)
        session = Session(BankView(eng.bank, eng.bank_lock, queue, more=not review), eng.grader, explainer,
                          section=spec.section, level=spec.level, seed=self.seed,
                          generator=None if review else eng.model)
        session.asked = list(spec.asked)
        return SessionInterview(session, eng, explainer, self.background)

    def ask(self, question: str, context: str | None = None, progress: ProgressFn | None = None) -> Iterator[Event]:
        return _ask_events(self.engine(progress), question, context)
