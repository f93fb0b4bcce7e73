"""The Gradio app's page: mock interview, section practice, ask, weak-topic review, progress.

`build_app(store, coach, sections)` lays out the Blocks and wires their events to
`coach.app.callbacks.Callbacks`; tests pass a fake `Interviewer`. The page uses system fonts only
and no CDN, so it works offline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402

from coach.app import view as fmt  # noqa: E402
from coach.app.callbacks import Callbacks, Panel  # noqa: E402
from coach.session.events import Interviewer  # noqa: E402
from coach.session.store import Store, utcnow  # noqa: E402
from coach.types import Section  # noqa: E402

LEVELS = [("any level", "any"), ("0 · basics", "0"), ("1 · intermediate", "1"), ("2 · advanced", "2")]
TITLE = "coach · local interview practice"
# System fonts only: nothing is fetched from Google Fonts or a CDN (the app must work offline).
THEME = gr.themes.Base(font=("ui-sans-serif", "system-ui", "sans-serif"),
                       font_mono=("ui-monospace", "Consolas", "monospace"))
CSS = "#grade-card, .grade-card {min-height: 8rem} footer {display: none !important}"


@dataclass(frozen=True)
class Tab:
    """One interview tab's parts that the page wires together."""

    picker: gr.Dropdown
    panel: gr.State
    outs: list  # chat, card, panel, status
    controls: list  # the section and level controls a resumed session sets (States where the tab has none)


def _interview_panel(cb: Callbacks, mode: str, controls: Callable[[], tuple]) -> Tab:
    """One interview tab: its start controls, resume picker, chat, grade card and buttons."""
    panel = gr.State(Panel())
    start_btn, section, level = controls()
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
    start_btn.click(partial(cb.start, mode), [section, level, panel], outs, show_progress_on=chat) \
        .then(partial(cb.session_picker, mode), None, picker)
    resume.click(partial(cb.resume, mode), [picker, panel], [*outs, section, level], show_progress_on=chat)
    sent = gr.State("")  # the answer, moved out of the box so the box clears at once
    for trigger in (submit.click, answer.submit):
        trigger(lambda t: ("", t), answer, [answer, sent]).then(cb.send, [sent, panel], outs, show_progress_on=chat)
    # read the answer ahead as it is typed; "always_last": while one runs, only the latest text waits
    answer.input(cb.typed, [answer, panel], None, show_progress="hidden", trigger_mode="always_last",
                 api_visibility="private")
    for command, button in buttons.items():
        button.click(partial(cb.send, command), [panel], outs, show_progress_on=chat)
    return Tab(picker, panel, outs, [section, level])


def build_app(store: Store, coach: Interviewer, sections: Sequence[Section], *,
              now: Callable[[], datetime] = utcnow, notice: str = "") -> gr.Blocks:
    """The app. `notice`: one line shown under the title (e.g. that the configured model grades badly)."""
    cb = Callbacks(store, coach, sections, now)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"## {TITLE}\nEverything runs on this machine. Answers, grades and progress are saved "
                    "as you go; resume any session later.")
        if notice:
            gr.Markdown(f"**Note:** {notice}", elem_id="notice")
        with gr.Row(visible=False, elem_id="resume-offer", equal_height=True) as offer_row:
            offer_text = gr.Markdown(elem_id="resume-offer-text")
            offer_go = gr.Button("Resume it", variant="primary", elem_id="resume-offer-go", scale=0, min_width=120)
            offer_no = gr.Button("Not now", elem_id="resume-offer-dismiss", scale=0, min_width=100)
        offered = gr.State(None)
        with gr.Tabs() as tabs:
            parts: dict[str, Tab] = {}
            with gr.Tab("Mock interview", id="mock"):
                parts["mock"] = _interview_panel(cb, "mock", lambda: (
                    gr.Button("Start a mock interview (mixed sections)", variant="primary", elem_id="mock-start"),
                    gr.State(None), gr.Radio(LEVELS, value="any", label="Level", elem_id="mock-level")))
            with gr.Tab("Practise a section", id="section"):
                def section_controls():
                    with gr.Row():
                        pick = gr.Dropdown([("Pick a section…", "")] + fmt.section_choices(cb.sections), value="",
                                           label="Section", filterable=True, elem_id="section-pick", scale=3)
                        level = gr.Radio(LEVELS, value="any", label="Level", elem_id="section-level", scale=2)
                    return gr.Button("Start practising", variant="primary", elem_id="section-start"), pick, level
                parts["section"] = _interview_panel(cb, "section", section_controls)
            with gr.Tab("Ask", id="ask"):
                _ask_panel(cb)
            with gr.Tab("Review weak topics", id="review") as review_tab:
                due = gr.Markdown(elem_id="review-due")
                parts["review"] = _interview_panel(cb, "review", lambda: (
                    gr.Button("Review the due questions", variant="primary", elem_id="review-start"),
                    gr.State(None), gr.State(None)))
            with gr.Tab("Progress", id="progress") as progress_tab:
                _progress_panel(cb, progress_tab, app)
        review_tab.select(cb.due_note, None, due)
        app.load(cb.due_note, None, due)
        app.load(cb.offer, None, [offer_row, offer_text, offered])
        offer_no.click(lambda: gr.update(visible=False), None, offer_row)
        event = offer_go.click(cb.offer_tab, offered, [tabs, offer_row])
        for mode, tab in parts.items():  # only the offered session's own tab resumes it
            event = event.then(partial(cb.resume, mode), [offered, tab.panel], [*tab.outs, *tab.controls],
                               show_progress_on=tab.outs[0])
        for mode, tab in parts.items():  # saved sessions, listed again on every page load
            app.load(partial(cb.session_picker, mode), None, tab.picker)
    return app


def _ask_panel(cb: Callbacks) -> None:
    view, context = gr.State(fmt.ChatView()), gr.State(None)
    chat = gr.Chatbot(label="Ask about the roadmap", height=460, elem_id="ask-chat", buttons=["copy"])
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="e.g. why does TIME_WAIT last 2*MSL?",
                              elem_id="ask-question", scale=5)
        go = gr.Button("Ask", variant="primary", elem_id="ask-go", scale=1)
    sent = gr.State("")
    for trigger in (go.click, question.submit):
        trigger(lambda t: ("", t), question, [question, sent]).then(cb.ask, [sent, view, context],
                                                                    [chat, view, context], show_progress_on=chat)


def _progress_panel(cb: Callbacks, tab, app: gr.Blocks) -> None:
    note = gr.Markdown(elem_id="progress-note")
    with gr.Row(visible=False) as charts:
        scores = gr.ScatterPlot(x="answer", y="score", color="section", title="Scores, one point per graded answer",
                                x_title="graded answer (oldest first)", y_lim=[0, 10], tooltip=["when", "section", "score"],
                                elem_id="progress-scores", height=320)
        mastery = gr.BarPlot(x="section", y="mastery", title="Mastery per section (0-1)", y_lim=[0, 1],
                             x_label_angle=-40, elem_id="progress-mastery", height=320)
    table = gr.Dataframe(label="Sessions", interactive=False, elem_id="progress-sessions")
    with gr.Row():
        pick = gr.Dropdown(choices=[], label="Export a session to Markdown", elem_id="export-pick", scale=4)
        go = gr.Button("Export", elem_id="export-go", scale=1)
    file = gr.File(label="Transcript", elem_id="export-file")
    refresh = gr.Button("Refresh", elem_id="progress-refresh", size="sm")

    def data():
        s, m, t, n = cb.progress_data()
        n_points = len(s)
        # an empty chart is not drawn (Vega cannot scale an empty axis); the x axis runs half an answer
        # past the first and last points so none sits on the edge
        return (gr.update(visible=n_points > 0), gr.update(value=s, x_lim=[0.5, n_points + 0.5]), m, t, n,
                gr.update(choices=cb.all_sessions()))

    for trigger in (tab.select, refresh.click, app.load):
        trigger(data, None, [charts, scores, mastery, table, note, pick])
    go.click(cb.export, pick, file)
