"""The real packaged GGUF, in process and behind llama-cpp-python's OpenAI-compatible server.

Greedy decoding from a fresh state is deterministic, so these pin exact answers.
Run: flock /tmp/coach-cpu.lock .venv/bin/python -m pytest -m slow tests/test_llm_slow.py
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from coach import config
from coach.errors import ModelError
from coach.llm.chat import Message, complete_json
from coach.llm.llama import LlamaCppChatModel
from coach.llm.openai_api import OpenAIChatModel
from coach.llm.packaged import PROFILES, ensure_model

pytestmark = pytest.mark.slow

YES_NO = {"type": "object",
          "properties": {"answer": {"enum": ["yes", "no"]}, "confidence": {"enum": list(range(11))}},
          "required": ["answer", "confidence"]}
ASK = [Message("system", "You are a strict networking examiner. Reply with JSON only."),
       Message("user", "Is UDP a connection-oriented protocol? Give answer and confidence 0-10.")]


@pytest.fixture(scope="module")
def gguf():
    """The default model; the fast one only if the default's parts are not installed."""
    cfg = config.load()
    try:
        return ensure_model(cfg, profile=PROFILES["default"])
    except ModelError:
        try:
            return ensure_model(cfg, profile=PROFILES["fast"])
        except ModelError as e:
            pytest.skip(f"no packaged GGUF: {e}")


@pytest.fixture(scope="module")
def model(gguf):
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    m = LlamaCppChatModel(gguf, n_ctx=2048, n_threads=2, seed=42)
    yield m
    m.close()


def test_schema_constrained_reply_respects_the_enum(model):
    reply = complete_json(model, ASK, YES_NO, max_tokens=32)
    assert reply["answer"] == "no" and reply["confidence"] in range(11)
    model.reset()
    assert complete_json(model, ASK, YES_NO, max_tokens=32) == reply  # fresh state: identical


def test_streaming_yields_text(model):
    pieces = list(model.stream([Message("user", "Name the TCP handshake packets, comma-separated.")],
                               max_tokens=24))
    assert len(pieces) > 3 and "SYN" in "".join(pieces)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(gguf, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--seed", "42"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server not ready after 120 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_backend_schema_completion(server):
    model = OpenAIChatModel(server, "coach")
    reply = complete_json(model, ASK, YES_NO, max_tokens=32)
    assert reply["answer"] == "no" and reply["confidence"] in range(11)
    assert model.schema_mode == "json_object"  # llama-cpp-python's server rejects "json_schema"


def test_openai_backend_streams(server):
    model = OpenAIChatModel(server, "coach")
    pieces = list(model.stream([Message("user", "Name the TCP handshake packets, comma-separated.")],
                               max_tokens=24))
    assert len(pieces) > 3 and "SYN" in "".join(pieces)
