"""Tokenising for BM25 and term highlighting.

Technical tokens stay whole (`net.ipv4.tcp_tw_reuse`, `CLOSE_WAIT`, `-tanp`, `oom_score_adj`,
`IRSA`, `10.0.0.0/16`) and their parts are added too, so "tcp tw reuse" still matches.
Everything is case-folded, English stopwords are dropped, and plain words get a light
plural-stripping stem. Not a full stemmer on purpose: a wrong stem of a technical token costs more
than a missed plural.
"""

from __future__ import annotations

import re

# Technical token: letters/digits joined by . _ - / : (e.g. net.ipv4.tcp_tw_reuse, 10.0.0.0/16,
# x86_64, k8s.io/api); a leading - or -- keeps a command-line flag (-tanp, --rebuild).
_TOKEN = re.compile(r"-{1,2}[a-z][a-z0-9-]*|[a-z0-9]+(?:[._/:-][a-z0-9]+)*", re.I)
_PARTS = re.compile(r"[./:-]+")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves s t don shall may might must also etc e g
    ie vs via let lets tell explain describe quiz ask test question questions something thing things
    give know want please using use used""".split()
)


def _stem(word: str) -> str:
    """Plural stripping for plain alphabetic words: 'connections' -> 'connection', 'policies' -> 'policy'."""
    if not word.isalpha() or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """BM25 tokens: whole technical tokens plus their parts, case-folded, stopwords dropped.

    >>> tokenize("Tune net.ipv4.tcp_tw_reuse for CLOSE_WAIT sockets")
    ['tune', 'net.ipv4.tcp_tw_reuse', 'net', 'ipv4', 'tcp_tw_reuse', 'tcp', 'tw', 'reuse', 'close_wait', 'close', 'wait', 'socket']
    """
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).lower()
        if tok.startswith("-"):
            out.append(tok)
        elif tok in STOPWORDS:
            continue
        elif _PARTS.search(tok) or "_" in tok:
            out.append(tok)
            out.extend(_parts(tok))
        else:
            out.append(_stem(tok))
    return out


def _parts(tok: str) -> list[str]:
    """Distinct sub-tokens of a compound token, in order: separator parts, then underscore parts.
    Pure-digit parts ("0" of "10.0.0.0/16") are dropped: they match everything."""
    seen: dict[str, None] = {}
    for p in _PARTS.split(tok):
        if p and p != tok:
            seen.setdefault(p, None)
        if "_" in p:
            for q in p.split("_"):
                if q:
                    seen.setdefault(q, None)
    return [_stem(p) for p in seen if not p.isdigit() and p not in STOPWORDS]


def query_terms(text: str) -> list[str]:
    """Distinct query terms, in order, for highlighting."""
    seen: dict[str, None] = {}
    for t in tokenize(text):
        seen.setdefault(t, None)
    return list(seen)
