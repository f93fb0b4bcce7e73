"""Chat models and the model store, with fakes: tiny part files, a scripted chat model, no llama.cpp."""

import dataclasses
import hashlib
import json
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from coach import cli
from coach.config import from_dict
from coach.errors import ModelError
from coach.llm import packaged as models
from coach.llm.chat import Message, check_schema, complete_json
from coach.llm.langchain import CoachChatModel, cut_at_stop
from coach.llm.llama import LlamaCppChatModel
from coach.llm.openai_api import OpenAIChatModel
from coach.llm.packaged import ModelProfile, ensure_model
from coach.root import Coach

from fakes import ScriptedCall, ScriptedChatModel

YES_NO = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]},
                                           "why": {"type": "string", "maxLength": 40}},
          "required": ["answer"]}


# --- the model store ---------------------------------------------------------------------------

@pytest.fixture
def parts(tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    blobs = [b"GGUF" + bytes(range(256)) * 3, b"middle" * 100, b"end"]
    paths = []
    for i, blob in enumerate(blobs, 1):
        (d / f"part{i:02d}.bin").write_bytes(blob)
        paths.append(d / f"part{i:02d}.bin")
    return paths


def profile_for(paths, **over) -> ModelProfile:
    data = b"".join(p.read_bytes() for p in paths)
    base = ModelProfile("default", "Tiny test model", "tiny.gguf", "coach_test_no_such_part", len(paths),
                        len(data), hashlib.sha256(data).hexdigest(), 'run "make setup"')
    return dataclasses.replace(base, **over)


def test_assembles_parts_in_order_with_progress(cfg, parts):
    prof, seen = profile_for(parts), []
    path = ensure_model(cfg, lambda done, total: seen.append((done, total)), profile=prof, parts=lambda p: parts)
    assert path == cfg.data_dir / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert seen[-1] == (prof.size, prof.size) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert sorted(f.name for f in path.parent.iterdir()) == ["tiny.gguf", "tiny.gguf.verified.json"]


def test_sha_mismatch_leaves_nothing(cfg, parts):
    prof = profile_for(parts, sha256="0" * 64)
    with pytest.raises(ModelError, match="corrupt.*reinstall"):
        ensure_model(cfg, profile=prof, parts=lambda p: parts)
    assert list((cfg.data_dir / "models").iterdir()) == []


def test_size_mismatch_is_reported_before_copying(cfg, parts):
    prof = profile_for(parts, size=1)
    with pytest.raises(ModelError, match="expected 1: .*make setup"):
        ensure_model(cfg, profile=prof, parts=lambda p: parts)
    assert not (cfg.data_dir / "models" / "tiny.gguf").exists()


def test_missing_part_package_says_make_setup(cfg):
    with pytest.raises(ModelError, match=r"coach-test-no-such-part1.*run \"make setup\""):
        ensure_model(cfg, profile=profile_for([], n_parts=2, size=0))
    fast = dataclasses.replace(models.PROFILES["fast"], module_prefix="coach_test_no_such_part")
    with pytest.raises(ModelError, match=r"pip install -e '\.\[fast\]'"):
        models.package_parts(fast)


def test_package_parts_imports_part_modules(tmp_path, monkeypatch, parts):
    for i, p in enumerate(parts, 1):
        pkg = tmp_path / "site" / f"coach_fake_part{i}"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text(f"def get_part_path():\n    return {str(p)!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    prof = profile_for(parts, module_prefix="coach_fake_part")
    assert models.package_parts(prof) == parts
    parts[1].unlink()
    with pytest.raises(ModelError, match="part02.bin is missing"):
        models.package_parts(prof)


def test_sidecar_skips_rehash_until_the_file_changes(cfg, parts, monkeypatch):
    prof = profile_for(parts)
    path = ensure_model(cfg, profile=prof, parts=lambda p: parts)
    hashed = []
    real = models.sha256_file
    monkeypatch.setattr(models, "sha256_file", lambda p: hashed.append(p) or real(p))
    for _ in range(3):
        assert ensure_model(cfg, profile=prof, parts=lambda p: pytest.fail("must not reassemble")) == path
    assert hashed == []
    path.touch()  # new mtime: the sidecar no longer vouches for the file
    ensure_model(cfg, profile=prof, parts=lambda p: pytest.fail("must not reassemble"))
    ensure_model(cfg, profile=prof, parts=lambda p: pytest.fail("must not reassemble"))
    assert hashed == [path]


def test_corrupt_cached_file_is_reassembled(cfg, parts):
    prof = profile_for(parts)
    path = ensure_model(cfg, profile=prof, parts=lambda p: parts)
    path.write_bytes(b"X" * prof.size)  # same size, wrong bytes, new mtime
    assert not models.info(cfg, prof).sha256_ok
    calls = []
    ensure_model(cfg, profile=prof, parts=lambda p: calls.append(p) or parts)
    assert calls == [prof] and models.sha256_file(path) == prof.sha256
    assert models.info(cfg, prof).sha256_ok


def test_user_model_path(cfg, tmp_path):
    gguf = tmp_path / "mine.gguf"
    c = dataclasses.replace(cfg, llm=dataclasses.replace(cfg.llm, model_path=str(gguf)))
    with pytest.raises(ModelError, match="mine.gguf.*does not exist"):
        ensure_model(c)
    gguf.write_bytes(b"nope")
    with pytest.raises(ModelError, match="not a GGUF"):
        ensure_model(c)
    gguf.write_bytes(b"GGUF\x03\x00")
    assert ensure_model(c) == gguf
    assert models.info(c).profile == "custom" and models.info(c).sha256_ok is None


def test_cli_model_fetch_and_info(cfg, parts, tmp_path, monkeypatch, capsys):
    toml = tmp_path / "coach.toml"
    toml.write_text(f'[paths]\ndata_dir = "{cfg.data_dir}"\n')
    monkeypatch.setenv("COACH_CONFIG", str(toml))
    monkeypatch.delenv("COACH_DATA_DIR", raising=False)
    monkeypatch.setitem(models.PROFILES, "default", profile_for(parts))
    monkeypatch.setattr(models, "package_parts", lambda p: parts)
    assert cli.main(["model", "info"]) == 1
    assert "coach model fetch" in capsys.readouterr().out
    assert cli.main(["model", "fetch"]) == 0
    assert "sha256 verified" in capsys.readouterr().out
    assert cli.main(["model", "info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sha256_ok"] is True and out["profile"] == "default" and out["path"].endswith("tiny.gguf")
    assert cli.main(["model", "info"]) == 0
    assert "grading:" not in capsys.readouterr().out
    # the fast profile says, where its file is shown, that it grades badly
    caveat = models.PROFILES["fast"].grading_caveat
    monkeypatch.setitem(models.PROFILES, "fast", profile_for(parts, name="fast", grading_caveat=caveat))
    assert cli.main(["model", "info", "--profile", "fast"]) == 0
    assert "grading:  the fast profile (0.5B)" in capsys.readouterr().out


# --- the protocol, JSON and schemas ------------------------------------------------------------

def test_complete_json_parses_and_checks():
    model = ScriptedChatModel([{"answer": "yes", "why": "SYN"}, '{"answer": "ye', {"answer": "maybe"}, "[1]"])
    msgs = [Message("user", "Is TCP reliable?")]
    assert complete_json(model, msgs, YES_NO) == {"answer": "yes", "why": "SYN"}
    with pytest.raises(ModelError, match="not valid JSON.*max_tokens"):
        complete_json(model, msgs, YES_NO, max_tokens=7)
    with pytest.raises(ModelError, match=r"'maybe' is not one of \['yes', 'no'\]"):
        complete_json(model, msgs, YES_NO)
    with pytest.raises(ModelError, match="expected object"):
        complete_json(model, msgs, YES_NO)
    assert [c.schema for c in model.calls] == [YES_NO] * 4


@pytest.mark.parametrize("bad, hint", [
    ({"type": "integer", "minimum": 0, "maximum": 10}, '"enum"'),
    ({"type": "object", "properties": {"s": {"type": "string"}}}, "maxLength"),
    ({"type": "object", "properties": {"l": {"type": "array", "items": {"enum": [1]}}}}, "maxItems"),
    ({"type": "array", "maxItems": 3, "items": {"type": "string"}}, r"\$\[\]: uncapped string"),
])
def test_check_schema_rejects_what_the_grammar_gets_wrong(bad, hint):
    with pytest.raises(ModelError, match=hint):
        check_schema(bad)


def test_check_schema_accepts_capped_schemas():
    check_schema(YES_NO)
    check_schema({"type": "object", "properties": {"score": {"type": "integer", "enum": list(range(11))},
                                                   "points": {"type": "array", "maxItems": 4,
                                                              "items": {"type": "string", "maxLength": 80}}}})


def test_message_role_is_checked():
    with pytest.raises(ValueError, match="role"):
        Message("robot", "hi")


def test_scripted_chat_model_records_and_streams():
    model = ScriptedChatModel(["one two  three\n", lambda m, s: {"n": len(m)}])
    msgs = [Message("system", "s"), Message("user", "u")]
    pieces = list(model.stream(msgs))
    assert pieces == ["one ", "two  ", "three\n"]
    assert model.complete(msgs, {"type": "object", "properties": {"n": {"enum": [2]}}}) == '{"n": 2}'
    assert model.calls[0] == ScriptedCall(msgs, None) and model.calls[1].messages == msgs
    with pytest.raises(AssertionError, match="no scripted reply left for call 3"):
        model.complete(msgs)
    with pytest.raises(ModelError, match="maxLength"):
        ScriptedChatModel(["{}"]).complete(msgs, {"type": "object", "properties": {"x": {"type": "string"}}})


# --- the LangChain adapter ---------------------------------------------------------------------

def test_langchain_generate_translates_messages():
    fake = ScriptedChatModel(["Because delayed segments."])
    chat = CoachChatModel(model=fake)
    out = chat.invoke([SystemMessage("Be brief."), HumanMessage("Why TIME_WAIT?"), AIMessage("Hm."),
                       HumanMessage([{"type": "text", "text": "Say "}, "why."])])
    assert out.content == "Because delayed segments." and chat._llm_type == "coach"
    assert fake.calls[0].messages == [Message("system", "Be brief."), Message("user", "Why TIME_WAIT?"),
                                      Message("assistant", "Hm."), Message("user", "Say why.")]
    assert fake.calls[0].schema is None


def test_langchain_schema_stop_and_stream():
    fake = ScriptedChatModel([{"answer": "no"}, "yes. Observation: more", "alpha beta STOP gamma", "a b c"])
    chat = CoachChatModel(model=fake)
    assert json.loads(chat.bind(schema=YES_NO).invoke("q").content) == {"answer": "no"}
    assert fake.calls[0].schema == YES_NO
    assert chat.invoke("q", stop=["Observation:"]).content == "yes. "
    assert "".join(c.content for c in chat.stream("q", stop=["ST" + "OP"])) == "alpha beta "
    chunks = [c.content for c in chat.stream("q") if c.content]  # LangChain may add an empty last chunk
    assert "".join(chunks) == "a b c" and len(chunks) == 3
    with pytest.raises(ModelError, match="no tools"):
        chat.invoke([ToolMessage("x", tool_call_id="1")])


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("a X b Y c", ["Y", "X"]) == ("a ", True)
    assert cut_at_stop("abc", None) == ("abc", False)


# --- choosing and wiring backends --------------------------------------------------------------

@pytest.fixture
def unloaded(monkeypatch):
    """llama_cpp as if not imported yet (another test may have imported it), restored afterwards."""
    for name in [m for m in sys.modules if m == "llama_cpp" or m.startswith("llama_cpp.")]:
        monkeypatch.delitem(sys.modules, name)


def test_the_root_builds_the_configured_backend(tmp_path, unloaded):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    cfg = from_dict({"llm": {"model_path": str(gguf), "n_ctx": 1024, "n_threads": 3, "seed": 7}}, root=tmp_path)
    model = Coach(cfg).chat
    assert isinstance(model, LlamaCppChatModel)
    assert (model.path, model.n_ctx, model.n_threads, model.seed) == (gguf, 1024, 3, 7)
    assert "llama_cpp" not in sys.modules  # loaded on first use only
    cfg = from_dict({"llm": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "api_model": "qwen"}})
    model = Coach(cfg).chat
    assert isinstance(model, OpenAIChatModel) and (model.base_url, model.model) == ("http://127.0.0.1:9/v1", "qwen")


def test_llama_backend_missing_file_is_a_model_error(tmp_path, unloaded):
    with pytest.raises(ModelError, match="coach model fetch"):
        LlamaCppChatModel(tmp_path / "gone.gguf").complete([Message("user", "hi")])
    assert "llama_cpp" not in sys.modules


def test_openai_backend_unreachable_server_says_how_to_start_one():
    model = OpenAIChatModel("http://127.0.0.1:9/v1", timeout=5)
    with pytest.raises(ModelError, match="cannot reach.*llama_cpp.server"):
        model.complete([Message("user", "hi")])
    with pytest.raises(ModelError, match="cannot reach"):
        list(model.stream([Message("user", "hi")]))


class _FakeCompletions:
    """Stands in for `client.chat.completions`: rejects response_format types it does not know."""

    def __init__(self, accepted):
        self.accepted, self.formats = accepted, []

    def create(self, **kw):
        from types import SimpleNamespace as NS

        import httpx
        import openai

        fmt = kw.get("response_format")
        self.formats.append(fmt and fmt["type"])
        if fmt and fmt["type"] not in self.accepted:
            resp = httpx.Response(500, request=httpx.Request("POST", "http://x/v1/chat/completions"))
            raise openai.InternalServerError("validation error: response_format.type", response=resp, body=None)
        return NS(choices=[NS(message=NS(content='{"answer": "yes"}'))])


@pytest.mark.parametrize("accepted, mode", [({"json_schema", "json_object"}, "json_schema"),
                                            ({"json_object"}, "json_object")])
def test_openai_backend_picks_a_schema_format_the_server_accepts(accepted, mode):
    from types import SimpleNamespace as NS

    completions = _FakeCompletions(accepted)
    model = OpenAIChatModel("http://x/v1", client=NS(chat=NS(completions=completions)))
    msgs = [Message("user", "TCP reliable?")]
    assert complete_json(model, msgs, YES_NO) == {"answer": "yes"}
    assert complete_json(model, msgs, YES_NO) == {"answer": "yes"}
    assert model.schema_mode == mode
    assert completions.formats == (["json_schema"] * 2 if mode == "json_schema"
                                   else ["json_schema", "json_object", "json_object"])


def test_langchain_async_runs_the_sync_backend():
    import asyncio

    chat = CoachChatModel(model=ScriptedChatModel(["async ok"]))
    assert asyncio.run(chat.ainvoke("q")).content == "async ok"


def test_cli_model_flag_runs_any_gguf(cfg, tmp_path, monkeypatch, capsys):
    toml = tmp_path / "coach.toml"
    toml.write_text(f'[paths]\ndata_dir = "{cfg.data_dir}"\n[llm]\nbackend = "openai"\n')
    monkeypatch.setenv("COACH_CONFIG", str(toml))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.gguf").write_bytes(b"GGUF\x03\x00")
    assert cli.main(["--model", "mine.gguf", "model", "info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"] == "custom" and out["path"] == str(tmp_path / "mine.gguf") and out["backend"] == "llama"
    assert cli.main(["--model", "nope.gguf", "model", "info"]) == 1
    assert "missing: fix --model" in capsys.readouterr().out
