"""The RAGAS suite's own logic with fakes: samples, failure accounting, aggregation, report.
No ragas import here (a test below checks that)."""

import json
import subprocess
import sys

import pytest

from coach.errors import UsageError
from coach.evals import ragas as er
from coach.evals.kit import compare


def _sample(i, section="1.1", answer="an answer"):
    return er.Sample(i, section, f"question {i}?", "the reference", ("passage one", "passage two"), answer)


def test_load_items_reference_grading_and_ask_formats(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "g1", "section": "2.3", "question": "Q?", "strong": "S", "wrong": "W"}) + "\n\n"
                 + json.dumps({"id": 7, "question": "Q2?", "reference": "R"}) + "\n"
                 + json.dumps({"id": "a1", "question": "Q3?", "required": ["F1.", "F2."]}) + "\n")
    assert er.load_items(p) == [er.Item("g1", "2.3", "Q?", "S"), er.Item("7", "other", "Q2?", "R"),
                                er.Item("a1", "other", "Q3?", "F1. F2.")]
    assert len(er.load_items(p, limit=1)) == 1


def test_load_items_names_the_bad_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"id": "a", "question": "Q"}\n')
    with pytest.raises(UsageError, match=r"d.jsonl:1: .*reference"):
        er.load_items(p)
    with pytest.raises(UsageError, match="not found"):
        er.load_items(tmp_path / "missing.jsonl")


def test_shipped_dataset_loads(cfg):
    items = er.load_items(er.Path(__file__).parent.parent / "evals" / "ask_facts.jsonl")
    assert len(items) >= 40 and all(i.reference and i.question for i in items)


def test_build_samples_keeps_what_the_answer_came_from():
    items = [er.Item("a", "1.1", "why?", "ref")]
    samples = er.build_samples(items, lambda q: (f"A to {q}", [f"ctx for {q}"]))
    assert samples == [er.Sample("a", "1.1", "why?", "ref", ("ctx for why?",), "A to why?")]


def test_score_samples_counts_every_kind_of_failure():
    script = {("a", "faithfulness"): 0.75, ("a", "answer_relevancy"): float("nan"),
              ("a", "context_precision"): ValueError("Instructor: could not parse"),
              ("b", "faithfulness"): None, ("b", "answer_relevancy"): 1.5}

    def scorer(metric, s):
        v = script.get((s.id, metric), 1.0)
        if isinstance(v, Exception):
            raise v
        return v

    scores = er.score_samples([_sample("a"), _sample("b")], scorer)
    got = {(s.sample_id, s.metric): (s.value, s.error) for s in scores}
    assert len(scores) == 6
    assert got[("a", "faithfulness")] == (0.75, None)
    assert got[("a", "answer_relevancy")][0] is None and "nan" in got[("a", "answer_relevancy")][1]
    assert got[("a", "context_precision")] == (None, "ValueError: Instructor: could not parse")
    assert "outside [0, 1]" in got[("b", "answer_relevancy")][1]
    assert got[("b", "faithfulness")] == (None, "judge returned None")
    assert got[("b", "context_precision")] == (1.0, None)
    assert all(x.seconds >= 0 for x in scores)


def test_aggregate_means_over_ok_samples_and_reports_failures():
    samples = [_sample("a", "1.1"), _sample("b", "1.1"), _sample("c", "10.2"), _sample("d", "2.3")]
    S = er.Score
    scores = [S("faithfulness", "a", 1.0), S("faithfulness", "b", 0.5), S("faithfulness", "c", 0.0),
              S("faithfulness", "d", None, "bad json"),
              *[S("context_recall", i, None, "timeout") for i in "abcd"]]
    r = er.aggregate(samples, scores, ["faithfulness", "context_recall"])
    f = r["metrics"]["faithfulness"]
    assert (f["mean"], f["n"], f["n_ok"], f["n_failed"], f["ok_rate"]) == (0.5, 4, 3, 1, 0.75)
    assert f["failures"] == [{"id": "d", "error": "bad json"}]
    assert r["metrics"]["context_recall"]["mean"] is None and r["metrics"]["context_recall"]["ok_rate"] == 0.0
    assert list(r["faithfulness_by_section"].items()) == [("1.1", 0.75), ("10.2", 0.0)]  # numeric order

    g = er.gate_metrics(r)
    assert g == {"ragas.faithfulness.mean": 0.5, "ragas.faithfulness.ok_rate": 0.75,
                 "ragas.context_recall.ok_rate": 0.0}
    # a metric whose every judgement failed has no mean, and the gate reports it missing
    base = {"metrics": {"ragas.context_recall.mean": 0.4, "ragas.faithfulness.ok_rate": 1.0},
            "tolerance": {"default": 0.1}}
    assert {x.metric for x in compare(g, base)} == {"ragas.context_recall.mean", "ragas.faithfulness.ok_rate"}


def test_markdown_and_charts_show_failures():
    samples = [_sample("a"), _sample("b", "3.4")]
    scores = [er.Score(m, "a", 0.5) for m in er.METRICS] + [er.Score(m, "b", None, "boom") for m in er.METRICS]
    r = er.aggregate(samples, scores)
    r["judge"] = "fake"
    md = er.markdown(r)
    assert "| faithfulness | 0.500 | 1/2 | 1 |" in md
    assert "- context_precision / b: boom" in md
    charts = er.charts(r)
    assert charts[0].labels == list(er.METRICS) and charts[0].series["ok_rate"] == [0.5] * 3
    assert charts[1].labels == ["1.1"]


PLANTED = {"id": "p1", "section": "1.1", "question": "Why TIME_WAIT?",
           "clean": "TIME_WAIT ensures delayed packets do not corrupt new connections.",
           "invented": "It lasts exactly 17 minutes.", "kind": "number"}


def test_run_suite_with_fakes(cfg, backends, tmp_path):
    from coach.root import Coach

    root = Coach(cfg, backends)
    root.index()
    data, plants = tmp_path / "r.jsonl", tmp_path / "p.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"q{i}", "question": q, "reference": "ref"}) for i, q in
                              enumerate(["Why does TIME_WAIT exist?", "How does DNS resolution work?"])))
    plants.write_text(json.dumps(PLANTED) + "\n")
    calls = []

    def scorer(metric, s):
        calls.append((metric, s.id))
        if metric == "faithfulness" and s.id == "q1":
            raise RuntimeError("unparseable")
        if s.id == "p1":  # the planted item: the contexts are section 1.1's passages
            assert s.contexts and all("TIME_WAIT" in c or "Ports" in c or "teardown" in c for c in s.contexts)
            return 0.5 if "17 minutes" in s.answer else 1.0
        return 0.8

    run = er.run_suite(root, dataset=str(data), scorer=scorer, planted_set=plants,
                       answerer=lambda q: (f"answer to {q}", ["ctx"]))
    assert run.suite == "ragas" and len(calls) == 6 + 2
    assert run.result["answers"][0]["answer"] == "answer to Why does TIME_WAIT exist?"
    assert run.metrics["ragas.faithfulness.ok_rate"] == 0.5 and run.metrics["ragas.faithfulness.mean"] == 0.8
    assert run.metrics["ragas.planted.caught"] == 1.0
    assert "faithfulness / q1: RuntimeError: unparseable" in run.markdown


def test_the_coach_answerer_returns_what_the_answer_came_from(cfg, backends):
    from coach.ask.explainer import Explainer
    from coach.root import Coach

    from fakes import ScriptedChatModel

    root = Coach(cfg, backends)
    root.index()
    chat = ScriptedChatModel(["The OOM killer picks a victim by oom_score [2.1]."])
    answer = er.coach_answerer(Explainer(root.retriever, chat, keys=root.keys))
    text, ctx = answer("Explain the TCP 3-way handshake.")  # a reviewed key: its answer and facts
    assert "SYN" in text and len(ctx) == 1 and "SYN" in ctx[0] and chat.calls == []
    text, ctx = answer("What does the OOM killer use to pick a victim?")
    assert "oom_score" in text and any(c.startswith("[2.1] ") for c in ctx)


def test_importing_the_suite_does_not_import_ragas():
    code = "import coach, coach.evals.ragas, coach.cli, sys; print('ragas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_accepts_ragas():
    from coach.cli import build_parser
    from coach.cli.evals import _suites

    assert build_parser().parse_args(["eval", "ragas", "--limit", "1"]).suite == "ragas"
    assert _suites()["ragas"] is er.run_suite
