"""Citations in generated text: `[3.1]` kept only when it names a section that was retrieved, both
as the text streams (`CitationFilter`) and in the result (`citations_in`). Pure string handling."""

from __future__ import annotations

import re
from collections.abc import Sequence

_CITE = re.compile(r"\[(\d+(?:\.\d+)*)\]")


class CitationFilter:
    """Streams text through, holding back a "[...]" until it closes, and drops citations of
    sections that were not retrieved; records the valid ones in order.

    >>> f = CitationFilter({"3.1"})
    >>> tidy("".join(f.feed(p) for p in ["TIME_WAIT [3", ".1] lasts [9.9]", " 2 MSL."]) + f.close())
    'TIME_WAIT [3.1] lasts 2 MSL.'
    >>> f.cited
    ['3.1']
    """

    def __init__(self, valid: set[str]) -> None:
        self.valid = valid
        self.cited: list[str] = []
        self._held = ""

    def feed(self, piece: str) -> str:
        out = []
        for ch in piece:
            if self._held:
                self._held += ch
                if ch == "]":
                    out.append(self._resolve(self._held))
                    self._held = ""
                elif len(self._held) > 12:
                    out.append(self._held)
                    self._held = ""
            elif ch == "[":
                self._held = ch
            else:
                out.append(ch)
        return "".join(out)

    def close(self) -> str:
        held, self._held = self._held, ""
        return held

    def _resolve(self, bracket: str) -> str:
        m = _CITE.fullmatch(bracket)
        if not m:
            return bracket
        if m.group(1) in self.valid:
            if m.group(1) not in self.cited:
                self.cited.append(m.group(1))
            return bracket
        return ""  # a section that was not retrieved: the model made it up


def tidy(text: str) -> str:
    """Spaces left by dropped citations removed.

    >>> tidy("lasts  2 MSL [3.1] .")
    'lasts 2 MSL [3.1].'
    """
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]+([.,;:])", r"\1", text).strip()


def citations_in(text: str, valid: Sequence[str]) -> list[str]:
    """Section ids cited in `text` that are in `valid`, in order of first use.

    >>> citations_in("A [3.1], B [9.9], C [3.1] [2]", ["3.1", "2"])
    ['3.1', '2']
    """
    out: list[str] = []
    for m in _CITE.finditer(text):
        if m.group(1) in valid and m.group(1) not in out:
            out.append(m.group(1))
    return out
