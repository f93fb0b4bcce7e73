"""Which answer key, if any, grades a question: the question's own (a roadmap question asked by the
bank), the same text typed, or a near duplicate of a listed question.

A typed question matches a key when its normalised text is the key's question, or when its
embedding is within `threshold` cosine of the key's question and the key lies in the same top-level
section as the roadmap passage the question retrieves first (so "Explain TIME_WAIT" about TCP
does not match a Kubernetes key that happens to be worded alike). The threshold was measured on
paraphrases of listed questions against other questions on the same topics (BENCHMARKS.md).

It does not grade (`coach.grading.grader`) or read key files (`coach.corpus.answer_keys`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from coach.corpus.answer_keys import AnswerKey
from coach.grading.keypoints import cosine

THRESHOLD = 0.88  # cosine (MiniLM) between a typed question and a key's question: the same question (measured)


def normalise(text: str) -> str:
    """Lower-case words and digits only.

    >>> normalise("Why does `TIME_WAIT` exist?") == normalise("why does time_wait exist")
    True
    """
    return " ".join(re.findall(r"[a-z0-9_]+", text.lower()))


class KeyMatcher:
    """Keys by question id and text; near duplicates by embedding. `embed` maps texts to unit
    vectors (the retriever's embedder); `topic` gives the top-level section a question retrieves
    first, or None."""

    def __init__(self, keys: Sequence[AnswerKey], embed: Callable[[list[str]], list[list[float]]],
                 topic: Callable[[str], str | None], threshold: float = THRESHOLD) -> None:
        self.keys = list(keys)
        self.by_id = {k.question_id: k for k in self.keys}
        self.by_text = {normalise(k.question): k for k in self.keys}
        self.embed = embed
        self.topic = topic
        self.threshold = threshold
        self._vecs: list[list[float]] | None = None
        self._lock = threading.Lock()

    def match(self, question: str, question_id: str = "") -> AnswerKey | None:
        """The key that grades `question` (asked as `question_id`, when it is a bank question)."""
        if question_id in self.by_id:
            return self.by_id[question_id]
        found = self.by_text.get(normalise(question))
        if found is not None or not self.keys:
            return found
        best, sim = self.nearest(question)
        if best is None or sim < self.threshold:
            return None
        return best if self.topic(question) == best.section.split(".")[0] else None

    def nearest(self, question: str) -> tuple[AnswerKey | None, float]:
        """The key whose question is closest to `question`, and the cosine."""
        with self._lock:
            if self._vecs is None:
                self._vecs = self.embed([k.question for k in self.keys])
        vec = self.embed([question])[0]
        sims = [cosine(vec, v) for v in self._vecs]
        i = max(range(len(sims)), key=sims.__getitem__)
        return self.keys[i], round(sims[i], 4)
