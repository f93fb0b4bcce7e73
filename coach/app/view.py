"""What the app shows, as pure functions: interview events folded into chat messages (the Gradio
"messages" format), the grade card, the cited passages, section choices.

What it does not do: import gradio or touch the store; `coach.app.layout` wires these to components.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from coach.grading import card
from coach.grading.types import Grade
from coach.session.events import COMMANDS, Asked, Cited, Ended, Event, Graded, Said, Skipped
from coach.session.store import Turn
from coach.types import Citation, Question, Section

SNIPPET_CHARS = 700  # a cited passage is cut here in the chat (the roadmap's chunks are ~170 tokens)
_LABELS = {"hint": "Hint", "explanation": "Explanation", "feedback": "Feedback", "answer": "", "note": ""}


@dataclass(frozen=True)
class ChatView:
    """The chat as shown: messages, and which kind of text is streaming into the last one."""

    messages: tuple[dict, ...] = ()
    streaming: str = ""  # the `Said.kind` being appended to the last message, "" when none
    grade: Grade | None = None  # the latest grade, for the side card
    feedback: str = ""  # its feedback as streamed so far
    stream_at: int = -1  # index of the message being streamed into

    @property
    def card(self) -> str:
        return card.markdown(self.grade, self.feedback) if self.grade else ""


def question_text(q: Question, followup: bool = False) -> str:
    """A question as the coach asks it.

    >>> question_text(Question("3.17#2", "Why TIME_WAIT?", "3.1", 1, "roadmap"))
    '**Question** · section 3.1 · level 1\\n\\nWhy TIME_WAIT?'
    """
    meta = " · ".join(x for x in (f"section {q.section}" if q.section else "",
                                  f"level {q.level}" if q.level is not None else "") if x)
    head = "**Follow-up**" if followup else "**Question**"
    return f"{head}{' · ' + meta if meta else ''}\n\n{q.text}"


def citation_block(c: Citation, limit: int = SNIPPET_CHARS) -> str:
    """One passage: section id, heading path, text.

    >>> print(citation_block(Citation("3.1", "Networking > 3.1 TCP", "TIME_WAIT lasts 2*MSL")))
    **[3.1]** Networking > 3.1 TCP
    <BLANKLINE>
    > TIME_WAIT lasts 2*MSL
    """
    text = c.text.strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    quoted = "\n".join(f"> {line}".rstrip() for line in text.splitlines()) or "> …"
    return f"**[{c.section}]** {c.heading_path}\n\n{quoted}"


def citations_message(citations: Sequence[Citation]) -> dict:
    """A collapsed "Sources" message that expands to the cited passages."""
    ids = " ".join(dict.fromkeys(f"[{c.section}]" for c in citations))
    return {"role": "assistant", "content": "\n\n".join(citation_block(c) for c in citations),
            "metadata": {"title": f"Sources {ids}", "status": "done"}}


def _say(text: str) -> dict:
    return {"role": "assistant", "content": text}


def escape(text: str) -> str:
    """User text shown as typed: the marks Markdown and HTML would act on are escaped, so
    `2*MSL ... 2*MSL` stays text and `<b>` is not markup.

    >>> escape("2*MSL <b>x</b> `ss` a_b")
    '2\\\\*MSL &lt;b&gt;x&lt;/b&gt; \\\\`ss\\\\` a\\\\_b'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_~\[\]|$])", r"\\\1", text)


def user_message(text: str) -> dict:
    """What the user sent, shown as typed; a command is shown in italics.

    >>> user_message("hint")["content"], user_message("a*b")["content"]
    ('*hint*', 'a\\\\*b')
    """
    return {"role": "user", "content": f"*{text}*" if text in COMMANDS else (escape(text) or "*(empty answer)*")}


def apply(view: ChatView, ev: Event) -> ChatView:
    """The chat after one event. Streamed text of one kind grows the last message."""
    msgs = list(view.messages)
    if isinstance(ev, Said) and ev.kind == "user":
        return add_user(view, ev.text)
    if isinstance(ev, Said):
        at = view.stream_at
        if view.streaming == ev.kind and 0 <= at < len(msgs):
            msgs[at] = {**msgs[at], "content": msgs[at]["content"] + ev.text}
        else:
            label = _LABELS.get(ev.kind, "")
            # feedback streamed after a grade goes above that grade's sources
            at = len(msgs) - 1 if ev.kind == "feedback" and msgs and "metadata" in msgs[-1] else len(msgs)
            msgs.insert(at, _say((f"**{label}**\n\n" if label else "") + ev.text.lstrip()))
        feedback = view.feedback + ev.text if ev.kind == "feedback" else view.feedback
        return ChatView(tuple(msgs), ev.kind, view.grade, feedback, at)
    if isinstance(ev, Asked):
        msgs.append(_say(question_text(ev.question, ev.followup)))
    elif isinstance(ev, Graded):
        msgs.append(_say(card.markdown(ev.grade)))
        if ev.grade.sources:
            msgs.append(citations_message(ev.grade.sources))
        return ChatView(tuple(msgs), "", ev.grade, "")
    elif isinstance(ev, Cited):
        if ev.citations:
            msgs.append(citations_message(ev.citations))
    elif isinstance(ev, Skipped):
        msgs.append(_say("Skipped."))
    elif isinstance(ev, Ended):
        msgs.append(_say(f"**Session finished.** {ev.reason}".strip()))
    return ChatView(tuple(msgs), "", view.grade, view.feedback)


def add_user(view: ChatView, text: str) -> ChatView:
    return replace(view, messages=view.messages + (user_message(text),), streaming="")


def transcript(turns: Sequence[Turn]) -> ChatView:
    """A stored session's turns as a chat, for a resumed session."""
    view = ChatView()
    for t in turns:
        view = apply(view, Asked(t.question, t.question.origin == "follow-up"))
        if t.grade is None:
            view = apply(add_user(view, "skip"), Skipped(t.question))
        else:
            view = apply(add_user(view, t.answer), Graded(t.question, t.answer, t.grade))
            if t.feedback.strip():
                view = apply(view, Said(t.feedback.strip(), "feedback"))
    return view


def section_choices(sections: Sequence[Section]) -> list[tuple[str, str]]:
    """(label, id) for the section picker: top-level sections, their subsections indented.

    >>> section_choices([Section("3", "Networking"), Section("3.1", "TCP", "3")])
    [('3 · Networking', '3'), ('\\u2003 3.1 · TCP', '3.1')]
    """
    return [(("\u2003 " if s.parent else "") + f"{s.id} · {s.title}", s.id) for s in sections]


def offer_text(summary, titles: dict[str, str]) -> str:
    """The banner's words for an unfinished session: what, where, how many answered, when.

    >>> from coach.session.store import Session, SessionSummary
    >>> from datetime import datetime, timezone
    >>> s = Session("s1", "section", "3.1", None, datetime(2026, 1, 2, tzinfo=timezone.utc),
    ...             datetime(2026, 1, 2, tzinfo=timezone.utc), "open")
    >>> offer_text(SessionSummary(s, 3, 2, 1, 6.5), {"3.1": "TCP/IP Deep Dive"})[:75]
    '**Unfinished session:** practise a section · 3.1 TCP/IP Deep Dive · any lev'
    """
    s = summary.session
    what = {"mock": "mock interview", "section": "practise a section", "review": "review weak topics"}.get(s.mode, s.mode)
    where = f" · {s.section} {titles.get(s.section, '')}".rstrip() if s.section else ""
    level = "any level" if s.level is None else f"level {s.level}"
    mean = f", mean {summary.mean_score:.1f}" if summary.mean_score is not None else ""
    return (f"**Unfinished session:** {what}{where} · {level} · {summary.answered} answered{mean} · "
            f"last active {s.updated.astimezone():%Y-%m-%d %H:%M}")


def session_choice(summary) -> tuple[str, str]:
    """(label, id) of a stored session for the resume picker."""
    s = summary.session
    scope = s.section and f"section {s.section}" or s.mode
    mean = f", mean {summary.mean_score:.1f}" if summary.mean_score is not None else ""
    return (f"{s.updated.astimezone():%Y-%m-%d %H:%M} · {s.mode} · {scope} · "
            f"{summary.answered} answered{mean}", s.id)


SESSION_COLUMNS = ["session", "last activity", "mode", "section", "level", "answered", "skipped", "mean score",
                   "status"]


def session_rows(summaries) -> list[list]:
    """Rows of the sessions table (columns SESSION_COLUMNS), newest first."""
    return [[x.session.id, f"{x.session.updated.astimezone():%Y-%m-%d %H:%M}", x.session.mode,
             x.session.section or "", "" if x.session.level is None else x.session.level, x.answered, x.skipped,
             "" if x.mean_score is None else round(x.mean_score, 1), x.session.status] for x in summaries]
