"""Bounding and cleaning user text before anything else sees it.

What it does: turns any value (str, bytes, None, a number, a 200 KB paste) into printable,
NFC-normalised text: NUL and other control characters are dropped (newline and tab are kept,
CR/CRLF become newlines), lone surrogates (which `json.loads` accepts but no terminal can print)
become U+FFFD, and text longer than the bound is cut at a word boundary with a note for the
caller to show. Emoji, right-to-left scripts and format characters (ZWJ, bidi marks) are kept:
they are text, not noise.

What it does not do: judge the content (see `coach.checks`) or escape it for a prompt (see
`coach.grading.quote`). It never raises.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# ~650 words: longer than a strong spoken answer (the answer keys' model answers are 60-180 words),
# short enough to grade in seconds. Text past it is cut before grading and never stored or shown.
MAX_ANSWER_CHARS = 4_000
MAX_QUESTION_CHARS = 2_000
_KEEP = {"\n", "\t"}


@dataclass(frozen=True)
class Clean:
    text: str
    truncated: bool = False
    original_chars: int = 0  # length after cleaning, before truncation
    note: str = ""  # what the caller should tell the user ("" when nothing was cut)


def _to_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not crash the loop
        return ""


def strip_controls(text: str) -> str:
    """Drop control characters except newline and tab; CR and CRLF become newlines; lone
    surrogates become U+FFFD.

    >>> strip_controls("a\\x00b\\r\\nc\\x1b[31md\\te\\ud800")
    'ab\\nc[31md\\te\\ufffd'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc" and ch not in _KEEP:
            continue
        out.append("\ufffd" if cat == "Cs" else ch)
    return "".join(out)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last whitespace in the final 10% (at least 20
    characters) when there is one
    (so a word is not split), never inside a base character + combining mark pair.

    >>> truncate("one two three", 9)
    'one two'
    >>> truncate("abcdef", 4)
    'abcd'
    """
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > 0 and space >= limit - max(limit // 10, 20):
        cut = cut[:space]
    while cut and unicodedata.combining(text[len(cut)]) and len(cut) > 1:
        cut = cut[:-1]
    return cut.rstrip()


def clean(value: object, limit: int = MAX_ANSWER_CHARS) -> Clean:
    """Clean and bound user text; see the module docstring.

    >>> clean("  caf\\u0065\\u0301 \\x00 ").text
    'café'
    >>> c = clean("word " * 10, limit=12)
    >>> c.text, c.truncated, c.original_chars
    ('word word', True, 49)
    """
    text = strip_controls(_to_str(value))
    text = unicodedata.normalize("NFC", text).strip()
    n = len(text)
    if n <= limit:
        return Clean(text, False, n, "")
    cut = truncate(text, limit)
    note = (f"your answer was {n:,} characters; only the first {len(cut):,} were graded and kept "
            f"(the limit is {limit:,})")
    return Clean(cut, True, n, note)
