"""`coach serve` over fake backends, as a process the browser tests can kill (SIGKILL) and start again.

    python tests/serve_fake.py --port N --data DIR [--slow-grading S] [--slow-feedback S]

The corpus is the fast tests' (tests/conftest.py), written into DIR once; the data (index, sessions)
lives in DIR too, so a restart finds the sessions. Vectors are in memory, so the index is rebuilt at
each start (the hashing embedder takes milliseconds). The chat model says "yes" to every key point
after `--slow-grading` seconds and streams its feedback one word every `--slow-feedback` seconds,
which leaves time to kill the server while it grades or while feedback streams.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import KEYS, NOTES, ROADMAP  # noqa: E402

from coach import config  # noqa: E402
from coach.root import Backends, Coach  # noqa: E402

from fakes import HashingEmbedder, MemoryStore, ScriptedChatModel  # noqa: E402

FEEDBACK = "Good: you named both sides of the teardown. Say what TIME_WAIT protects and for how long."


class SlowChat(ScriptedChatModel):
    def __init__(self, grading: float, feedback: float) -> None:
        super().__init__([self._reply] * 100_000)
        self.grading, self.feedback = grading, feedback

    def _reply(self, messages, schema):
        if schema is None:
            return FEEDBACK
        if "questions" in schema.get("properties", {}):
            return {"questions": ["How does the OOM killer pick its victim process?"]}
        time.sleep(self.grading)
        return {"verdict": "yes"}

    def stream(self, messages, *, max_tokens=512):
        for piece in super().stream(messages, max_tokens=max_tokens):
            time.sleep(self.feedback)
            yield piece


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--slow-grading", type=float, default=0.0)
    ap.add_argument("--slow-feedback", type=float, default=0.0)
    args = ap.parse_args()
    corpus = args.data / "corpus"
    if not corpus.is_dir():
        (corpus / "answers").mkdir(parents=True)
        (corpus / "roadmap.md").write_text(ROADMAP)
        (corpus / "notes.md").write_text(NOTES)
        (corpus / "answers" / "01-networking.md").write_text(KEYS)
    cfg = config.from_dict({"paths": {"corpus_dir": str(corpus), "data_dir": str(args.data / "data")},
                            "embedder": {"model": "fake-hashing"}}, root=args.data)
    root = Coach(cfg, Backends(HashingEmbedder(), MemoryStore(), chat=SlowChat(args.slow_grading, args.slow_feedback)),
                 seed=1)
    root.index(rebuild=True)
    from coach.app.serve import serve

    serve(root, port=args.port)


if __name__ == "__main__":
    main()
