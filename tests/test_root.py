"""The composition root with injected fakes: parts built once and shared, the judge picked by what
the root built, sections without a model, a grade's sources."""

import pytest

from coach import config as config_mod
from coach.llm.judge import VerdictJudge
from coach.root import Backends, Coach

from fakes import HashingEmbedder, MemoryStore, ScriptedChatModel


@pytest.fixture
def root(cfg, backends):
    r = Coach(cfg, backends)
    r.index()
    return r


def test_parts_are_built_once_and_shared(cfg, backends):
    chat = ScriptedChatModel([])
    r = Coach(cfg, Backends(backends.embedder, backends.vectors, chat=chat))
    r.index()
    assert r.grader is r.grader and r.retriever is r.grader.rubrics.retriever
    assert r.grader.model is chat and r.explainer.model is chat
    assert isinstance(r.judge, VerdictJudge) and r.judge.model is chat  # any chat model: its written verdict
    assert r.retriever.embedder is backends.embedder and r.retriever.store is backends.vectors


def test_without_an_llm_nothing_talks(root, cfg, backends):
    r = Coach(cfg, backends, llm=False)
    assert r.chat is None and r.judge is None and r.grader.judge is None and r.grading_note == ""


def test_the_in_process_model_gets_the_logit_judge_without_loading(tmp_path, corpus_dir):
    from coach.llm.llama_judge import LlamaJudge

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)  # never loaded: building a part loads no model
    cfg = config_mod.from_dict({"paths": {"corpus_dir": str(corpus_dir), "data_dir": str(tmp_path / "d")},
                                "llm": {"model_path": str(gguf)}}, root=tmp_path)
    r = Coach(cfg, Backends(HashingEmbedder(), MemoryStore()))
    assert isinstance(r.judge, LlamaJudge) and r.judge.model is r.chat and r.chat._llama is None


def test_sections_without_and_with_an_index(cfg, backends):
    r = Coach(cfg, backends)
    before = [s.id for s in r.corpus().sections]
    r.index()
    assert before == [s.id for s in r.corpus().sections] and "1.1" in before


def test_a_missing_index_says_what_to_run(cfg, backends):
    from coach.errors import IndexNotBuiltError

    with pytest.raises(IndexNotBuiltError, match='run "coach index"'):
        _ = Coach(cfg, backends).retriever


def test_a_grade_cites_its_key_points_passages(root):
    g = root.grader.grade("Why does TIME_WAIT exist in the TCP teardown?",
                          "TIME_WAIT makes sure delayed packets do not corrupt a new connection; the initiator "
                          "sends FIN and enters FIN_WAIT_1, the receiver ACKs into CLOSE_WAIT.")
    assert 1 <= len(g.sources) <= 3 and g.citations[0] == "1.1"
    first = g.sources[0]
    assert first.section == "1.1" and "TCP Deep Dive" in first.heading_path and "TIME_WAIT" in first.text
    assert first.chunk_id in root.retriever.chunks
