"""The RAGAS suite end to end on the real models, offline: retriever, local GGUF judge server,
packaged MiniLM. One question (~4 min on 2 shared cores)."""

import math

import pytest

pytestmark = pytest.mark.slow


def test_ragas_suite_one_question_offline(monkeypatch):
    monkeypatch.setenv("RAGAS_DO_NOT_TRACK", "true")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from coach import eval_ragas as er
    from coach.config import load
    from coach.index import read_manifest

    cfg = load()
    if read_manifest(cfg) is None:
        pytest.skip('no index: run "coach index"')
    run = er.run_suite(cfg, limit=1)
    assert run.result["n"] == 1 and run.result["answers"][0]["answer"]
    assert len(run.result["answers"][0]["contexts"]) == er.K
    for m in er.METRICS:
        r = run.result["metrics"][m]
        assert r["n_ok"] + r["n_failed"] == 1, m  # every judgement is a number or a counted failure
        if r["n_ok"]:
            assert 0.0 <= r["mean"] <= 1.0 and not math.isnan(r["mean"])
        else:
            assert r["failures"][0]["error"]
        assert run.metrics[f"ragas.{m}.ok_rate"] in (0.0, 1.0)
