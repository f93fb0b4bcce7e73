"""`coach eval ragas`: RAGAS faithfulness, answer relevancy and context precision of what `coach
ask` answers, judged offline by the local GGUF.

What it does: for each question of the ask set (evals/ask_facts.jsonl: the reference is its
required facts) the coach's own explainer answers (`coach.ask.explainer`, through the judge's
server: one model loaded), and the contexts are what it answered from (the answer key it quoted, or
the notes it wrote from). Then the judge scores each metric, one call per (metric, sample), timed.
The planted check scores faithfulness on explanations true to a roadmap section with and without
one invented sentence (evals/faithfulness_planted.jsonl): the share where the score drops says
whether RAGAS with this judge can see an invented fact at all. The judge is
`ragas.metrics.collections` (the API that survives ragas 1.0) over an OpenAI-compatible server: a
`llama_cpp.server` this suite starts on a free loopback port and always stops, or the configured
one when `llm.backend = "openai"`.

Context recall is not run: with the 1.5B judge under ragas' schema it returned an empty list of
classifications on every sample, which ragas scores NaN (BENCHMARKS.md); a number that is never
there cannot gate anything.

Failures are data, not gaps: a judge reply that does not parse, an exception or a NaN score is a
counted failure of that metric for that sample, listed with its id and error. Means are over the
successful samples only and the ok-rates are gate metrics too, so a judge that starts failing
cannot raise a mean by dropping its hard cases.

It is the ONE module that imports ragas (pinned ragas==0.4.3 in pyproject.toml; 0.4 changed the
API), and only inside `ragas_scorer`, so `import coach` and the fast tests never import it. It does
not grade interview answers (that is the grading suite) and has no opinion on the answer prompt
beyond what `coach ask` does.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coach.config import Config
from coach.errors import ModelError, UsageError
from coach.jsonl import read_rows

METRICS = ("faithfulness", "answer_relevancy", "context_precision")
JUDGE_MAX_TOKENS = 1024  # ragas' own default; its JSON replies list statements, cut-off JSON is a failure


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    question: str
    reference: str


@dataclass(frozen=True)
class Sample:
    """One question as the judge sees it."""

    id: str
    section: str
    question: str
    reference: str
    contexts: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Score:
    """One metric on one sample: a value in [0, 1], or the reason there is none."""

    metric: str
    sample_id: str
    value: float | None
    error: str | None = None
    seconds: float = 0.0


Answerer = Callable[[str], tuple[str, list[str]]]  # question -> (the coach's answer, what it answered from)
Scorer = Callable[[str, Sample], float]  # (metric, sample) -> value; raises on a judge failure


def load_items(path: Path, limit: int | None = None) -> list[Item]:
    """Questions with references: `{id, question, reference, section?}` lines, grading files
    (`strong` is the reference answer) or the ask set (its `required` facts are the reference)."""
    if not path.is_file():
        raise UsageError(f"dataset not found: {path}")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            ref = d["reference"] if "reference" in d else d["strong"] if "strong" in d else " ".join(d["required"])
            items.append(Item(str(d["id"]), str(d.get("section", "other")), d["question"], ref))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UsageError(f"{path}:{n}: not a RAGAS item ({e}); need id, question and reference "
                             "(or strong, or required)") from e
    return items[:limit] if limit else items


def build_samples(items: Sequence[Item], answer: Answerer, progress=None) -> list[Sample]:
    it = progress(items, len(items), "ragas: answering") if progress else items
    out = []
    for item in it:
        text, contexts = answer(item.question)
        out.append(Sample(item.id, item.section, item.question, item.reference, tuple(contexts), text))
    return out


def score_samples(samples: Sequence[Sample], scorer: Scorer, metrics: Sequence[str] = METRICS,
                  progress=None) -> list[Score]:
    """Every metric on every sample; exceptions, NaN and out-of-range values become failures."""
    it = progress(samples, len(samples), "ragas: judging") if progress else samples
    out = []
    for s in it:
        for m in metrics:
            out.append(score_one(scorer, m, s))
    return out


def score_one(scorer: Scorer, metric: str, s: Sample) -> Score:
    """One metric on one sample, timed; an exception, NaN or out-of-range value is a failure."""
    t0 = time.perf_counter()
    try:
        v = scorer(metric, s)
    except Exception as e:  # noqa: BLE001 - any judge failure is counted, never fatal
        return Score(metric, s.id, None, f"{type(e).__name__}: {e}", round(time.perf_counter() - t0, 2))
    took = round(time.perf_counter() - t0, 2)
    if v is None or not isinstance(v, (int, float)) or math.isnan(v):
        return Score(metric, s.id, None, f"judge returned {v!r}", took)
    if not 0.0 <= v <= 1.0:
        return Score(metric, s.id, None, f"judge returned {v!r}, outside [0, 1]", took)
    return Score(metric, s.id, float(v), None, took)


def planted(items: Sequence[dict], sources: Callable[[str], list[str]], scorer: Scorer, progress=None) -> dict:
    """RAGAS faithfulness on each planted item's clean explanation and on the same with its invented
    sentence: `caught` is the share of items whose score drops (a failed judgement is not caught)."""
    it = progress(items, len(items), "ragas: planted") if progress else items
    rows = []
    for d in it:
        ctx = tuple(sources(d["section"]))
        clean = score_one(scorer, "faithfulness", Sample(d["id"], d["section"], d["question"], "", ctx, d["clean"]))
        dirty = score_one(scorer, "faithfulness", Sample(d["id"], d["section"], d["question"], "", ctx,
                                                         d["clean"] + " " + d["invented"]))
        rows.append({"id": d["id"], "clean": clean.value, "planted": dirty.value,
                     "caught": clean.value is not None and dirty.value is not None and dirty.value < clean.value})
    return {"n": len(rows), "caught": sum(r["caught"] for r in rows) / len(rows) if rows else 0.0, "rows": rows}


def aggregate(samples: Sequence[Sample], scores: Sequence[Score], metrics: Sequence[str] = METRICS) -> dict[str, Any]:
    """Per metric: mean over successful samples (None when none succeeded), counts, ok-rate and
    the failures; plus faithfulness per section.

    >>> s = [Sample("a", "1", "q", "r", (), "x"), Sample("b", "2", "q", "r", (), "y")]
    >>> r = aggregate(s, [Score("faithfulness", "a", 0.5), Score("faithfulness", "b", None, "bad json")],
    ...               ["faithfulness"])
    >>> r["metrics"]["faithfulness"]["mean"], r["metrics"]["faithfulness"]["ok_rate"]
    (0.5, 0.5)
    """
    by_metric: dict[str, list[Score]] = defaultdict(list)
    for sc in scores:
        by_metric[sc.metric].append(sc)
    out: dict[str, Any] = {}
    for m in metrics:
        rows = by_metric.get(m, [])
        ok = [r.value for r in rows if r.value is not None]
        out[m] = {"mean": statistics.fmean(ok) if ok else None, "n": len(rows), "n_ok": len(ok),
                  "n_failed": len(rows) - len(ok), "ok_rate": len(ok) / len(rows) if rows else 0.0,
                  "median_seconds": statistics.median(r.seconds for r in rows) if rows else 0.0,
                  "failures": [{"id": r.sample_id, "error": r.error} for r in rows if r.value is None]}
    section = {s.id: s.section for s in samples}
    per_section: dict[str, list[float]] = defaultdict(list)
    for r in by_metric.get("faithfulness", []):
        if r.value is not None:
            per_section[section[r.sample_id]].append(r.value)
    return {"n": len(samples), "metrics": out,
            "faithfulness_by_section": {k: statistics.fmean(v) for k, v in sorted(per_section.items(), key=_sec)},
            "scores": [{"metric": r.metric, "id": r.sample_id, "value": r.value, "error": r.error} for r in scores]}


def _sec(kv: tuple[str, Any]) -> list:
    return [int(p) if p.isdigit() else p for p in kv[0].split(".")]


def gate_metrics(result: dict[str, Any]) -> dict[str, float]:
    """`ragas.<metric>.mean` (left out when no sample succeeded: the gate then reports it missing)
    and `ragas.<metric>.ok_rate`."""
    out = {}
    for m, r in result["metrics"].items():
        if r["mean"] is not None:
            out[f"ragas.{m}.mean"] = r["mean"]
        out[f"ragas.{m}.ok_rate"] = r["ok_rate"]
    if result.get("planted"):
        out["ragas.planted.caught"] = result["planted"]["caught"]
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [f"### RAGAS: {result['n']} questions (judge: {result.get('judge', '?')})", "",
             "| metric | mean (ok samples) | ok | failed | median s per judgement |", "|---|---|---|---|---|"]
    for m, r in result["metrics"].items():
        mean = "n/a" if r["mean"] is None else f"{r['mean']:.3f}"
        lines.append(f"| {m} | {mean} | {r['n_ok']}/{r['n']} | {r['n_failed']} | {r.get('median_seconds', 0):.0f} |")
    if "seconds_per_sample" in result:
        lines += ["", f"{result['seconds_per_sample']:.0f} s per question (answer + {len(result['metrics'])} metrics); "
                      f"answering took {result.get('answer_seconds', 0):.0f} s in all."]
    if result.get("planted"):
        pl = result["planted"]
        lines += ["", f"Planted invented sentence: faithfulness dropped on {pl['caught']:.2f} of {pl['n']} explanations.",
                  "", "| item | clean | with the invented sentence |", "|---|---|---|"]
        lines += [f"| {r['id']} | {r['clean']} | {r['planted']} |" for r in pl["rows"]]
    fails = [(m, f) for m, r in result["metrics"].items() for f in r["failures"]]
    if fails:
        lines += ["", "Failed judgements (not in the means):", ""]
        lines += [f"- {m} / {f['id']}: {f['error']}" for m, f in fails]
    return "\n".join(lines) + "\n"


def charts(result: dict[str, Any]):
    from coach.evals.kit import Chart

    ms = list(result["metrics"])
    out = [Chart("RAGAS metric means (ok samples) and ok-rates", ms,
                 {"mean": [result["metrics"][m]["mean"] or 0.0 for m in ms],
                  "ok_rate": [result["metrics"][m]["ok_rate"] for m in ms]})]
    by = result["faithfulness_by_section"]
    if by:
        out.append(Chart("RAGAS faithfulness per section", list(by), {"faithfulness": list(by.values())}))
    return out


def coach_answerer(explainer) -> Answerer:
    """What `coach ask` answers, and the texts it answered from: the quoted answer key, or the notes
    (key facts and roadmap key points) the LLM wrote from, one context per section."""
    def answer(question: str) -> tuple[str, list[str]]:
        a = explainer.answer(question)
        if a.key:
            key = explainer.retriever.corpus.key(a.key)
            return a.answer, [key.model_answer + " " + " ".join(f.text for f in key.facts)] if key else []
        by_section: dict[str, list[str]] = {}
        for n in explainer.notes(question, None)[1]:
            by_section.setdefault(n.section, []).append(n.text)
        return a.answer, [f"[{sec}] " + " ".join(texts) for sec, texts in by_section.items()]

    return answer


# --- the judge: a local OpenAI-compatible server and the ragas calls ----------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def local_server(gguf: Path, n_ctx: int = 4096, n_threads: int = 2, seed: int = 42,
                 ready_timeout: float = 180.0) -> Iterator[str]:
    """`python -m llama_cpp.server` on 127.0.0.1:<free port>; yields its base URL; always stopped."""
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--seed", str(seed)]
    log = tempfile.NamedTemporaryFile(prefix="coach-judge-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise ModelError(f"the judge server exited with {proc.returncode} (log {log.name}): "
                                 f"{Path(log.name).read_text(errors='replace')[-800:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise ModelError(f"the judge server was not ready after {ready_timeout:.0f} s (log {log.name})")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def ragas_scorer(base_url: str, embedder, *, model: str = "coach", seed: int = 42,
                 constrained: bool = True) -> Iterator[Scorer]:
    """The `ragas.metrics.collections` metrics of `METRICS` as a `Scorer` (the only ragas calls).

    The collections metrics call `llm.agenerate`, which needs an async client. `constrained=True`
    patches it with instructor's JSON_SCHEMA mode, which sends `{"type": "json_object", "schema":
    ...}`: llama-cpp-python's server turns that into a grammar, so the small judge can only emit JSON
    of ragas' reply model. `False` is plain `llm_factory` (instructor JSON mode: any JSON object,
    the schema only described in the prompt)."""
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"  # before the import: no tracking connections
    import asyncio

    import instructor
    import openai
    from ragas.embeddings.base import BaseRagasEmbedding
    from ragas.llms import InstructorLLM, llm_factory
    from ragas.metrics.collections import AnswerRelevancy, ContextPrecision, Faithfulness

    class CoachEmbeddings(BaseRagasEmbedding):  # our loaded MiniLM, offline, no second copy
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def embed_text(self, text: str, **kw: Any) -> list[float]:
            return self.inner.embed([text])[0]

        async def aembed_text(self, text: str, **kw: Any) -> list[float]:
            return self.embed_text(text)

        def embed_texts(self, texts: list[str], **kw: Any) -> list[list[float]]:
            return self.inner.embed(list(texts))

        async def aembed_texts(self, texts: list[str], **kw: Any) -> list[list[float]]:
            return self.embed_texts(texts)

    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", timeout=900.0, max_retries=0)
    args = {"temperature": 0.0, "seed": seed, "max_tokens": JUDGE_MAX_TOKENS}
    if constrained:
        llm = InstructorLLM(instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA), model=model,
                            provider="openai", **args)
    else:
        llm = llm_factory(model, client=client, **args)
    # strictness=1: at temperature 0 the default 3 generated questions are the same question 3 times
    metrics = {"faithfulness": Faithfulness(llm=llm),
               "answer_relevancy": AnswerRelevancy(llm=llm, embeddings=CoachEmbeddings(embedder), strictness=1),
               "context_precision": ContextPrecision(llm=llm)}
    loop = asyncio.new_event_loop()  # one loop for the whole run: the async client is bound to it

    def score(metric: str, s: Sample) -> float:
        ctx = list(s.contexts)
        kw = {"faithfulness": dict(user_input=s.question, response=s.answer, retrieved_contexts=ctx),
              "answer_relevancy": dict(user_input=s.question, response=s.answer),
              "context_precision": dict(user_input=s.question, reference=s.reference, retrieved_contexts=ctx)}[metric]
        return loop.run_until_complete(metrics[metric].ascore(**kw)).value

    try:
        yield score
    finally:
        loop.run_until_complete(client.close())
        loop.close()


@contextmanager
def judge_url(cfg: Config) -> Iterator[str]:
    """The configured server (`llm.backend = "openai"`), or a local one started for this run."""
    if cfg.llm.backend == "openai":
        yield cfg.llm.base_url
        return
    from coach.llm.packaged import ensure_model

    with local_server(ensure_model(cfg), n_ctx=4096, n_threads=2, seed=cfg.llm.seed) as url:
        yield url


def run_suite(root, limit: int | None = None, dataset: str | None = None, progress=None, *,
              answerer: Answerer | None = None, scorer=None, planted_set: Path | None = None):
    """The RAGAS suite as a `SuiteRun`. `answerer` defaults to `coach ask` through the judge's own
    server (one model loaded, not two); `scorer` (tests) replaces the ragas judge. The planted check
    runs on as many items as the questions (`limit`)."""
    from coach.ask.explainer import Explainer
    from coach.evals.kit import SuiteRun
    from coach.llm.openai_api import OpenAIChatModel

    cfg = root.cfg
    path = Path(dataset) if dataset else cfg.root / "evals" / "ask_facts.jsonl"
    items = load_items(path, limit)
    planted_path = planted_set or cfg.root / "evals" / "faithfulness_planted.jsonl"
    plants = read_rows(planted_path)[: limit or None] if planted_path.is_file() else []
    retriever = root.retriever

    def sources(section: str) -> list[str]:
        return [c.text for c in retriever.chunks.values() if c.kind == "roadmap" and c.section == section]

    t0 = time.perf_counter()
    with (judge_url(cfg) if scorer is None or answerer is None else _no_server()) as url:
        if answerer is None:
            chat = OpenAIChatModel(url, cfg.llm.api_model, cfg.llm.api_key, seed=cfg.llm.seed)
            answerer = coach_answerer(Explainer(retriever, chat, thresholds=cfg.ask, keys=root.keys))
        samples = build_samples(items, answerer, progress)
        answered = time.perf_counter() - t0
        if scorer is not None:
            scores = score_samples(samples, scorer, progress=progress)
            plant = planted(plants, sources, scorer, progress)
        else:
            with ragas_scorer(url, retriever.embedder, model=cfg.llm.api_model, seed=cfg.llm.seed) as sc:
                scores = score_samples(samples, sc, progress=progress)
                plant = planted(plants, sources, sc, progress)
    result = aggregate(samples, scores)
    result["planted"] = plant if plants else None
    result["answer_seconds"] = answered
    result["seconds_per_sample"] = (time.perf_counter() - t0) / max(1, len(samples))
    result["dataset"] = str(path)
    result["judge"] = "llm.base_url" if cfg.llm.backend == "openai" else "local llama_cpp.server"
    result["answers"] = [{"id": s.id, "question": s.question, "answer": s.answer, "contexts": list(s.contexts)}
                         for s in samples]
    return SuiteRun("ragas", result, gate_metrics(result), markdown(result), charts(result), limit)


@contextmanager
def _no_server() -> Iterator[None]:
    yield None
