"""Handlers for the talking commands: grade, ask, interview. Thin: the root builds the library objects
once per process (one model load per batch); these feed them and print. Contracts (exact):

- `coach grade --batch FILE --json`: in `{"id","question","answer"}`, out per line
  `{"id","score","verdict","covered","missing","feedback","citations"}` or `{"id","error"}`;
- `coach ask --batch FILE --json`: in `{"id","question","context"?}`, out
  `{"id","answer","citations","declined"}` or `{"id","error"}`;
- `coach interview --json` with nothing on stdin: the first question as `{"question","section","level"}`;
  with lines on stdin, one record per line `{"kind","message","grade"?,"explanation"?,"next"?,"session"}`.
"""

from __future__ import annotations

import sys

from coach.cli.output import EventPrinter, out
from coach.errors import UsageError
from coach.jsonl import dumps, read_items, run_batch
from coach.root import Coach


def _note(root: Coach) -> None:
    if note := root.grading_note:
        print(f"note: {note}", file=sys.stderr, flush=True)


# -- grade ------------------------------------------------------------------------------------------
def cmd_grade(root: Coach, args) -> int:
    if args.batch:
        if args.question or args.answer is not None:
            raise UsageError("give either --question/--answer or --batch FILE, not both")
        if not args.json:
            raise UsageError("--batch writes JSON lines: add --json")
        items = list(read_items(args.batch, ("question", "answer")))
        if any(not i.error for i in items):
            _note(root)
            root.warm_up()  # a missing index or broken model fails the batch once, up front
        run_batch(items, lambda d: "empty question: nothing to grade against" if not d["question"].strip() else None,
                  lambda d: _grade_json(root, d["question"], d["answer"], args.quick))
        return 0
    if not (args.question or "").strip():
        raise UsageError('nothing to grade: coach grade --question "..." --answer "..." (or --batch FILE.jsonl --json)')
    if args.answer is None:
        raise UsageError("missing --answer (use --answer - to read the answer from stdin)")
    answer = sys.stdin.read() if args.answer == "-" else args.answer
    _note(root)
    if args.json:
        out(dumps(_grade_json(root, args.question, answer, args.quick)))
        return 0
    from coach.grading import card

    g = root.grader.grade(args.question, answer)
    out(card.text(g))
    out("feedback: ", end="")
    for piece in _feedback(root, args.question, g, args.quick):
        out(piece, end="")
    out()
    return 0


def _feedback(root: Coach, question: str, g, quick: bool):
    from coach.grading.feedback import fixed_feedback, template_feedback

    if quick:
        yield fixed_feedback(g) or template_feedback(g)
    else:
        yield from root.grader.feedback(question, g)


def _grade_json(root: Coach, question: str, answer: str, quick: bool) -> dict:
    from coach.grading.feedback import template_feedback

    g = root.grader.grade(question, answer)
    text = "".join(_feedback(root, question, g, quick)).strip()
    return g.to_json(text or template_feedback(g))


# -- ask --------------------------------------------------------------------------------------------
def cmd_ask(root: Coach, args) -> int:
    if args.batch:
        if args.question:
            raise UsageError("give either a QUESTION or --batch FILE, not both")
        if not args.json:
            raise UsageError("--batch writes JSON lines: add --json")
        items = list(read_items(args.batch, ("question",)))
        run_batch(items, lambda d: "context must be a string" if not isinstance(d.get("context", ""), (str, type(None)))
                  else None, lambda d: root.explainer.answer(d["question"], d.get("context")).to_json())
        return 0
    if not (args.question or "").strip():
        raise UsageError('nothing to ask: coach ask "your question" (or --batch FILE.jsonl --json)')
    stream = root.explainer.stream(args.question, args.context)
    if args.json:
        for _ in stream:
            pass
        out(dumps(stream.result.to_json()))
        return 0
    for piece in stream:
        out(piece, end="")
    out()
    a = stream.result
    if a is not None and a.citations:
        titles = {s.id: s.title for s in root.corpus().sections}
        out("sources: " + "; ".join(f"[{c}] {titles.get(c, '')}".strip() for c in a.citations))
    return 0


# -- interview --------------------------------------------------------------------------------------
def cmd_interview(root: Coach, args) -> int:
    from coach.session.events import SessionSpec
    from coach.session.interview import finish_work_ahead, question_json
    from coach.session.practice import Practice

    if args.resume is not None:
        if args.section is not None or args.level is not None:
            raise UsageError("--resume continues a session with its own section and level: drop --section/--level")
        practice, turns = Practice.resume(root.db, root, args.resume)
    else:
        section = root.bank.resolve_section(args.section).id if args.section is not None else None
        spec = SessionSpec("section" if section else "mock", section, args.level)
        practice, turns = Practice.new(root.db, root, spec), []
    root.background = not args.json  # work ahead while a person types; a script sends lines at once
    first = list(practice.start())
    asked = practice.question
    if asked is None:
        raise UsageError(next((e.reason for e in first if hasattr(e, "reason")), "") or "no questions for this selection")
    try:
        if args.json:
            return _json_session(practice, question_json, first)
        if turns:
            out(f"Resuming session {practice.session_id} ({len(turns)} question(s) so far).")
        out(f"Mock interview{f' on {practice.spec.section}' if practice.spec.section else ''}. Answer in one line; "
            "commands: hint, explain, skip, next, quit.\n")
        printer = EventPrinter()
        for ev in first:
            printer.show(ev)
        return _converse(practice, printer)
    finally:
        finish_work_ahead()


def _json_session(practice, question_json, first) -> int:
    section = practice.spec.section
    out(dumps(question_json(practice.question, section)))
    for line in sys.stdin:
        text = line.rstrip("\n")
        rec: dict = {}
        feedback, explanation = [], []
        for ev in practice.send(text):
            kind = type(ev).__name__
            if kind == "Graded":
                rec["grade"] = ev.grade
            elif kind == "Said" and ev.kind == "feedback":
                feedback.append(ev.text)
            elif kind == "Said" and ev.kind == "explanation":
                explanation.append(ev.text)
            elif kind == "Asked":
                rec["next"] = question_json(ev.question, section)
        turn = practice.interview.last
        record = {"kind": turn.kind, "message": turn.message}
        if "grade" in rec:
            record["grade"] = rec["grade"].to_json("".join(feedback).strip())
        if turn.kind == "explain":
            record["explanation"] = "".join(explanation).strip()
        if "next" in rec:
            record["next"] = rec["next"]
        record["session"] = practice.session_id
        out(dumps(record))
        if turn.kind == "done":
            break
    return 0


def _converse(practice, printer: EventPrinter) -> int:
    """The terminal loop: one line in, the events printed."""
    tty = sys.stdin.isatty()
    while True:
        try:
            line = input("> ") if tty else sys.stdin.readline()
        except EOFError:
            line = ""
        if not line and not tty:  # end of input: keep the session open for --resume
            if practice.session_id:
                out(f"session {practice.session_id} saved: coach interview --resume {practice.session_id}")
            return 0
        ended = False
        for ev in practice.send(line.rstrip("\n")):
            printer.show(ev)
            ended = ended or type(ev).__name__ == "Ended"
        printer.end()
        if ended:
            if practice.session_id:
                out(f"session {practice.session_id} saved: coach history --export {practice.session_id}")
            return 0
