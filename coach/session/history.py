"""Past sessions as JSON, a table, or a Markdown transcript. Pure formatting of `coach.session.store` values.

What it does not do: read the database (the `coach history` handler does, through `Store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coach.session.store import Session, SessionSummary, Turn


def _when(t: datetime) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def _scope(s: Session) -> str:
    parts = [s.mode]
    if s.section:
        parts.append(f"section {s.section}")
    if s.level is not None:
        parts.append(f"level {s.level}")
    return ", ".join(parts)


def summary_json(items: Sequence[SessionSummary]) -> list[dict]:
    """The `coach history --json` records (a stable contract: add keys, never rename)."""
    return [{"id": x.session.id, "mode": x.session.mode, "section": x.session.section,
             "level": x.session.level, "status": x.session.status,
             "started": x.session.started.isoformat(), "updated": x.session.updated.isoformat(),
             "turns": x.turns, "answered": x.answered, "skipped": x.skipped,
             "mean_score": None if x.mean_score is None else round(x.mean_score, 2)} for x in items]


def summary_table(items: Sequence[SessionSummary]) -> str:
    """A plain-text table, newest first; a hint when there is nothing yet."""
    if not items:
        return 'no sessions yet: start one with "coach serve" (or "coach interview")'
    rows = [("id", "started", "mode", "answered", "skipped", "mean", "status")]
    for x in items:
        mean = "-" if x.mean_score is None else f"{x.mean_score:.1f}"
        rows.append((x.session.id, _when(x.session.started), _scope(x.session), str(x.answered),
                     str(x.skipped), mean, x.session.status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _quote(text: str) -> str:
    """Text as a Markdown blockquote, one `> ` per line (an empty answer shows as *(no answer)*).

    >>> print(_quote("a\\n\\nb"))
    > a
    >
    > b
    """
    if not text.strip():
        return "> *(no answer)*"
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def export_markdown(session: Session, turns: Sequence[Turn]) -> str:
    """A session as a Markdown transcript: each question, the answer, the grade and its citations."""
    graded = [t.grade.score for t in turns if t.grade is not None]
    mean = f"{sum(graded) / len(graded):.1f}/10" if graded else "-"
    out = [f"# Interview session {session.id}", "",
           f"- **Mode**: {_scope(session)}",
           f"- **Started**: {_when(session.started)}; **last activity**: {_when(session.updated)} ({session.status})",
           f"- **Questions**: {len(turns)} ({len(graded)} answered, {len(turns) - len(graded)} skipped); "
           f"**mean score**: {mean}", ""]
    for t in turns:
        q = t.question
        level = f", level {q.level}" if q.level is not None else ""
        out += [f"## {t.n}. {q.text}", "", f"*Section {q.section}{level}; {q.origin or 'question'}; "
                f"{_when(t.created)}*", "", "**Answer**", "", _quote(t.answer), ""]
        g = t.grade
        if g is None:
            out += ["**Skipped.**", ""]
            continue
        out += [f"**Score: {g.score:g}/10 ({g.verdict})**", ""]
        if g.covered:
            out += ["Covered:", *[f"- {p}" for p in g.covered], ""]
        if g.missing:
            out += ["Missed:", *[f"- {p}" for p in g.missing], ""]
        if t.feedback.strip():
            out += ["**Feedback**", "", t.feedback.strip(), ""]
        if g.sources:
            out += ["**Sources**", ""]
            for c in g.sources:
                snippet = " ".join(c.text.split())
                snippet = snippet if len(snippet) <= 300 else snippet[:299].rstrip() + "…"
                out.append(f"- [{c.section}] {c.heading_path}: {snippet}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
