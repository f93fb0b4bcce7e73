"""Human-readable terminal output: snippets with query terms emphasised. Pure string functions."""

from __future__ import annotations

import re

from coach.text import query_terms, tokenize

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
    """The chunk lines that share the most terms with the query, in order, cut to ~`width` chars."""
    terms = set(tokenize(query))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
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
