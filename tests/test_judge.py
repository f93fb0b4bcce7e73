"""`coach.judge.LlamaJudge` over a fake llama.cpp handle: P(yes) from the first token's logits, and
the prompt head evaluated ahead of time (`prefill`) is used once, and only while nothing else ran."""

import numpy as np
import pytest

from coach.judge import LlamaJudge
from coach.llm import LlamaCppChatModel, Message

VOCAB = {"yes": 1, "Yes": 2, " yes": 3, " Yes": 4, "no": 5, "No": 6, " no": 7, " No": 8}
HEAD = [Message("system", "Check answers."), Message("user", "Question: q\n\n<answer>\n")]


class FakeLlama:
    """Records what the judge asks of llama.cpp: resets and completions (their last message)."""

    def __init__(self, yes_logit: float = 2.0) -> None:
        self.log: list[tuple] = []
        self.yes_logit = yes_logit

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return [VOCAB.get(text.decode(), 0)]

    def reset(self) -> None:
        self.log.append(("reset",))

    def create_chat_completion(self, messages, max_tokens, temperature, seed, logits_processor=None, **kw):
        self.log.append(("chat", messages[-1]["content"]))
        if logits_processor is not None:
            scores = np.zeros(16, dtype=np.float32)
            scores[[1, 2, 3, 4]] = self.yes_logit
            logits_processor[0](np.array([0]), scores)
        return {"choices": [{"message": {"content": "yes"}}]}


@pytest.fixture
def judged(tmp_path):
    model = LlamaCppChatModel(tmp_path / "m.gguf")
    model._llama = FakeLlama()  # the adapter loads nothing while a handle is set
    return LlamaJudge(model), model, model._llama


def ask(judge, point: str):
    return judge.p_yes([HEAD[0], Message("user", HEAD[1].content + f"answer text\n\nFact: {point}")])


def test_p_yes_reads_the_first_token_logits(judged):
    judge, _, llama = judged
    assert ask(judge, "a") == pytest.approx(1 / (1 + np.exp(-2.0)))
    llama.yes_logit = -1.0
    assert ask(judge, "b") == pytest.approx(1 / (1 + np.exp(1.0)))


def test_a_prefilled_head_is_used_once_and_not_evaluated_again(judged):
    judge, _, llama = judged
    judge.prefill(HEAD)
    judge.prefill(HEAD)  # already held: nothing to do
    assert llama.log == [("reset",), ("chat", HEAD[1].content)]
    llama.log.clear()
    with judge.judging(HEAD):
        ask(judge, "a")
        ask(judge, "b")
    assert [e[0] for e in llama.log] == ["chat", "chat"]  # straight to the points
    llama.log.clear()
    with judge.judging(HEAD):  # the cache now holds the last point's prompt: start again
        ask(judge, "a")
    assert llama.log[:2] == [("reset",), ("chat", HEAD[1].content)]


OTHER = [HEAD[0], Message("user", "Question: other\n\n<answer>\n")]


@pytest.mark.parametrize("between, head", [
    (lambda judge, model: model.complete([Message("user", "explain TIME_WAIT")]), HEAD),  # e.g. feedback
    (lambda judge, model: ask(LlamaJudge(model), "a"), HEAD),  # a second grader sharing the model
    (lambda judge, model: None, OTHER),  # the answer is to another question
], ids=["another-model-call", "another-judge", "another-question"])
def test_a_stale_or_other_head_is_evaluated_from_a_fresh_state(judged, between, head):
    judge, model, llama = judged
    judge.prefill(HEAD)
    between(judge, model)
    llama.log.clear()
    with judge.judging(head):
        ask(judge, "a")
    assert llama.log[:2] == [("reset",), ("chat", head[1].content)]
