"""The composition root: the one place that picks and builds the backends, shared by the CLI, the app,
the eval suites and the scripts.

`Coach(cfg)` builds nothing until asked: each part (embedder, vector store, reranker, retriever,
chat model, judge, grader, explainer, question bank, progress store) is made on first use, once,
even when two threads ask at once (the app works ahead in background threads). Any backend can be
handed in ready-made through `Backends` (tests pass fakes; `--no-rerank` passes no reranker);
nothing else in the package constructs a backend. Heavy models load inside their adapters on
their first call, so building a part is cheap.

It also answers the two things the app and the terminal ask of a coach (`Interviewer`):
`interview(spec)` and `ask(question)`. With a `progress` callback they first `warm_up`: assemble
the packaged model if needed, build the index if it is missing or stale, and load the models,
reporting each step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from coach.config import Config
from coach.errors import CoachError, IndexNotBuiltError
from coach.lazy import once
from coach.session.events import Event, ProgressFn, SessionSpec


@dataclass(frozen=True)
class Backends:
    """Ready-made backends to use instead of building them from the config (None: build it)."""

    embedder: Any = None  # coach.retrieval.embedder.Embedder
    vectors: Any = None  # coach.retrieval.vectors.VectorStore
    reranker: Any = None  # coach.retrieval.rerank.Reranker
    chat: Any = None  # coach.llm.chat.ChatModel
    judge: Any = None  # coach.llm.judge.Judge


def _quiet(fraction: float, desc: str) -> None:
    pass


class Coach:
    """Everything the commands need, built from `cfg` on first use. `llm=False` runs without a
    language model (grading from the deterministic signals, no explanations); `log` receives
    one-line notes about slow first-time work; `background` lets interviews work ahead in threads;
    `seed` fixes the question order."""

    def __init__(self, cfg: Config, backends: Backends = Backends(), *, llm: bool = True,
                 log: Callable[[str], None] = lambda _msg: None, background: bool = False,
                 seed: int | None = None) -> None:
        self.cfg = cfg
        self.backends = backends
        self.use_llm = llm
        self.log = log
        self.background = background
        self.seed = seed
        self._embedder = self._vectors = self._reranker = self._retriever = None
        self._chat = self._judge = self._rubrics = self._grader = self._explainer = self._keys = None
        self._bank = self._db = self._drafter = None
        self._llama: Any = None  # the in-process model, when this root built it
        self._model_progress: Callable[[int, int], None] | None = None  # (bytes done, total) while assembling
        self._ready = False  # warmed up
        self._bank_lock = threading.Lock()  # question generation writes the shared bank cache
        self._warm = threading.Lock()

    # -- retrieval -----------------------------------------------------------------------------------
    @property
    def embedder(self):
        def make():
            from coach.retrieval.embedder import SentenceTransformerEmbedder

            e = self.cfg.embedder
            return SentenceTransformerEmbedder(e.model, e.batch_size, e.device, e.query_prefix)
        return once(self, "_embedder", lambda: self.backends.embedder or make())

    @property
    def vectors(self):
        def make():
            from coach.retrieval.vectors import ChromaStore

            return ChromaStore(self.cfg.store, self.cfg.index_dir / "chroma", self.embedder)
        return once(self, "_vectors", lambda: self.backends.vectors or make())

    @property
    def reranker(self):
        return once(self, "_reranker", lambda: self.backends.reranker or self._make_reranker())

    def _make_reranker(self):
        from coach.retrieval.rerank import NoopReranker

        r = self.cfg.reranker
        if r.model == "none" or not self.cfg.retrieval.rerank:
            return NoopReranker()
        if r.model == "maxsim":
            from coach.retrieval.maxsim import MaxSimReranker

            return MaxSimReranker(self.embedder, r.blend)
        from coach.retrieval.crossencoder import load_reranker

        return load_reranker(self.cfg)

    @property
    def retriever(self):
        """The retriever over the saved index; clear errors when it is missing or from another embedder."""
        def make():
            from coach.retrieval.index import load_saved, read_manifest
            from coach.retrieval.retriever import Retriever

            if read_manifest(self.cfg) is None:
                raise IndexNotBuiltError()
            return Retriever(load_saved(self.cfg), self.embedder, self.vectors, self.cfg.retrieval, self.reranker)
        return once(self, "_retriever", make)

    def corpus(self):
        """Sections, chunks and questions: from the saved index when there is one, else straight from
        the corpus files (no model either way)."""
        from coach.corpus.loader import load_corpus
        from coach.retrieval.index import load_saved, read_manifest

        try:
            if read_manifest(self.cfg) is not None:
                return load_saved(self.cfg)
        except CoachError:
            pass  # e.g. built with another embedder: the files still list the sections
        return load_corpus(self.cfg.corpus_dir, self.cfg.chunking.max_tokens)

    def index(self, *, rebuild: bool = False, progress=None, log: Callable[[str], None] | None = None):
        """Bring the index in line with the corpus (`coach.retrieval.index.build_index`)."""
        from coach.retrieval.index import build_index

        kw = {"progress": progress} if progress else {}
        report = build_index(self.cfg, self.embedder, self.vectors, rebuild=rebuild, log=log or self.log, **kw)
        self._retriever = self._bank = self._rubrics = self._grader = self._explainer = self._keys = None  # new index
        return report

    # -- the language model --------------------------------------------------------------------------
    @property
    def chat(self):
        """The chat model, or None when running without one."""
        if not self.use_llm:
            return None
        return once(self, "_chat", lambda: self.backends.chat or self._make_chat())

    def _make_chat(self):
        llm = self.cfg.llm
        if llm.backend == "openai":
            from coach.llm.openai_api import OpenAIChatModel

            return OpenAIChatModel(llm.base_url, llm.api_model, llm.api_key, seed=llm.seed)
        from coach.llm.llama import LlamaCppChatModel
        from coach.llm.packaged import ensure_model

        path = ensure_model(self.cfg, self._model_progress)
        self._llama = LlamaCppChatModel(path, llm.n_ctx, llm.n_threads, llm.seed)
        return self._llama

    @property
    def judge(self):
        """The grading judge: llama.cpp's logits for the in-process model, else the model's verdict."""
        def make():
            if self.backends.judge is not None:
                return self.backends.judge
            chat = self.chat
            if chat is None:
                return None
            if chat is self._llama:
                from coach.llm.llama_judge import LlamaJudge

                return LlamaJudge(self._llama)
            from coach.llm.judge import VerdictJudge

            return VerdictJudge(chat)
        return once(self, "_judge", make) if self.use_llm else None

    @property
    def grading_note(self) -> str:
        """What to tell a user whose configured model is known to grade badly ("" when none)."""
        from coach.llm.packaged import grading_caveat

        return grading_caveat(self.cfg) if self.use_llm else ""

    # -- grading, explaining, interviewing -----------------------------------------------------------
    @property
    def rubrics(self):
        from coach.grading.rubric import Rubrics

        return once(self, "_rubrics", lambda: Rubrics(self.retriever))

    @property
    def keys(self):
        """The answer keys of the indexed corpus, matched to questions (`coach.grading.keys`)."""
        def make():
            from coach.grading.keys import KeyMatcher

            retriever = self.retriever

            def topic(question: str) -> str | None:
                hits = retriever.search(question, 1, rerank=False)
                return hits[0].chunk.section.split(".")[0] if hits else None

            return KeyMatcher(retriever.corpus.keys, lambda texts: retriever.embedder.embed(texts), topic)
        return once(self, "_keys", make)

    @property
    def grader(self):
        from coach.grading.grader import Grader
        from coach.grading.scoring import DEFAULT, KEYED

        g = self.cfg.grading
        return once(self, "_grader", lambda: Grader(self.rubrics, self.judge, self.chat, DEFAULT, self.keys,
                                                     keyed_params=KEYED, reference=g.reference,
                                                     drafter=self.drafter if g.draft_keys else None))

    @property
    def drafter(self):
        """Drafts answer keys for questions no reviewed key covers (None without a language model)."""
        def make():
            from coach.grading.draft import KeyDrafter

            retriever = self.retriever

            def gather(question: str):
                passages = [h.chunk for h in retriever.search(question, 3, rerank=False)]
                keys = [h.chunk for h in retriever.search(question, 2, rerank=False, kind="key")]
                return passages, keys

            return KeyDrafter(self.chat, gather, self.cfg.data_dir / "drafted_keys.json")
        return once(self, "_drafter", make) if self.use_llm else None

    @property
    def explainer(self):
        from coach.ask.explainer import Explainer

        return once(self, "_explainer", lambda: Explainer(self.retriever, self.chat, thresholds=self.cfg.ask,
                                                          keys=self.keys))

    @property
    def bank(self):
        """The question bank; the retriever (and its embedder) is touched only when its cache must be
        rebuilt or a question written."""
        def make():
            from coach.session.bank import QuestionBank, bank_path

            path = bank_path(self.cfg.data_dir)
            if not path.is_file():
                self.log("preparing the question bank (once per corpus)...")
            return QuestionBank.over(self.corpus(), path, lambda: self.retriever)
        return once(self, "_bank", make)

    @property
    def db(self):
        """The progress store (sessions, turns, reviews) in the data dir."""
        from coach.session.store import Store

        return once(self, "_db", lambda: Store.open(self.cfg))

    def interview(self, spec: SessionSpec, progress: ProgressFn | None = None):
        """A new `coach.session.interview.InterviewLoop` for `spec`. With `progress` (the app), the
        models are loaded first; without it (the terminal) they load on first use."""
        from coach.session.bank import BankView
        from coach.session.interview import InterviewLoop

        if progress is not None:
            self.warm_up(progress)
        review = spec.mode == "review"
        queue = ((spec.first,) if spec.first else ()) + spec.questions
        return InterviewLoop(BankView(self.bank, self._bank_lock, queue, more=not review), self.grader,
                             self.explainer if self.use_llm else None, section=spec.section, level=spec.level,
                             seed=self.seed, generator=None if review else self.chat, asked=spec.asked,
                             background=self.background)

    def ask(self, question: str, context: str | None = None, progress: ProgressFn | None = None) -> Iterator[Event]:
        """A grounded explanation as events (`Said(kind="answer")` pieces, then `Cited`)."""
        from coach.ask.explainer import events

        if progress is not None:
            self.warm_up(progress)
        return events(self.explainer, question, context)

    def warm_up(self, progress: ProgressFn = _quiet) -> None:
        """Everything the first request needs, once, reporting each step: the packaged model
        assembled, the index built or updated, the question bank mapped, the model loaded."""
        from coach.retrieval.index import is_up_to_date, read_manifest

        with self._warm:
            if self._ready:
                return
            progress(0.0, "checking the language model")

            def model_bytes(done: int, total: int) -> None:
                progress(0.05 + 0.3 * done / max(total, 1), "assembling the language model (first run only)")
            self._model_progress = model_bytes
            try:
                _ = self.chat
            finally:
                self._model_progress = None
            progress(0.35, "loading the embedder")
            if read_manifest(self.cfg) is None or not is_up_to_date(self.cfg):
                self.index(progress=_steps(progress, 0.4, 0.75))
            progress(0.8, "loading the index")
            _ = self.retriever
            progress(0.85, "preparing the question bank (first run: maps the roadmap's questions)")
            _ = self.bank
            progress(0.95, "loading the language model")
            if self._llama is not None:
                self._llama.load()  # now, under this progress message, rather than inside the first answer
            progress(1.0, "ready")
            self._ready = True


def _steps(progress: ProgressFn, start: float, end: float) -> Callable[[Iterable[Any], int, str], Iterable[Any]]:
    """An index progress (iterable, total, description) that reports into [start, end] of `progress`."""
    def wrap(it: Iterable[Any], total: int, desc: str) -> Iterator[Any]:
        for i, x in enumerate(it):
            progress(start + (end - start) * i / max(total, 1), desc)
            yield x
        progress(end, desc)

    return wrap
