"""The app's event handlers: they translate between Gradio components and the library objects
(`Practice`, the progress `Store`, `coach.session.progress`, `coach.app.view`) and hold no logic of
their own. Each interview handler yields (chat messages, grade card, panel state, status) tuples.

What it does not do: lay out the page (`coach.app.layout`), grade, choose questions or load models
(the `Interviewer` does, on first use, with the progress shown here).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import gradio as gr

from coach import sanitize
from coach.app import view as fmt
from coach.errors import CoachError
from coach.session import progress as prog
from coach.session.events import Interviewer, Said, SessionSpec
from coach.session.history import export_markdown
from coach.session.practice import Practice
from coach.session.store import Store, utcnow
from coach.types import Section

log = logging.getLogger("coach.app")


@dataclass(frozen=True)
class Panel:
    """What one chat panel of one browser tab holds between events."""

    practice: Practice | None = None
    view: fmt.ChatView = fmt.ChatView()


def _level(value: str | None) -> int | None:
    return int(value) if value in ("0", "1", "2") else None


def _problem(e: Exception) -> str:
    if isinstance(e, CoachError):
        return f"⚠ {e}"
    log.exception("unexpected error in the app")
    return f"⚠ Something went wrong ({type(e).__name__}: {e}). The details are in the server's log."


class Callbacks:
    """The event handlers. Each yields (chat messages, grade card, panel state, status) tuples."""

    def __init__(self, store: Store, coach: Interviewer, sections: Sequence[Section],
                 now: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.coach = coach
        self.sections = tuple(sections)
        self.titles = {s.id: s.title for s in sections}
        self.now = now

    # interview panels ----------------------------------------------------------------------

    def _out(self, panel: Panel, status: str = ""):
        return list(panel.view.messages), panel.view.card, panel, status

    def _drive(self, panel: Panel, events: Callable[[], Iterator]) -> Iterator[tuple]:
        view = panel.view
        try:
            for ev in events():
                view = fmt.apply(view, ev)
                yield self._out(replace(panel, view=view))
        except Exception as e:  # noqa: BLE001 - shown to the user, never a traceback
            view = fmt.apply(view, Said(_problem(e), "note"))
            yield self._out(replace(panel, view=view), _problem(e))

    def start(self, mode: str, section: str | None, level: str | None, panel: Panel | None,
              progress=gr.Progress()) -> Iterator[tuple]:
        """Begin a new session of `mode` (mock, section, review)."""
        panel = Panel()
        if mode == "section" and not section:
            yield self._out(panel, "Pick a section first.")
            return
        questions = ()
        if mode == "review":
            questions = tuple(prog.due_questions(self.store.reviews(), self.store.all_turns(), self.now()))
            if not questions:
                yield self._out(panel, "Nothing is due for review yet: answer some questions in the other "
                                       "tabs, and the ones you found hard come back here.")
                return
        spec = SessionSpec(mode, section if mode == "section" else None, _level(level), questions)
        try:
            practice = Practice.new(self.store, self.coach, spec, _reporter(progress))
        except Exception as e:  # noqa: BLE001
            yield self._out(panel, _problem(e))
            return
        panel = Panel(practice, fmt.ChatView())
        yield from self._drive(panel, practice.start)

    def resume(self, mode: str, session_id: str | None, panel: Panel | None, progress=gr.Progress()
               ) -> Iterator[tuple]:
        """Reopen a saved session in the `mode` tab; each update also sets the tab's section and level
        controls to the session's. A session of another mode is left alone (the banner's "Resume it"
        runs this for every tab)."""
        panel = panel or Panel()
        if not session_id:
            yield (*self._out(panel, "Pick a saved session to resume."), gr.skip(), gr.skip())
            return
        try:
            session = self.store.session(session_id)
            if session.mode != mode:
                yield (gr.skip(),) * 6
                return
            practice, turns = Practice.resume(self.store, self.coach, session_id, _reporter(progress))
        except Exception as e:  # noqa: BLE001
            yield (*self._out(panel, _problem(e)), gr.skip(), gr.skip())
            return
        controls = (session.section or gr.skip(), "any" if session.level is None else str(session.level))
        panel = Panel(practice, fmt.transcript(turns))
        for out in self._drive(panel, practice.start):
            yield (*out, *controls)

    def offer(self):
        """The banner offering the most recent unfinished session: (row visibility, text, session id)."""
        latest = next((s for s in self.store.sessions() if s.session.status == "open" and s.turns), None)
        if latest is None:
            return gr.update(visible=False), "", None
        return gr.update(visible=True), fmt.offer_text(latest, self.titles), latest.session.id

    def offer_tab(self, session_id: str | None):
        """The tab to open for the offered session, and the banner hidden."""
        try:
            mode = self.store.session(session_id).mode if session_id else None
        except CoachError:
            mode = None
        return (gr.Tabs(selected=mode) if mode else gr.skip()), gr.update(visible=False)

    def send(self, text: str, panel: Panel | None) -> Iterator[tuple]:
        """An answer typed in the box, or a command from a button (hint, explain, skip, next)."""
        panel = panel or Panel()
        if panel.practice is None:
            yield self._out(panel, "Start a session first.")
            return
        shown = sanitize.clean(text).text  # what is graded and stored: never more than the cap
        if shown:
            panel = replace(panel, view=fmt.add_user(panel.view, shown))
            yield self._out(panel)
        yield from self._drive(panel, lambda: panel.practice.send(text))

    def typed(self, text: str, panel: Panel | None) -> None:
        """The answer box as the user types: the grader reads it ahead (the score card then waits
        only for the rest). Nothing is shown; a failure here shows when the answer is graded."""
        if panel is not None and panel.practice is not None and text:
            try:
                panel.practice.typed(text)
            except Exception:  # noqa: BLE001
                pass

    def session_picker(self, mode: str):
        """The resume picker's choices, the most recent session preselected."""
        choices = self.sessions(mode)
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def sessions(self, mode: str) -> list[tuple[str, str]]:
        """(label, id) of the saved open sessions of `mode`, newest first, for the resume picker."""
        return [fmt.session_choice(s) for s in self.store.sessions()
                if s.session.mode == mode and s.session.status == "open" and s.turns]

    # ask ------------------------------------------------------------------------------------

    def ask(self, question: str, view: fmt.ChatView | None, context: str | None,
            progress=gr.Progress()) -> Iterator[tuple]:
        """A grounded explanation, with the previous question as context for follow-ups."""
        view = fmt.add_user(view or fmt.ChatView(), question)
        yield list(view.messages), view, context
        if not (question or "").strip():
            view = fmt.apply(view, Said("Type a question about the roadmap.", "note"))
            yield list(view.messages), view, context
            return
        answer = ""
        try:
            for ev in self.coach.ask(question, context, _reporter(progress)):
                view = fmt.apply(view, ev)
                answer += ev.text if isinstance(ev, Said) else ""
                yield list(view.messages), view, context
        except Exception as e:  # noqa: BLE001
            view = fmt.apply(view, Said(_problem(e), "note"))
        yield list(view.messages), view, f"{question}\n{answer}"[-2000:]

    # progress -------------------------------------------------------------------------------

    def progress_data(self):
        """(scores over time, mastery per section, sessions table, due summary) for the Progress tab."""
        import pandas as pd

        turns = self.store.all_turns()
        points = prog.score_points(turns)
        scores = pd.DataFrame({"answer": list(range(1, len(points) + 1)), "score": [p.score for p in points],
                               "section": [f"{p.section} {self.titles.get(p.section, '')}".strip() for p in points],
                               "when": [f"{p.when.astimezone():%Y-%m-%d %H:%M}" for p in points]})
        rows = prog.mastery_rows(prog.section_mastery(turns), self.titles)
        mastery = pd.DataFrame({"section": [r[0] for r in rows], "mastery": [round(r[1], 3) for r in rows],
                                "answered": [r[2] for r in rows]})
        table = pd.DataFrame(fmt.session_rows(self.store.sessions()), columns=fmt.SESSION_COLUMNS)
        due = prog.due_questions(self.store.reviews(), turns, self.now())
        note = (f"**{len(points)}** graded answers in **{len(table)}** sessions; **{len(due)}** questions due "
                "for review." if points else "No graded answers yet: your scores and mastery appear here.")
        return scores, mastery, table, note

    def export(self, session_id: str | None) -> str | None:
        """A session's Markdown transcript as a file to download."""
        if not session_id:
            gr.Warning("Pick a session to export.")
            return None
        try:
            session = self.store.session(session_id)
        except CoachError as e:
            gr.Warning(str(e))
            return None
        path = Path(tempfile.mkdtemp(prefix="coach-export-")) / f"session-{session.id}.md"
        path.write_text(export_markdown(session, self.store.turns(session.id)), encoding="utf-8")
        return str(path)

    def all_sessions(self) -> list[tuple[str, str]]:
        return [fmt.session_choice(s) for s in self.store.sessions()]

    def due_note(self) -> str:
        due = prog.due_questions(self.store.reviews(), self.store.all_turns(), self.now())
        if not due:
            return "Nothing is due for review right now."
        head = ", ".join(f"[{q.section}] {q.text[:60]}" for q in due[:5])
        return f"**{len(due)}** questions due, weakest sections first: {head}{' …' if len(due) > 5 else ''}"


def _reporter(progress) -> Callable[[float, str], None]:
    def report(fraction: float, desc: str) -> None:
        try:
            progress(fraction, desc=desc)
        except Exception:  # noqa: BLE001 - outside a request (tests), progress has nowhere to go
            pass

    return report
