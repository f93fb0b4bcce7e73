"""`coach.llm.llama_judge.LlamaJudge` over a fake llama.cpp handle: P(yes) from the first token's logits, the
prompt head evaluated ahead of time (`prefill`) is used once, and only while nothing else ran, and
the answer typed so far is read ahead in whole blocks on the grid a cold grade's batch starts."""

import threading
import time

import numpy as np
import pytest
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from coach.llm.chat import Message
from coach.llm.llama import LlamaCppChatModel
from coach.llm.llama_judge import LlamaJudge

VOCAB = {"yes": 1, "Yes": 2, " yes": 3, " Yes": 4, "no": 5, "No": 6, " no": 7, " No": 8}
HEAD = [Message("system", "Check answers."), Message("user", "Question: q\n\n<answer>\n")]
TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}<assistant>"


class FakeLlama:
    """llama.cpp as the judge sees it: one token per character, the GGUF's chat template, a cache of
    token ids with llama-cpp-python's prefix match, and a log of resets, completions (their last
    message) and the batches evaluated (where each starts, how long it is)."""

    chat_format = "chat_template.default"
    metadata = {"tokenizer.chat_template": TEMPLATE}

    def __init__(self, yes_logit: float = 2.0) -> None:
        self.log: list[tuple] = []
        self.yes_logit = yes_logit
        self.input_ids: list[int] = []
        self.n_tokens = 0
        self.batches: list[tuple[int, int]] = []

    @property
    def _input_ids(self) -> list[int]:
        return self.input_ids[: self.n_tokens]

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        s = text.decode()
        return [VOCAB[s]] if s in VOCAB else [1000 + ord(c) for c in s]

    def detokenize(self, tokens, special=False) -> bytes:
        return b""

    def token_eos(self) -> int:
        return -1

    def token_bos(self) -> int:
        return -1

    def reset(self) -> None:
        self.log.append(("reset",))
        self.n_tokens = 0

    def eval(self, tokens) -> None:
        self.input_ids = self.input_ids[: self.n_tokens] + list(tokens)
        self.batches.append((self.n_tokens, len(tokens)))
        self.n_tokens += len(tokens)

    def create_chat_completion(self, messages, max_tokens, temperature, seed, logits_processor=None, **kw):
        self.log.append(("chat", messages[-1]["content"]))
        tokens = self.tokenize(Jinja2ChatFormatter(TEMPLATE, "", "")(messages=messages).prompt.encode())
        same = next((i for i, (a, b) in enumerate(zip(self._input_ids, tokens)) if a != b),
                    min(self.n_tokens, len(tokens)))
        self.n_tokens = min(same, len(tokens) - 1)  # the prefix match; the rest in one batch
        self.eval(tokens[self.n_tokens:])
        if logits_processor is not None:
            scores = np.zeros(16, dtype=np.float32)
            scores[[1, 2, 3, 4]] = self.yes_logit
            logits_processor[0](np.array([0]), scores)
        return {"choices": [{"message": {"content": "yes"}}]}


@pytest.fixture
def judged(tmp_path):
    llama = FakeLlama()
    model = LlamaCppChatModel(tmp_path / "m.gguf", handle=llama)  # the adapter loads nothing with a handle
    return LlamaJudge(model), model, llama


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


# -- the answer read ahead as it is typed --------------------------------------------------------------
ORIGIN = len("<system>Check answers.</system><user>" + HEAD[1].content)  # where a cold grade's batch starts
ANSWER = "TCP closes with FIN and ACK in each direction; the active closer waits in TIME_WAIT. " * 3


def graded(judge, answer: str, point: str = "a"):
    with judge.judging(HEAD, answer):
        return judge.p_yes([HEAD[0], Message("user", HEAD[1].content + answer + f"\n\nFact: {point}")])


def test_the_typed_answer_is_read_in_whole_blocks_and_the_grade_evaluates_the_rest(judged):
    judge, _, llama = judged
    block = LlamaJudge.BLOCK
    judge.prefill(HEAD)
    head_batches = len(llama.batches)
    judge.prefill(HEAD, ANSWER)
    read = llama.batches[head_batches:]
    assert read and all(n == block and (start - ORIGIN) % block == 0 for start, n in read)
    assert [start for start, _ in read] == [ORIGIN + i * block for i in range(len(read))]
    end = read[-1][0] + block  # whole blocks only, the last few typed tokens left for later
    assert end <= ORIGIN + len(ANSWER) - LlamaJudge.MARGIN < end + block
    llama.log.clear()
    assert graded(judge, ANSWER) == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert llama.log[0][0] == "chat" and llama.batches[-1][0] == end  # no reset: only the rest
    cold = LlamaJudge(judge.model)  # the same grade from a fresh state: one batch from the origin
    llama.batches.clear()
    graded(cold, ANSWER)
    assert llama.batches[-1][0] == ORIGIN


def test_an_edit_cuts_the_read_answer_back_to_the_block_before_it(judged):
    judge, _, llama = judged
    block = LlamaJudge.BLOCK
    judge.prefill(HEAD, ANSWER)
    at = len(ANSWER) // 2 + 5
    edited = ANSWER[:at] + "X" + ANSWER[at + 1:]
    llama.batches.clear()
    judge.prefill(HEAD, edited)  # typing goes on after the user fixed a word in the middle
    assert llama.batches[0][0] == ORIGIN + at // block * block
    cut = edited[: len(edited) - 2 * block - 3]  # then deletes the end, and submits
    llama.batches.clear()
    graded(judge, cut)
    assert llama.batches[0][0] == ORIGIN + len(cut) // block * block  # from a block's start, not mid-block
    assert llama._input_ids[ORIGIN: ORIGIN + len(cut)] == [1000 + ord(c) for c in cut]


def test_a_stale_cache_is_not_used_for_the_typed_answer(judged):
    judge, model, llama = judged
    judge.prefill(HEAD, ANSWER)
    model.complete([Message("user", "explain TIME_WAIT")])  # e.g. the last answer's feedback
    llama.log.clear()
    judge.prefill(HEAD, ANSWER)
    assert llama.log[:2] == [("reset",), ("chat", HEAD[1].content)]  # the head again, then the answer
    assert llama.batches[-1][1] == LlamaJudge.BLOCK


def test_without_the_models_chat_template_the_answer_is_not_read_ahead(judged):
    judge, _, llama = judged
    llama.chat_format = "chatml"  # a handler the judge cannot tokenize like
    judge.prefill(HEAD, ANSWER)
    assert len(llama.batches) == 1  # the head only
    llama.log.clear()
    graded(judge, ANSWER)
    assert [e[0] for e in llama.log] == ["chat"]  # still the prefilled head, no reset


def test_a_grade_waiting_for_the_model_stops_the_reading_ahead(judged):
    judge, _, llama = judged
    judge.prefill(HEAD)
    reading, go_on = threading.Event(), threading.Event()
    evaluate = llama.eval

    def slow(tokens):  # the first block takes until the grade is waiting
        reading.set()
        go_on.wait(5)
        evaluate(tokens)
    llama.eval = slow
    llama.batches.clear()
    reader = threading.Thread(target=judge.prefill, args=(HEAD, ANSWER))
    reader.start()
    assert reading.wait(5)
    grade = threading.Thread(target=graded, args=(judge, ANSWER))
    grade.start()
    deadline = time.monotonic() + 5
    while not judge._grading and time.monotonic() < deadline:  # the grade is queued for the model
        time.sleep(0.01)
    go_on.set()
    reader.join(5)
    grade.join(5)
    block = LlamaJudge.BLOCK
    assert llama.batches[0] == (ORIGIN, block)  # one block read, then the grade: only the rest
    assert llama.batches[1][0] == ORIGIN + block and len(llama.batches) == 2
