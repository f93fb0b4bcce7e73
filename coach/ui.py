"""The Gradio app: mock interview, section practice, ask, weak-topic review, progress.

`build_app(store, coach, sections)` lays out the Blocks and wires events to `Callbacks`, which only
translate between components and the library objects (`PracticeSession`, `Store`, `coach.progress`,
`coach.ui_format`); tests pass a fake `Coach`. `serve(cfg, ...)` is `coach serve`: loopback only
unless told otherwise, no share link, no analytics, no web fonts or CDN (system fonts, bundled JS).

What it does not do: grade, choose questions or load models (the `Coach` does, on first use, with
the progress shown here).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from datetime import datetime
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402

from coach import progress as prog, ui_format as fmt  # noqa: E402
from coach.errors import CoachError  # noqa: E402
from coach.history import export_markdown  # noqa: E402
from coach.practice import Coach, PracticeSession, Said, SessionSpec  # noqa: E402
from coach.store import Store, utcnow  # noqa: E402
from coach.types import Section  # noqa: E402

log = logging.getLogger("coach.ui")
LEVELS = [("any level", "any"), ("0 · basics", "0"), ("1 · intermediate", "1"), ("2 · advanced", "2")]
TITLE = "coach · local interview practice"
# System fonts only: nothing is fetched from Google Fonts or a CDN (the app must work offline).
THEME = gr.themes.Base(font=("ui-sans-serif", "system-ui", "sans-serif"),
                       font_mono=("ui-monospace", "Consolas", "monospace"))
CSS = "#grade-card, .grade-card {min-height: 8rem} footer {display: none !important}"


@dataclass(frozen=True)
class Panel:
    """What one chat panel of one browser tab holds between events."""

    practice: PracticeSession | None = None
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

    def __init__(self, store: Store, coach: Coach, sections: Sequence[Section],
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
            practice = PracticeSession.new(self.store, self.coach, spec, _reporter(progress))
        except Exception as e:  # noqa: BLE001
            yield self._out(panel, _problem(e))
            return
        panel = Panel(practice, fmt.ChatView())
        yield from self._drive(panel, practice.start)

    def resume(self, session_id: str | None, panel: Panel | None, progress=gr.Progress()) -> Iterator[tuple]:
        panel = panel or Panel()
        if not session_id:
            yield self._out(panel, "Pick a saved session to resume.")
            return
        try:
            practice, turns = PracticeSession.resume(self.store, self.coach, session_id, _reporter(progress))
        except Exception as e:  # noqa: BLE001
            yield self._out(panel, _problem(e))
            return
        panel = Panel(practice, fmt.transcript(turns))
        yield from self._drive(panel, practice.start)

    def send(self, text: str, panel: Panel | None) -> Iterator[tuple]:
        """An answer typed in the box, or a command from a button (hint, explain, skip, next)."""
        panel = panel or Panel()
        if panel.practice is None:
            yield self._out(panel, "Start a session first.")
            return
        panel = replace(panel, view=fmt.add_user(panel.view, text))
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
        scores = pd.DataFrame({"when": [p.when.astimezone().replace(tzinfo=None) for p in points],
                               "score": [p.score for p in points],
                               "section": [f"{p.section} {self.titles.get(p.section, '')}".strip() for p in points]})
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


def _interview_panel(cb: Callbacks, mode: str, controls: Callable[[], tuple]) -> gr.Dropdown:
    """One interview tab: its start controls, resume picker, chat, grade card and buttons."""
    panel = gr.State(Panel())
    start_inputs = controls()
    with gr.Accordion("Resume a saved session", open=False, elem_id=f"{mode}-resume-box"):
        with gr.Row():
            picker = gr.Dropdown(choices=[], label="Saved sessions", elem_id=f"{mode}-sessions", scale=4)
            resume = gr.Button("Resume", elem_id=f"{mode}-resume", scale=1)
    status = gr.Markdown(elem_id=f"{mode}-status")
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Interview", height=460, elem_id=f"{mode}-chat", buttons=["copy"])
            answer = gr.Textbox(label="Your answer", lines=4, placeholder="Type your answer, then Submit",
                                elem_id=f"{mode}-answer")
            with gr.Row(equal_height=True):
                submit = gr.Button("Submit answer", variant="primary", elem_id=f"{mode}-submit", min_width=90)
                buttons = {c: gr.Button(label, elem_id=f"{mode}-{c}", min_width=60) for c, label in
                           (("next", "Next question"), ("hint", "Hint"), ("explain", "Explain"), ("skip", "Skip"))}
        with gr.Column(scale=2):
            card = gr.Markdown("*The grade card of your last answer shows here.*", elem_id=f"{mode}-card",
                               elem_classes="grade-card", container=True)
    outs = [chat, card, panel, status]
    start_btn, *start_args = start_inputs
    start_btn.click(partial(cb.start, mode), [*start_args, panel], outs, show_progress_on=chat) \
        .then(partial(cb.session_picker, mode), None, picker)
    resume.click(cb.resume, [picker, panel], outs, show_progress_on=chat)
    sent = gr.State("")  # the answer, moved out of the box so the box clears at once
    for trigger in (submit.click, answer.submit):
        trigger(lambda t: ("", t), answer, [answer, sent]).then(cb.send, [sent, panel], outs, show_progress_on=chat)
    # read the answer ahead as it is typed; "always_last": while one runs, only the latest text waits
    answer.input(cb.typed, [answer, panel], None, show_progress="hidden", trigger_mode="always_last",
                 api_visibility="private")
    for command, button in buttons.items():
        button.click(partial(cb.send, command), [panel], outs, show_progress_on=chat)
    return picker


def build_app(store: Store, coach: Coach, sections: Sequence[Section], *,
              now: Callable[[], datetime] = utcnow, notice: str = "") -> gr.Blocks:
    """The app. `notice`: one line shown under the title (e.g. that the configured model grades badly)."""
    cb = Callbacks(store, coach, sections, now)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\nEverything runs on this machine. Answers, grades and progress are saved "
                    "as you go; resume any session later.")
        if notice:
            gr.Markdown(f"**Note:** {notice}", elem_id="notice")
        with gr.Tabs():
            pickers = {}
            with gr.Tab("Mock interview", id="mock"):
                pickers["mock"] = _interview_panel(cb, "mock", lambda: (
                    gr.Button("Start a mock interview (mixed sections)", variant="primary", elem_id="mock-start"),
                    gr.State(None), gr.Radio(LEVELS, value="any", label="Level", elem_id="mock-level")))
            with gr.Tab("Practise a section", id="section"):
                def section_controls():
                    with gr.Row():
                        pick = gr.Dropdown(fmt.section_choices(cb.sections), label="Section", filterable=True,
                                           elem_id="section-pick", scale=3)
                        level = gr.Radio(LEVELS, value="any", label="Level", elem_id="section-level", scale=2)
                    return gr.Button("Start practising", variant="primary", elem_id="section-start"), pick, level
                pickers["section"] = _interview_panel(cb, "section", section_controls)
            with gr.Tab("Ask", id="ask"):
                _ask_panel(cb)
            with gr.Tab("Review weak topics", id="review") as review_tab:
                due = gr.Markdown(elem_id="review-due")
                pickers["review"] = _interview_panel(cb, "review", lambda: (
                    gr.Button("Review the due questions", variant="primary", elem_id="review-start"),
                    gr.State(None), gr.State(None)))
            with gr.Tab("Progress", id="progress") as progress_tab:
                _progress_panel(cb, progress_tab)
        review_tab.select(cb.due_note, None, due)
        app.load(cb.due_note, None, due)
        for mode, picker in pickers.items():  # saved sessions, listed again on every page load
            app.load(partial(cb.session_picker, mode), None, picker)
    return app


def _ask_panel(cb: Callbacks) -> None:
    view, context = gr.State(fmt.ChatView()), gr.State(None)
    chat = gr.Chatbot(label="Ask about the roadmap", height=460, elem_id="ask-chat")
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. why does TIME_WAIT last 2*MSL?",
                              elem_id="ask-question", scale=5)
        go = gr.Button("Ask", variant="primary", elem_id="ask-go", scale=1)
    sent = gr.State("")
    for trigger in (go.click, question.submit):
        trigger(lambda t: ("", t), question, [question, sent]).then(cb.ask, [sent, view, context],
                                                                    [chat, view, context], show_progress_on=chat)


def _progress_panel(cb: Callbacks, tab) -> None:
    note = gr.Markdown(elem_id="progress-note")
    with gr.Row():
        scores = gr.ScatterPlot(x="when", y="score", color="section", title="Scores over time", y_lim=[0, 10],
                                x_axis_format="%b %d %H:%M",
                                elem_id="progress-scores", height=320)
        mastery = gr.BarPlot(x="section", y="mastery", title="Mastery per section (0-1)", y_lim=[0, 1],
                             x_label_angle=-40, elem_id="progress-mastery", height=320)
    table = gr.Dataframe(label="Sessions", interactive=False, elem_id="progress-sessions")
    with gr.Row():
        pick = gr.Dropdown(choices=[], label="Export a session to Markdown", elem_id="export-pick", scale=4)
        go = gr.Button("Export", elem_id="export-go", scale=1)
    file = gr.File(label="Transcript", elem_id="export-file")
    refresh = gr.Button("Refresh", elem_id="progress-refresh", size="sm")
    for trigger in (tab.select, refresh.click):
        trigger(lambda: (*cb.progress_data(), gr.update(choices=cb.all_sessions())), None,
                [scores, mastery, table, note, pick])
    go.click(cb.export, pick, file)


def _warm_up(coach) -> None:
    try:
        coach.engine(lambda fraction, desc: log.info("warming up: %s", desc))
    except Exception as e:  # noqa: BLE001 - reported again, with what to do, on first use
        log.warning("warm-up failed: %s", e)


def serve(cfg, host: str | None = None, port: int | None = None, share: bool | None = None) -> None:
    """`coach serve`: build the real coach (loaded on first use) and serve the app until interrupted."""
    from coach.backend import RealCoach, load_sections
    from coach.models import grading_caveat

    ui = cfg.ui
    coach = RealCoach(cfg)
    app = build_app(Store.open(cfg), coach, load_sections(cfg), notice=grading_caveat(cfg))
    # Load the models while the user opens the page and picks a section; the first request waits
    # for this (or, if it failed, tries again and shows what to do).
    threading.Thread(target=_warm_up, args=(coach,), daemon=True, name="coach-warm-up").start()
    host, port = host or ui.host, port or ui.port
    share = ui.share if share is None else share
    try:
        app.queue().launch(server_name=host, server_port=port, share=share, theme=THEME, css=CSS, ssr_mode=False,
                           show_error=False, quiet=False, inbrowser=False, footer_links=[], pwa=False,
                           mcp_server=False, enable_monitoring=False)
    finally:
        from coach.interview import finish_work_ahead

        finish_work_ahead()
