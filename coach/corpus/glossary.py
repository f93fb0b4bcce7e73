"""The roadmap's own glossary of acronyms, for query expansion: "OOM" finds "out of memory" and back.

`build` reads pairs written as "Expansion (ACR)" or "ACR (Expansion)" in the corpus and keeps those
whose acronym is spelled by the initials of the expansion (so "Link (L2)" or "Gbps per tunnel
(AWS)" are not taken for definitions). `expand` adds to a query the other half of every pair it
mentions. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_LONG_THEN_SHORT = re.compile(r"\b([A-Za-z][A-Za-z-]+(?: [A-Za-z][A-Za-z-]*){1,6}) \(([A-Z][A-Z0-9]{1,7})s?\)")
_SHORT_THEN_LONG = re.compile(r"\b([A-Z][A-Z0-9]{1,7})s?\**\s+\(([A-Za-z][A-Za-z-]+(?: [A-Za-z][A-Za-z-]*){1,6})\)")


def spells(acronym: str, words: str) -> bool:
    """Whether the acronym's letters are the initials of the words' last ones (hyphens split words).

    >>> spells("CFS", "Completely Fair Scheduler"), spells("PVC", "PersistentVolumeClaim")
    (True, False)
    >>> spells("AWS", "Gbps per tunnel"), spells("SNI", "the Server Name Indication")
    (False, True)
    """
    initials = "".join(w[0] for w in re.split(r"[\s-]+", words) if w).upper()
    letters = "".join(ch for ch in acronym if ch.isalpha())
    return len(letters) >= 2 and initials.endswith(letters)


def build(texts: Iterable[str]) -> dict[str, str]:
    """acronym (lower case) -> expansion (lower case), from every "X (Y)" pair whose initials match.

    >>> build(["- **SNI (Server Name Indication)**: ...", "Path MTU Discovery (PMTUD)", "Link (L2)"])
    {'sni': 'server name indication'}
    """
    out: dict[str, str] = {}
    for text in texts:
        plain = text.replace("**", "").replace("`", "")
        pairs = [(m.group(2), m.group(1)) for m in _LONG_THEN_SHORT.finditer(plain)]
        pairs += [(m.group(1), m.group(2)) for m in _SHORT_THEN_LONG.finditer(plain)]
        for acr, words in pairs:
            words = " ".join(words.split()[-len([c for c in acr if c.isalpha()]) - 2:])  # the words next to it
            tail = _tail(acr, words)
            if tail:
                out.setdefault(acr.lower(), tail.lower())
    return out


def _tail(acronym: str, words: str) -> str:
    """The shortest run of trailing words whose initials spell the acronym ("" when none)."""
    parts = words.split()
    for start in range(len(parts) - 1, -1, -1):
        run = " ".join(parts[start:])
        if spells(acronym, run) and len(re.split(r"[\s-]+", run)) == len([c for c in acronym if c.isalpha()]):
            return run
    return ""


def expand(query: str, glossary: Mapping[str, str]) -> str:
    """The query with the other half of every glossary pair it mentions appended.

    >>> expand("why does oom kill my pod", {"oom": "out of memory"})
    'why does oom kill my pod out of memory'
    >>> expand("what is server name indication for", {"sni": "server name indication"})
    'what is server name indication for sni'
    >>> expand("as fast as the CA allows", {"as": "autonomous systems", "ca": "certificate authority"})
    'as fast as the CA allows certificate authority'
    """
    # a two-letter acronym counts only in capitals ("as" is a word, "AS" an autonomous system)
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9]+", query) if len(w) > 2 or w.isupper()}
    low = " " + " ".join(re.findall(r"[a-z0-9]+", query.lower())) + " "
    extra = [long for short, long in glossary.items() if short in words and f" {long} " not in low]
    extra += [short for short, long in glossary.items() if f" {long} " in low and short not in words]
    return " ".join([query, *extra]) if extra else query
