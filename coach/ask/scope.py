"""Is a question in the roadmap's scope? Decided without the LLM, from two numbers.

`dense`: the best cosine between the question and any passage; `known`: the share of the question's
words the roadmap uses at all. Below the thresholds the question is declined with no model call
(the LLM may still reply NOT IN ROADMAP: the second check, in `coach.ask.explainer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.config import AskConfig


@dataclass(frozen=True)
class Scope:
    dense: float  # best cosine of the question with any passage
    known: float  # share of the question's content words found in the roadmap's vocabulary
    verdict: str  # "in" | "out"


Thresholds = AskConfig  # the `[ask]` part of the config: its three marks, measured (BENCHMARKS.md)


def decide(dense: float, known: float, t: Thresholds = Thresholds()) -> str:
    """"in" or "out" of the roadmap's scope.

    >>> decide(0.62, 0.2), decide(0.35, 0.9), decide(0.35, 0.3), decide(0.1, 1.0)
    ('in', 'in', 'out', 'out')
    """
    if dense >= t.dense_sure:
        return "in"
    if dense < t.dense_out or known < t.known_out:
        return "out"
    return "in"
