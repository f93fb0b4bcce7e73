"""Handlers for the talking commands: grade, ask, interview. Thin: they build the library objects
once per process (one model load per batch), feed them and print. Contracts (exact):

- `coach grade --batch FILE --json`: in `{"id","question","answer"}`, out per line
  `{"id","score","verdict","covered","missing","feedback","citations"}` or `{"id","error"}`;
- `coach ask --batch FILE --json`: in `{"id","question","context"?}`, out
  `{"id","answer","citations","declined"}` or `{"id","error"}`;
- `coach interview --json` with nothing on stdin: the first question as `{"question","section","level"}`.
"""

from __future__ import annotations

import sys
import threading

from coach.config import Config
from coach.errors import UsageError
from coach.jsonl import dumps, read_items, run_batch
from coach.lazy import once


class Runtime:
    """Lazily built backends, shared by every item of a batch."""

    def __init__(self, cfg: Config, *, llm: bool = True) -> None:
        self.cfg = cfg
        self.use_llm = llm
        self._retriever = self._model = self._grader = self._explainer = None

    # built once even when a background thread (the interview working ahead) asks at the same time
    @property
    def retriever(self):
        from coach.runtime import open_retriever

        return once(self, "_retriever", lambda: open_retriever(self.cfg))

    @property
    def model(self):
        from coach.llm import make_chat_model

        return once(self, "_model", lambda: make_chat_model(self.cfg)) if self.use_llm else None

    @property
    def grader(self):
        return once(self, "_grader", self._make_grader)

    def _make_grader(self):
        from coach.grading import Grader
        from coach.models import grading_caveat

        if self.use_llm and (note := grading_caveat(self.cfg)):
            print(f"note: {note}", file=sys.stderr, flush=True)
        return Grader(self.retriever, self.model)

    @property
    def explainer(self):
        from coach.explain import Explainer

        return once(self, "_explainer", lambda: Explainer(self.retriever, self.model))

    def bank(self):
        from coach.bank import QuestionBank, bank_path
        from coach.index import load_saved

        # the retriever (and its embedder) is only touched when the cache must be rebuilt
        if not bank_path(self.cfg.data_dir).is_file():
            print("preparing the question bank (once per corpus)...", file=sys.stderr, flush=True)
        return QuestionBank.over(load_saved(self.cfg), bank_path(self.cfg.data_dir), lambda: self.retriever)


def _out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


# -- grade ------------------------------------------------------------------------------------------
def cmd_grade(cfg: Config, args) -> int:
    rt = Runtime(cfg, llm=not args.no_llm)
    if args.batch:
        if args.question or args.answer is not None:
            raise UsageError("give either --question/--answer or --batch FILE, not both")
        if not args.json:
            raise UsageError("--batch writes JSON lines: add --json")
        items = list(read_items(args.batch, ("question", "answer")))
        if any(not i.error for i in items) and rt.model is not None and hasattr(rt.model, "load"):
            rt.model.load()  # a missing or broken model fails the batch once, up front
        run_batch(items, lambda d: "empty question: nothing to grade against" if not d["question"].strip() else None,
               lambda d: _grade_full(rt, d["question"], d["answer"], args.quick).to_json())
        return 0
    if not (args.question or "").strip():
        raise UsageError('nothing to grade: coach grade --question "..." --answer "..." (or --batch FILE.jsonl --json)')
    if args.answer is None:
        raise UsageError('missing --answer (use --answer - to read the answer from stdin)')
    answer = sys.stdin.read() if args.answer == "-" else args.answer
    if args.json:
        _out(dumps(_grade_full(rt, args.question, answer, args.quick).to_json()))
        return 0
    g = rt.grader.grade(args.question, answer)
    _out(score_card(g))
    _out("feedback: ", end="")
    for piece in _feedback(rt, args.question, g, args.quick):
        _out(piece, end="")
    _out()
    return 0


def _feedback(rt: Runtime, question: str, g, quick: bool):
    from coach.grading import template_feedback, fixed_feedback

    if quick:
        yield fixed_feedback(g) or template_feedback(g)
    else:
        yield from rt.grader.feedback_stream(question, g)


def _grade_full(rt: Runtime, question: str, answer: str, quick: bool):
    from dataclasses import replace

    from coach.grading import template_feedback

    g = rt.grader.grade(question, answer)
    text = "".join(_feedback(rt, question, g, quick)).strip()
    return replace(g, feedback=text or template_feedback(g))


def score_card(g) -> str:
    lines = [f"score: {g.score:g}/10 ({g.verdict})"]
    if g.reason:
        lines.append(f"note: {g.reason}")
    if g.note:
        lines.append(f"note: {g.note}")
    lines += [f"  + {x}" for x in g.covered] + [f"  - {x}" for x in g.missing]
    if g.citations:
        lines.append("sources: " + ", ".join(f"[{c}]" for c in g.citations))
    return "\n".join(lines)


# -- ask --------------------------------------------------------------------------------------------
def cmd_ask(cfg: Config, args) -> int:
    rt = Runtime(cfg)
    if args.batch:
        if args.question:
            raise UsageError("give either a QUESTION or --batch FILE, not both")
        if not args.json:
            raise UsageError("--batch writes JSON lines: add --json")
        items = list(read_items(args.batch, ("question",)))
        run_batch(items, lambda d: "context must be a string" if not isinstance(d.get("context", ""), (str, type(None)))
               else None, lambda d: rt.explainer.answer(d["question"], d.get("context")).to_json())
        return 0
    if not (args.question or "").strip():
        raise UsageError('nothing to ask: coach ask "your question" (or --batch FILE.jsonl --json)')
    stream = rt.explainer.stream(args.question, args.context)
    if args.json:
        for _ in stream:
            pass
        _out(dumps(stream.result.to_json()))
        return 0
    for piece in stream:
        _out(piece, end="")
    _out()
    a = stream.result
    if a is not None and a.citations:
        titles = {s.id: s.title for s in rt.retriever.corpus.sections}
        _out("sources: " + "; ".join(f"[{c}] {titles.get(c, '')}".strip() for c in a.citations))
    return 0


# -- interview --------------------------------------------------------------------------------------
def cmd_interview(cfg: Config, args) -> int:
    from coach.backend import BankView
    from coach.interview import Session, finish_work_ahead, question_json
    from coach.store import Store

    rt = Runtime(cfg)
    bank = rt.bank()
    store = Store.open(cfg)
    queue, asked, stored = [], [], None
    if args.resume is not None:
        if args.section is not None or args.level is not None:
            raise UsageError("--resume continues a session with its own section and level: drop --section/--level")
        stored, queue, asked = _resumable(store, bank, args.resume)
        section, level = stored.section, stored.level
    else:
        section = bank.resolve_section(args.section).id if args.section is not None else None
        level = args.level
    session = Session(BankView(bank, threading.Lock(), queue), _LazyGrader(rt), _LazyExplainer(rt),
                      section=section, level=level, seed=args.seed, generator=_LazyModel(rt))
    session.asked = list(asked)
    first = session.start()
    if first.question is None:
        raise UsageError(first.message or "no questions for this selection")
    log = _Recorder(store, rt, stored, "section" if section else "mock", section, level)
    if args.json:
        _out(dumps(question_json(first.question, section)))
        for line in sys.stdin:
            before = session.current
            turn = session.handle(line.rstrip("\n"))
            rec = {"kind": turn.kind, "message": turn.message}
            feedback = ""
            if turn.grade is not None:
                feedback = "".join(session.stream_feedback()).strip()
                rec["grade"] = {**turn.grade.to_json(), "feedback": feedback}
            if turn.kind == "explain":
                rec["explanation"] = "".join(session.stream_explanation()).strip()
            if turn.question is not None:
                rec["next"] = question_json(turn.question, section)
            log.turn(before, line.rstrip("\n"), turn, feedback)
            rec["session"] = log.session_id
            _out(dumps(rec))
            if turn.kind == "done":
                break
        return 0
    tty = sys.stdin.isatty()
    if stored is not None:
        _out(f"Resuming session {stored.id} ({len(asked)} question(s) so far).")
    _out(f"Mock interview{f' on {section}' if section else ''}. Answer in one line; commands: "
         "hint, explain, skip, next, quit.\n")
    _show_question(first)
    try:
        return _converse(session, log, tty)
    finally:
        finish_work_ahead()


def _converse(session, log, tty: bool) -> int:
    """The terminal loop."""
    from coach.interview import work_ahead

    while True:
        work_ahead(session)
        try:
            line = input("> ") if tty else sys.stdin.readline()
        except EOFError:
            line = ""
        if not line and not tty:  # end of input: keep the session open for --resume
            if log.session_id:
                _out(f"session {log.session_id} saved: coach interview --resume {log.session_id}")
            return 0
        before = session.current
        turn = session.handle(line)
        feedback = ""
        if turn.grade is not None:
            _out(score_card(turn.grade))
            _out("feedback: ", end="")
            parts = []
            for piece in session.stream_feedback():
                parts.append(piece)
                _out(piece, end="")
            feedback = "".join(parts).strip()
            _out()
        if turn.kind == "explain":
            for piece in session.stream_explanation():
                _out(piece, end="")
            _out()
        elif turn.message:
            _out(turn.message)
        log.turn(before, line, turn, feedback)
        if turn.kind == "done" or turn.question is None:
            if log.session_id:
                _out(f"session {log.session_id} saved: coach history --export {log.session_id}")
            return 0
        if turn.kind not in ("hint", "explain", "error", "notice"):
            _show_question(turn)


def _resumable(store, bank, session_id: str):
    """(stored session, questions to ask first, question ids already asked) for --resume [ID]."""
    from coach.backend import bank_question
    from coach.practice import _review_questions

    stored = store.latest_open() if session_id == "" else store.session(session_id)
    if stored is None:
        raise UsageError('no open session to resume: start one with "coach interview" ("coach history" lists them)')
    if stored.status != "open":
        raise UsageError(f"session {stored.id} is finished: start a new one with \"coach interview\"")
    turns = store.turns(stored.id)
    queue = ([stored.pending] if stored.pending else []) + _review_questions(store, stored, turns)
    return stored, [bank_question(q, bank) for q in queue], [t.question.id for t in turns]


class _Recorder:
    """Every completed turn goes to the SQLite store (one transaction each), as the app's do: a
    killed terminal loses nothing, and `--resume` asks the pending question again. The stored
    session is created with the first line the user types."""

    def __init__(self, store, rt: Runtime, stored, mode: str, section: str | None, level: int | None) -> None:
        self.store, self.rt, self.mode, self.section, self.level = store, rt, mode, section, level
        self.session_id = stored.id if stored is not None else None

    def turn(self, before, text: str, turn, feedback: str) -> None:
        from coach.backend import grade_record, question_ref
        from coach.interview import parse_command

        if before is None:
            return
        if self.session_id is None:
            self.session_id = self.store.create_session(self.mode, self.section, self.level).id
        sid = self.session_id
        if turn.grade is not None:
            self.store.record_turn(sid, question_ref(before), text,
                                   grade_record(turn.grade, self.rt.retriever.chunks, feedback))
        elif parse_command(text) in ("skip", "next"):  # asked, not answered
            self.store.record_turn(sid, question_ref(before), "", None)
        if turn.kind == "done":
            self.store.finish(sid)
        elif turn.question is not None:
            self.store.set_pending(sid, question_ref(turn.question))


def _show_question(turn) -> None:
    q = turn.question
    tag = "follow-up" if turn.followup else f"[{q.section}] level {q.level}"
    _out(f"\n{tag}: {q.text}")


class _LazyGrader:
    """The grader, built (and the models loaded) only when the first answer arrives."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def grade(self, question, answer, *, chunk_ids=()):
        return self.rt.grader.grade(question, answer, chunk_ids=chunk_ids)

    def feedback_stream(self, question, grade):
        return self.rt.grader.feedback_stream(question, grade)

    def prepare(self, question, chunk_ids=(), answer=""):  # loads the models while the user types the first answer
        self.rt.grader.prepare(question, chunk_ids, answer)

    def key_points(self, question, chunk_ids=()):
        return self.rt.grader.key_points(question, chunk_ids)


class _LazyExplainer:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def stream(self, question, context=None):
        return self.rt.explainer.stream(question, context)


class _LazyModel:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def complete(self, messages, schema=None, *, max_tokens=512):
        return self.rt.model.complete(messages, schema, max_tokens=max_tokens)

    def stream(self, messages, *, max_tokens=512):
        return self.rt.model.stream(messages, max_tokens=max_tokens)
