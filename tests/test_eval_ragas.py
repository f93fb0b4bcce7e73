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


def test_load_items_grading_and_reference_formats(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "g1", "section": "2.3", "question": "Q?", "strong": "S", "wrong": "W"}) + "\n\n"
                 + json.dumps({"id": 7, "question": "Q2?", "reference": "R"}) + "\n")
    assert er.load_items(p) == [er.Item("g1", "2.3", "Q?", "S"), er.Item("7", "other", "Q2?", "R")]
    assert len(er.load_items(p, limit=1)) == 1


def test_load_items_names_the_bad_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"id": "a", "question": "Q"}\n')
    with pytest.raises(UsageError, match=r"d.jsonl:1: .*reference"):
        er.load_items(p)
    with pytest.raises(UsageError, match="not found"):
        er.load_items(tmp_path / "missing.jsonl")


def test_shipped_dataset_loads(cfg):
    items = er.load_items(er.Path(__file__).parent.parent / "evals" / "grading_dev.jsonl")
    assert len(items) >= 50 and all(i.reference and i.question for i in items)


def test_build_samples_passes_retrieved_passages_to_the_answerer():
    seen = []

    def answer(q, ctx):
        seen.append((q, tuple(ctx)))
        return f"A to {q}"

    items = [er.Item("a", "1.1", "why?", "ref")]
    samples = er.build_samples(items, lambda q: [f"ctx for {q}"], answer)
    assert samples == [er.Sample("a", "1.1", "why?", "ref", ("ctx for why?",), "A to why?")]
    assert seen == [("why?", ("ctx for why?",))]


def test_score_samples_counts_every_kind_of_failure():
    script = {("a", "faithfulness"): 0.75, ("a", "answer_relevancy"): float("nan"),
              ("a", "context_precision"): ValueError("Instructor: could not parse"),
              ("a", "context_recall"): 1.5, ("b", "faithfulness"): None}

    def scorer(metric, s):
        v = script.get((s.id, metric), 1.0)
        if isinstance(v, Exception):
            raise v
        return v

    scores = er.score_samples([_sample("a"), _sample("b")], scorer)
    got = {(s.sample_id, s.metric): (s.value, s.error) for s in scores}
    assert len(scores) == 8
    assert got[("a", "faithfulness")] == (0.75, None)
    assert got[("a", "answer_relevancy")][0] is None and "nan" in got[("a", "answer_relevancy")][1]
    assert got[("a", "context_precision")] == (None, "ValueError: Instructor: could not parse")
    assert "outside [0, 1]" in got[("a", "context_recall")][1]
    assert got[("b", "faithfulness")] == (None, "judge returned None")
    assert got[("b", "context_recall")] == (1.0, None)


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
    assert "- context_recall / b: boom" in md
    charts = er.charts(r)
    assert charts[0].labels == list(er.METRICS) and charts[0].series["ok_rate"] == [0.5] * 4
    assert charts[1].labels == ["1.1"]


def test_run_suite_with_fakes(cfg, backends, tmp_path):
    from coach.root import Coach

    root = Coach(cfg, backends)
    root.index()
    retriever = root.retriever
    data = tmp_path / "r.jsonl"
    data.write_text("\n".join(json.dumps({"id": f"q{i}", "question": q, "reference": "ref"}) for i, q in
                              enumerate(["Why does TIME_WAIT exist?", "How does DNS resolution work?"])))
    calls = []

    def scorer(metric, s):
        calls.append((metric, s.id))
        if metric == "faithfulness" and s.id == "q1":
            raise RuntimeError("unparseable")
        return 0.8

    run = er.run_suite(root, dataset=str(data), scorer=scorer,
                       answerer=lambda q, ctx: f"{len(ctx)} passages")
    assert run.suite == "ragas" and len(calls) == 8
    assert run.result["answers"][0]["answer"] == f"{min(er.K, len(retriever.chunks))} passages"
    assert run.metrics["ragas.faithfulness.ok_rate"] == 0.5 and run.metrics["ragas.faithfulness.mean"] == 0.8
    assert "faithfulness / q1: RuntimeError: unparseable" in run.markdown


def test_grounded_answerer_numbers_the_passages():
    class Chat:
        def complete(self, messages, schema=None, *, max_tokens=512):
            self.prompt = messages[-1].content
            return " ok "

    chat = Chat()
    assert er.grounded_answerer(chat)("Why?", ["alpha", "beta"]) == "ok"
    assert "[1] alpha" in chat.prompt and "[2] beta" in chat.prompt and "Question: Why?" in chat.prompt


def test_importing_the_suite_does_not_import_ragas():
    code = "import coach, coach.evals.ragas, coach.cli, sys; print('ragas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_accepts_ragas():
    from coach.cli import build_parser
    from coach.cli.evals import _suites

    assert build_parser().parse_args(["eval", "ragas", "--limit", "1"]).suite == "ragas"
    assert _suites()["ragas"] is er.run_suite
