"""What the terminal shows: search hits with the query terms emphasised, interview events as text,
progress bars on long work. String functions, plus the writers that put them on stdout/stderr."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

from coach.corpus.text import query_terms, tokenize
from coach.grading import card
from coach.grading.keypoints import plain
from coach.session.events import Asked, Cited, Ended, Event, Graded, Said, Skipped

BOLD, RESET = "\033[1m", "\033[0m"


def emphasise(text: str, terms: list[str], ansi: bool) -> str:
    """Wrap each whole-word occurrence of a query term (case-insensitive) in bold or **...**.

    >>> emphasise("Use ss -tan to see CLOSE_WAIT", ["close_wait", "-tan"], ansi=False)
    'Use ss **-tan** to see **CLOSE_WAIT**'
    """
    words = sorted({t for t in terms if len(t) > 1}, key=len, reverse=True)
    if not words:
        return text
    pat = re.compile(r"(?<![\w.-])(" + "|".join(re.escape(w) for w in words) + r")\w{0,3}(?![\w-])", re.I)
    left, right = (BOLD, RESET) if ansi else ("**", "**")
    return pat.sub(lambda m: f"{left}{m.group(0)}{right}", text)


def snippet(text: str, query: str, width: int = 240) -> str:
    """The chunk lines that share the most terms with the query, in order, Markdown marks removed
    (emphasis is added afterwards), cut to ~`width` chars.

    >>> snippet("- **OOM Killer**: picks a victim\\n- Page cache", "oom killer")
    '- OOM Killer: picks a victim … - Page cache'
    """
    terms = set(tokenize(query))
    lines = [plain(ln) for ln in text.splitlines() if ln.strip()]
    scored = sorted(range(len(lines)), key=lambda i: -len(terms & set(tokenize(lines[i]))))
    keep = sorted(scored[:3])
    out = " … ".join(lines[i] for i in keep)
    return out if len(out) <= width else out[: width - 1].rstrip() + "…"


def format_hits(hits, query: str, ansi: bool) -> str:
    terms = query_terms(query)
    blocks = []
    for n, h in enumerate(hits, 1):
        c = h.chunk
        head = f"{n}. [{c.section}] {c.title}  ({h.score:.3f})"
        blocks.append(f"{BOLD + head + RESET if ansi else head}\n   {c.path_str}\n   "
                      f"{emphasise(snippet(c.text, query), terms, ansi)}")
    return "\n\n".join(blocks) if blocks else "no results"


def out(text: str = "", end: str = "\n") -> None:
    sys.stdout.write(text + end)
    sys.stdout.flush()


def progress_bar(it: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    """A tqdm bar on stderr for long work (indexing, evals)."""
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, file=sys.stderr, leave=False, mininterval=1.0)


_LABELS = {"feedback": "feedback: ", "explanation": "", "hint": "", "note": "", "error": "", "answer": ""}


class EventPrinter:
    """Interview events as terminal text: the same events the app renders."""

    def __init__(self) -> None:
        self.streaming = ""  # the kind of text being streamed, "" when none

    def show(self, ev: Event) -> None:
        if isinstance(ev, Said) and ev.kind == "user":
            self.end()
            out(f"> {ev.text}")
            return
        if isinstance(ev, Said):
            if self.streaming != ev.kind:
                self.end()
                out(_LABELS.get(ev.kind, ""), end="")
                self.streaming = ev.kind
            out(ev.text, end="")
            return
        self.end()
        if isinstance(ev, Graded):
            out(card.text(ev.grade))
        elif isinstance(ev, Asked):
            q = ev.question
            tag = "follow-up" if ev.followup else f"[{q.section}] level {q.level}"
            out(f"\n{tag}: {q.text}")
        elif isinstance(ev, Cited):
            out("sources: " + "; ".join(f"[{c.section}] {c.heading_path}" for c in ev.citations))
        elif isinstance(ev, Skipped):
            out("Skipped.")
        elif isinstance(ev, Ended):
            out(ev.reason)

    def end(self) -> None:
        if self.streaming:
            out()
            self.streaming = ""
