"""Building and updating the index: chunks on disk, BM25 from them, vectors in the store.

Incremental: chunk ids are content hashes, so an unchanged chunk keeps its id and its vector; a
re-index embeds only new ids and deletes vanished ones. An unchanged corpus (same file hashes,
same chunking, same embedder) is detected from the manifest alone, without loading any model.
The manifest is written last, so an interrupted build is finished by the next run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from coach.config import Config
from coach.corpus.answer_keys import AnswerKey, KeyFact
from coach.corpus.loader import Corpus, file_hashes, load_corpus
from coach.errors import EmbedderMismatchError, IndexNotBuiltError
from coach.types import Chunk, Lab, RoadmapQuestion, Section

MANIFEST_VERSION = 2  # 2: the answer keys are indexed too (keys.json, chunks of kind "key")
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]  # (iterable, total, description)


def _no_progress(it: Iterable[Any], total: int, desc: str) -> Iterable[Any]:
    return it


@dataclass(frozen=True)
class IndexReport:
    chunks: int
    added: int
    removed: int
    unchanged: bool  # nothing to do: the corpus and settings match the manifest
    seconds: float
    embedder: str


def manifest_path(cfg: Config) -> Path:
    return cfg.index_dir / "manifest.json"


def read_manifest(cfg: Config) -> dict[str, Any] | None:
    p = manifest_path(cfg)
    if not p.is_file():
        return None
    return json.loads(p.read_text())


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    os.replace(tmp, path)


def _settings(cfg: Config) -> dict[str, Any]:
    return {"embedder": cfg.embedder.model, "max_tokens": cfg.chunking.max_tokens, "store": cfg.store.backend}


def check_embedder(manifest: dict[str, Any], cfg: Config) -> None:
    if manifest.get("embedder") != cfg.embedder.model:
        raise EmbedderMismatchError(manifest.get("embedder", "?"), cfg.embedder.model)


def is_up_to_date(cfg: Config) -> bool:
    m = read_manifest(cfg)
    return bool(
        m and m.get("version") == MANIFEST_VERSION
        and all(m.get(k) == v for k, v in _settings(cfg).items())
        and m.get("files") == file_hashes(cfg.corpus_dir)
    )


def build_index(cfg: Config, embedder, store, *, rebuild: bool = False,
                progress: Progress = _no_progress, log: Callable[[str], None] = lambda s: None) -> IndexReport:
    """Bring the index in line with the corpus. `embedder` and `store` are the real backends or fakes."""
    t0 = time.perf_counter()
    manifest = read_manifest(cfg)
    if manifest and not rebuild:
        check_embedder(manifest, cfg)
        if is_up_to_date(cfg):
            return IndexReport(manifest["chunks"], 0, 0, True, time.perf_counter() - t0, cfg.embedder.model)
    corpus = load_corpus(cfg.corpus_dir, cfg.chunking.max_tokens)
    cfg.index_dir.mkdir(parents=True, exist_ok=True)
    if rebuild:
        store.reset()
    else:
        built_with = store.embedder_name()
        if built_with and built_with != cfg.embedder.model:
            raise EmbedderMismatchError(built_with, cfg.embedder.model)
    existing = store.ids()
    wanted = {c.id: c for c in corpus.chunks}
    stale = sorted(existing - set(wanted))
    fresh = [c for c in corpus.chunks if c.id not in existing]
    log(f"{len(corpus.chunks)} chunks: {len(fresh)} to embed, {len(stale)} to remove")
    store.delete(stale)
    batch = 32
    batches = [fresh[i:i + batch] for i in range(0, len(fresh), batch)]
    for group in progress(batches, len(batches), f"embedding {len(fresh)} chunks"):
        vectors = embedder.embed([c.contextual_text for c in group])
        store.add([c.id for c in group], vectors, [c.text for c in group])
    save_corpus(cfg.index_dir, corpus)
    _write_json(manifest_path(cfg), {
        "version": MANIFEST_VERSION, **_settings(cfg), "files": corpus.file_hashes,
        "chunks": len(corpus.chunks), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })
    return IndexReport(len(corpus.chunks), len(fresh), len(stale), False, time.perf_counter() - t0, cfg.embedder.model)


def save_corpus(index_dir: Path, corpus: Corpus) -> None:
    _write_json(index_dir / "sections.json", [asdict(s) for s in corpus.sections])
    _write_json(index_dir / "questions.json", [asdict(q) for q in corpus.questions])
    _write_json(index_dir / "labs.json", [asdict(x) for x in corpus.labs])
    _write_json(index_dir / "chunks.json", [asdict(c) for c in corpus.chunks])
    _write_json(index_dir / "keys.json", [asdict(k) for k in corpus.keys])


def load_saved(cfg: Config) -> Corpus:
    """The corpus as last indexed (not as it is on disk now). Raises IndexNotBuiltError if absent."""
    manifest = read_manifest(cfg)
    if manifest is None:
        raise IndexNotBuiltError()
    check_embedder(manifest, cfg)
    d = cfg.index_dir

    def read(name: str) -> list[dict[str, Any]]:
        p = d / name
        if not p.is_file():
            raise IndexNotBuiltError(f"{name} is missing")
        return json.loads(p.read_text())

    chunks = tuple(Chunk(**{**c, "heading_path": tuple(c["heading_path"])}) for c in read("chunks.json"))
    keys = tuple(AnswerKey(**{**k, "facts": tuple(KeyFact(**f) for f in k["facts"]),
                              "misconceptions": tuple(k["misconceptions"])}) for k in read("keys.json"))
    return Corpus(
        tuple(Section(**s) for s in read("sections.json")), chunks,
        tuple(RoadmapQuestion(**q) for q in read("questions.json")),
        tuple(Lab(**x) for x in read("labs.json")), manifest["files"], keys,
    )
