"""Query understanding before retrieval: pure string functions.

- "quiz me on X" / "ask me about X" framing is stripped to X.
- A query that comes with the previous turn gets that turn's opening words added, with the query
  written twice so it still outweighs the context. Measured on the dev set, using the context
  whenever it is given beat using it only for queries with pronouns ("that", "it"): follow-ups
  are often vague without any pronoun ("what should I check first?").
"""

from __future__ import annotations

import re

from coach.corpus.text import tokenize

_FRAMING = re.compile(
    r"^\s*(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?"
    r"(?:quiz|test|drill|grill|interview)\s+me\s+(?:on|about|with)\s+|"
    r"^\s*(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?(?:ask|give)\s+me\s+(?:a\s+|some\s+)?(?:\w+\s+)?"
    r"(?:questions?|something)\s+(?:on|about|regarding)\s+|"
    r"^\s*(?:i\s+want\s+to\s+)?(?:practi[cs]e|review|study)\s+",
    re.I,
)
_ANAPHORA = re.compile(r"\b(that|this|it|its|it's|they|them|those|these|their|there|such|same|one|ones)\b", re.I)
CONTEXT_WORDS = 50


def strip_framing(query: str) -> str:
    """Drop quiz framing.

    >>> strip_framing("Quiz me on Kubernetes networking!")
    'Kubernetes networking!'
    >>> strip_framing("can you ask me some hard questions about terraform state")
    'terraform state'
    """
    stripped = _FRAMING.sub("", query, count=1).strip()
    return stripped or query.strip()


def needs_context(query: str) -> bool:
    """A query that cannot stand alone: it points back ("that", "it") or has no content words.

    >>> needs_context("how do I tune that?"), needs_context("how does BGP pick a route?")
    (True, False)
    """
    return bool(_ANAPHORA.search(query)) or not tokenize(query)


def resolve(query: str, context: str | None = None) -> str:
    """The text to search for, given the query and (optionally) the previous turn.

    >>> resolve("and how do I tune it?", "Explain TCP TIME_WAIT")
    'and how do I tune it? Explain TCP TIME_WAIT and how do I tune it?'
    >>> resolve("quiz me on BGP")
    'BGP'
    """
    q = strip_framing(query)
    if context and context.strip():
        ctx = " ".join(strip_framing(context).split()[:CONTEXT_WORDS])
        return f"{q} {ctx} {q}"
    return q
