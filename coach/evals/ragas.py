"""`coach eval ragas`: RAGAS faithfulness, answer relevancy, context precision and context recall
of the coach's grounded answers, judged offline by the local GGUF.

What it does: for each question with a reference answer it retrieves k=4 passages with the real
retriever, has the coach answer from them (`Answerer`, a parameter), then asks the judge for the
four metrics, one call per (metric, sample). The judge is `ragas.metrics.collections` (the API that
survives ragas 1.0) over an OpenAI-compatible server: a `llama_cpp.server` this suite starts on a
free loopback port and always stops, or the configured one when `llm.backend = "openai"`.

Failures are data, not gaps: a judge reply that does not parse, an exception or a NaN score is a
counted failure of that metric for that sample, listed with its id and error. Means are over the
successful samples only and the ok-rates are gate metrics too, so a judge that starts failing
cannot raise a mean by dropping its hard cases.

It is the ONE module that imports ragas (pinned ragas==0.4.3 in pyproject.toml; 0.4 changed the
API), and only inside `ragas_scorer`, so `import coach` and the fast tests never import it. It does
not grade interview answers (that is the grading suite) and has no opinion on the answer prompt
beyond `prompts/eval_answer.md`, used until the coach's own ask function is plugged in.
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

METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")
K = 4  # passages per question: what the coach answers from and what the judge checks
ANSWER_MAX_TOKENS = 256
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


Answerer = Callable[[str, Sequence[str]], str]  # (question, passages) -> the coach's answer
Scorer = Callable[[str, Sample], float]  # (metric, sample) -> value; raises on a judge failure


def load_items(path: Path, limit: int | None = None) -> list[Item]:
    """Questions with references: grading files (`strong` is the reference answer) or
    `{id, question, reference, section?}` lines."""
    if not path.is_file():
        raise UsageError(f"dataset not found: {path}")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            ref = d["reference"] if "reference" in d else d["strong"]
            items.append(Item(str(d["id"]), str(d.get("section", "other")), d["question"], ref))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise UsageError(f"{path}:{n}: not a RAGAS item ({e}); need id, question and reference "
                             "(or strong)") from e
    return items[:limit] if limit else items


def build_samples(items: Sequence[Item], retrieve: Callable[[str], list[str]], answer: Answerer,
                  progress=None) -> list[Sample]:
    it = progress(items, len(items), "ragas: answering") if progress else items
    out = []
    for item in it:
        contexts = tuple(retrieve(item.question))
        out.append(Sample(item.id, item.section, item.question, item.reference, contexts,
                          answer(item.question, contexts)))
    return out


def score_samples(samples: Sequence[Sample], scorer: Scorer, metrics: Sequence[str] = METRICS,
                  progress=None) -> list[Score]:
    """Every metric on every sample; exceptions, NaN and out-of-range values become failures."""
    it = progress(samples, len(samples), "ragas: judging") if progress else samples
    out = []
    for s in it:
        for m in metrics:
            try:
                v = scorer(m, s)
            except Exception as e:  # noqa: BLE001 - any judge failure is counted, never fatal
                out.append(Score(m, s.id, None, f"{type(e).__name__}: {str(e)[:300]}"))
                continue
            if v is None or not isinstance(v, (int, float)) or math.isnan(v):
                out.append(Score(m, s.id, None, f"judge returned {v!r}"))
            elif not 0.0 <= v <= 1.0:
                out.append(Score(m, s.id, None, f"judge returned {v!r}, outside [0, 1]"))
            else:
                out.append(Score(m, s.id, float(v)))
    return out


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
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [f"### RAGAS: {result['n']} questions (judge: {result.get('judge', '?')})", "",
             "| metric | mean (ok samples) | ok | failed |", "|---|---|---|---|"]
    for m, r in result["metrics"].items():
        mean = "n/a" if r["mean"] is None else f"{r['mean']:.3f}"
        lines.append(f"| {m} | {mean} | {r['n_ok']}/{r['n']} | {r['n_failed']} |")
    if "seconds_per_sample" in result:
        lines += ["", f"{result['seconds_per_sample']:.0f} s per question (answer + 4 metrics)."]
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


def grounded_answerer(chat) -> Answerer:
    """A plain grounded prompt through a `ChatModel`: the stand-in until `coach ask` exists."""
    from coach.llm.chat import Message
    from coach.prompts import render

    def answer(question: str, contexts: Sequence[str]) -> str:
        passages = "\n\n".join(f"[{i}] {c}" for i, c in enumerate(contexts, 1))
        prompt = render("eval_answer", passages=passages, question=question)
        return chat.complete([Message("user", prompt)], max_tokens=ANSWER_MAX_TOKENS).strip()

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
    """The four `ragas.metrics.collections` metrics as a `Scorer` (the only ragas calls).

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
    from ragas.metrics.collections import AnswerRelevancy, ContextPrecision, ContextRecall, Faithfulness

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
               "context_precision": ContextPrecision(llm=llm), "context_recall": ContextRecall(llm=llm)}
    loop = asyncio.new_event_loop()  # one loop for the whole run: the async client is bound to it

    def score(metric: str, s: Sample) -> float:
        ctx = list(s.contexts)
        kw = {"faithfulness": dict(user_input=s.question, response=s.answer, retrieved_contexts=ctx),
              "answer_relevancy": dict(user_input=s.question, response=s.answer),
              "context_precision": dict(user_input=s.question, reference=s.reference, retrieved_contexts=ctx),
              "context_recall": dict(user_input=s.question, reference=s.reference, retrieved_contexts=ctx)}[metric]
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
              answerer: Answerer | None = None, scorer=None):
    """The RAGAS suite as a `SuiteRun` over `root`'s retriever. `answerer` defaults to the grounded
    prompt through the judge's own server (one model loaded, not two); `scorer` (tests) replaces the
    ragas judge."""
    from coach.evals.kit import SuiteRun
    from coach.llm.openai_api import OpenAIChatModel

    cfg = root.cfg
    path = Path(dataset) if dataset else cfg.root / "evals" / "grading_dev.jsonl"
    items = load_items(path, limit)
    retriever = root.retriever

    def retrieve(q: str) -> list[str]:
        return [h.chunk.text for h in retriever.search(q, K)]

    t0 = time.perf_counter()
    with (judge_url(cfg) if scorer is None or answerer is None else _no_server()) as url:
        chat = OpenAIChatModel(url, cfg.llm.api_model, cfg.llm.api_key, seed=cfg.llm.seed) if url else None
        samples = build_samples(items, retrieve, answerer or grounded_answerer(chat), progress)
        if scorer is not None:
            scores = score_samples(samples, scorer, progress=progress)
        else:
            with ragas_scorer(url, retriever.embedder, model=cfg.llm.api_model, seed=cfg.llm.seed) as sc:
                scores = score_samples(samples, sc, progress=progress)
    result = aggregate(samples, scores)
    result["seconds_per_sample"] = (time.perf_counter() - t0) / max(1, len(samples))
    result["dataset"] = str(path)
    result["judge"] = "llm.base_url" if cfg.llm.backend == "openai" else "local llama_cpp.server"
    result["answers"] = [{"id": s.id, "question": s.question, "answer": s.answer, "contexts": list(s.contexts)}
                         for s in samples]
    return SuiteRun("ragas", result, gate_metrics(result), markdown(result), charts(result), limit)


@contextmanager
def _no_server() -> Iterator[None]:
    yield None
