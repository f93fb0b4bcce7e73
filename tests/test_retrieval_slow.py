"""Real embedder (packaged MiniLM) and real chromadb, embedded and over HTTP; the reranker
trainer on the packaged MiniLM."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.config import from_dict
from coach.retrieval import index
from coach.retrieval.retriever import Retriever
from coach.root import Backends, Coach

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_embedder():
    cfg = from_dict({})
    emb = Coach(cfg).embedder
    emb.embed(["warm up"])
    return emb


def real_cfg(tmp_path, corpus_dir, **store):
    return from_dict({"paths": {"corpus_dir": str(corpus_dir), "data_dir": str(tmp_path / "data")},
                      "store": store}, root=tmp_path)


def test_packaged_minilm_loads_offline_and_embeds(real_embedder):
    v = real_embedder.embed(["TIME_WAIT keeps the socket", "a recipe for pancakes"])
    assert len(v[0]) == 384
    assert abs(sum(x * x for x in v[0]) - 1.0) < 1e-4
    q = real_embedder.embed(["why do closed TCP sockets linger?"], query=True)[0]
    sims = [sum(a * b for a, b in zip(q, d)) for d in v]
    assert sims[0] > sims[1]


def test_chunks_fit_the_embedder_window(real_embedder):
    from coach.corpus.loader import load_corpus

    corpus = load_corpus(Path(__file__).parent.parent / "corpus", from_dict({}).chunking.max_tokens)
    # the roadmap's passages; an answer key's chunk is longer and MiniLM reads its head (question,
    # start of the model answer), which is what document expansion matches on
    passages = [c for c in corpus.chunks if c.kind == "roadmap"]
    lengths = real_embedder.count_tokens([c.contextual_text for c in passages])
    over = sum(n > real_embedder.max_tokens for n in lengths)
    assert over / len(lengths) < 0.02  # nearly every passage is read whole by MiniLM


def test_embedded_chroma_index_and_search(tmp_path, corpus_dir, real_embedder):
    cfg = real_cfg(tmp_path, corpus_dir)
    store = Coach(cfg, Backends(embedder=real_embedder)).vectors
    rep = index.build_index(cfg, real_embedder, store)
    assert rep.added == rep.chunks
    # a fresh process view: reopen the persistent store from disk
    r = Coach(cfg, Backends(embedder=real_embedder)).retriever
    hits = r.search("how does a process get picked when the machine runs out of memory", 3, mode="dense")
    assert hits[0].chunk.section == "2.1"
    hits = r.search("what are the steps of resolving a domain name", 3)
    assert hits[0].chunk.section == "1.2"
    assert store.embedder_name() == cfg.embedder.model
    # the exact scan agrees with chroma's own (HNSW) answer on this small collection, and with
    # chroma's distances, and does not move after an upsert of the same vectors
    vec = real_embedder.embed(["out of memory killer"], query=True)[0]
    exact = store.query(vec, 5)
    res = store.collection.query(query_embeddings=[vec], n_results=5, include=["distances"])
    assert list(exact) == res["ids"][0]
    assert list(exact.values()) == pytest.approx([1 - d for d in res["distances"][0]], abs=1e-5)
    got = store.collection.get(include=["embeddings", "documents"])
    store.add(got["ids"], got["embeddings"], got["documents"])
    assert store.query(vec, 5) == exact


def test_maxsim_on_the_real_token_vectors(real_embedder):
    """The default reranker on the packaged MiniLM: token vectors are unit rows without [CLS]/[SEP],
    and the passage that answers the question scores above two on other topics."""
    from coach.retrieval.maxsim import MaxSimReranker

    toks = real_embedder.token_vectors(["TIME_WAIT keeps the socket"])[0]
    assert toks.shape[1] == 384 and 3 <= toks.shape[0] <= 10
    assert abs(float((toks ** 2).sum(axis=1).mean()) - 1.0) < 1e-4
    passages = ["TIME_WAIT: the side that closes first keeps the socket for 2*MSL so delayed segments "
                "of the old connection expire and the last ACK can be resent.",
                "DNS: resolvers cache answers for the record's TTL.",
                "Page cache: the kernel keeps file pages in free memory."]
    scores = MaxSimReranker(real_embedder).scores("Why does TIME_WAIT exist?", passages)
    assert scores[0] > max(scores[1:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chroma_http_server(tmp_path, corpus_dir, real_embedder):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = _free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        cfg = real_cfg(tmp_path, corpus_dir, backend="http", port=port)
        store = Coach(cfg, Backends(embedder=real_embedder)).vectors
        rep = index.build_index(cfg, real_embedder, store)
        assert rep.added == rep.chunks
        assert not (tmp_path / "data" / "index" / "chroma").exists()  # vectors live on the server
        r = Retriever(index.load_saved(cfg), real_embedder, Coach(cfg, Backends(embedder=real_embedder)).vectors,
                      cfg.retrieval)
        assert r.search("oom_score_adj", 1)[0].chunk.section == "2.1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# Settings under which the 1-layer student learns the temp corpus's 19 questions (120 steps, ~15 s);
# with the defaults' single epoch it stays at the label prior and every score is equal.
TOY = dict(layers=1, max_length=64, negatives=2, epochs=30, lr=5e-4)
QUERY = "Why does TIME_WAIT exist?"
PASSAGES = ["TIME_WAIT purpose: ensure delayed packets do not corrupt new connections",
            "TTL: how long resolvers cache a record",
            "Page cache: file data cached in RAM, reclaimable"]
# Recorded on 2026-12-05 (AMD EPYC with AVX-512) on the temp corpus with its answer keys (the
# values of 2026-11-30 were for the corpus without them).
GOLDEN = [0.80454, 0.20194, 0.01566]


def test_reranker_training_is_deterministic_given_the_seed_and_cached(tmp_path, cfg, embedder, store):
    """Two machines (two data dirs) train the same student from the packaged MiniLM on the same
    corpus and seed: the same scores for one query and three passages, the golden ones, in the
    golden order. A second call reuses the trained model instead of training again."""
    from sentence_transformers import CrossEncoder

    from coach.retrieval.rerank_train import TrainSettings, train

    from coach_helpers import make_retriever

    retriever = make_retriever(cfg, embedder, store)  # the temp corpus, so training takes seconds
    s = TrainSettings(**TOY)
    logs: list[str] = []
    dirs = [train(replace_data_dir(cfg, tmp_path / name), retriever, s, log=logs.append) for name in ("a", "b")]
    assert dirs[0] != dirs[1] and all((d / "config.json").is_file() for d in dirs)
    assert train(replace_data_dir(cfg, tmp_path / "a"), retriever, s, log=logs.append) == dirs[0]
    assert logs[-1].startswith("reranker already trained")
    scores = [CrossEncoder(str(d), device="cpu").predict([(QUERY, p) for p in PASSAGES]).tolist() for d in dirs]
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)
    assert scores[0] == pytest.approx(GOLDEN, abs=1e-3)
    assert max(range(3), key=lambda i: scores[0][i]) == 0  # the passage that answers first


def replace_data_dir(cfg, path):
    from dataclasses import replace

    return replace(cfg, paths=replace(cfg.paths, data_dir=str(path)))
