"""`coach eval ask` on fakes: facts present, wrong claims, unsupported sentences counted by the
faithfulness check, and the planted set catching an invented sentence."""

import json
from contextlib import nullcontext

import pytest

from coach.evals import ask
from coach.root import Backends, Coach

from fakes import HashingEmbedder, MemoryStore, ScriptedChatModel

ITEMS = [
    {"id": "a1", "question": "Explain the TCP 3-way handshake.", "section": "1.1",
     "required": ["The client sends SYN", "The server answers SYN-ACK"], "forbidden": []},
    {"id": "a2", "question": "What does the OOM killer use to pick a victim?", "section": "2.1",
     "required": ["It picks a victim by oom_score"], "forbidden": ["It kills the oldest process first"]},
]
PLANTED = [{"id": "p1", "section": "2.1", "question": "How is the OOM victim chosen?",
            "clean": "The OOM killer picks a victim by oom_score. You adjust it with oom_score_adj.",
            "invented": "The kernel always kills PID 1 first because systemd registers as the victim.",
            "kind": "mechanism"}]


class WordJudge:
    """P(yes) high when every longer word of the statement (or fact) is in the prompt's notes (or answer)."""

    def p_yes(self, messages):
        text = messages[-1].content
        if "Statement: " in text:
            notes, rest = text.split("Statement: ", 1)
            claim = rest.split("\n")[0]
        else:  # the grader's "does the answer state this fact?"
            notes = text.split("<answer>")[1].split("</answer>")[0]
            claim = text.rsplit("\n", 1)[-1]
        words = [w.strip(".,:") for w in claim.lower().split() if len(w) > 4]
        return 0.9 if all(w in notes.lower() for w in words) else 0.1

    def judging(self, head, answer=""):
        return nullcontext()

    def prefill(self, head, answer=""):
        pass


@pytest.fixture
def root(cfg, fake_cli, tmp_path):
    # the generated answer: a sentence the notes support, one they do not support at all (dropped
    # before it is shown), one worded like the notes that adds a claim (shown; the check flags it)
    chat = ScriptedChatModel(["The OOM killer picks a victim by oom_score [2.1]. "
                              "It also pauses the network stack to free memory faster [2.1]. "
                              "The OOM killer picks the victim by oom_score that systemd sets [2.1]."])
    r = Coach(cfg, Backends(HashingEmbedder(), MemoryStore(), chat=chat, judge=WordJudge()))
    r.index()
    return r


def test_the_ask_suite_counts_facts_claims_and_unsupported_sentences(root, tmp_path):
    data, planted = tmp_path / "ask.jsonl", tmp_path / "planted.jsonl"
    data.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n")
    planted.write_text(json.dumps(PLANTED[0]) + "\n")
    run = ask.run_suite(root, dataset=str(data), log=lambda s: None, planted_set=planted)
    by_id = {r["id"]: r for r in run.result["records"]}
    assert by_id["a1"]["keyed"] and by_id["a1"]["unsupported"] == []  # the key's own answer
    a2 = by_id["a2"]
    assert not a2["keyed"] and a2["present"] == ["It picks a victim by oom_score"] and a2["claimed"] == []
    assert a2["dropped"] == 1  # caught before it was shown
    assert a2["unsupported"] == ["The OOM killer picks the victim by oom_score that systemd sets."]
    assert run.metrics["planted_caught"] == 1.0
    assert 0 < run.metrics["supported_sentences"] < 1
