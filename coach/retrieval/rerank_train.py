"""Training the domain cross-encoder: `coach rerank train` only, nothing runs it implicitly.

Starts from the packaged all-MiniLM-L6-v2 encoder cut to its first `layers` layers (a smaller,
faster student), adds a one-logit head, and trains it with sentence-transformers' CrossEncoder
trainer (binary cross-entropy, or MultipleNegativesRankingLoss with `loss="mnrl"`) on the
questions from `coach.retrieval.rerank_data`, each with hard negatives mined with our own hybrid retrieval.
Deterministic given the seed. Measured here, none of the settings tried learns relevance within
the CPU budget (BENCHMARKS.md, "Reranker"), which is why the reranker is off by default. The
result is cached in the data dir under a key of (corpus hashes, base model, settings, dev-set
hash), so it trains at most once per machine and corpus.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coach.config import PROJECT_ROOT, Config
from coach.retrieval.embedder import PACKAGED_MINILM, offline_env, resolve_model_path
from coach.retrieval.rerank_data import (
    clean_term,
    definition_pairs,
    dev_gold_chunks,
    drop_leaks,
    heading_pairs,
    synthetic_pairs,
)

SYNTHETIC = PROJECT_ROOT / "scripts" / "data" / "synthetic_questions.jsonl"
DEV_SET = PROJECT_ROOT / "evals" / "retrieval_dev.jsonl"


@dataclass(frozen=True)
class Group:
    query: str
    positive: str
    negatives: tuple[str, ...]


@dataclass(frozen=True)
class TrainSettings:
    base: str = PACKAGED_MINILM
    layers: int = 3  # student depth: 3 of MiniLM's 6 layers (~2x faster to train and to run)
    loss: str = "bce"  # "bce" (pointwise) or "mnrl" (listwise over the candidates); see _dataset_and_loss
    negatives: int = 3  # hard negatives per question
    in_batch: int = 3  # other questions' passages added as negatives ("mnrl")
    per_term: int = 1  # templated questions per bold term (the LLM-written ones carry the variety)
    epochs: int = 1
    batch_size: int = 16  # more, smaller steps: the untrained head sits on a plateau for the first ~100
    lr: float = 5e-4  # high for BERT fine-tuning; the loss still ends at the label prior (BENCHMARKS.md)
    max_length: int = 128  # the reranker's inference default too (reranker.max_length)
    seed: int = 13
    data_version: int = 3


def _key(cfg: Config, s: TrainSettings) -> str:
    from coach.corpus.loader import file_hashes

    h = hashlib.sha256(json.dumps([file_hashes(cfg.corpus_dir), s.__dict__, cfg.chunking.max_tokens], sort_keys=True)
                       .encode())
    for extra in (SYNTHETIC, DEV_SET):
        if extra.is_file():
            h.update(hashlib.sha256(extra.read_bytes()).digest())
    return h.hexdigest()[:12]


def trained_model_dir(cfg: Config, s: TrainSettings = TrainSettings()) -> Path:
    return cfg.data_dir / "reranker" / _key(cfg, s)


def build_examples(retriever, s: TrainSettings, progress=None) -> tuple[list[Group], dict]:
    """One group per training question: the passage that answers it and exactly `s.negatives`
    hard negatives (hybrid hits from other headings that do not contain the asked term; topped up
    with seeded random passages when too few), plus a summary of where the questions came from."""
    from coach.evals.retrieval import load_dataset

    chunks = list(retriever.chunks.values())
    dev = load_dataset(DEV_SET) if DEV_SET.is_file() else []
    excluded = dev_gold_chunks(chunks, dev)
    raw = (definition_pairs(chunks, s.per_term) + heading_pairs(chunks)
           + synthetic_pairs(SYNTHETIC, set(retriever.chunks)))
    pairs = drop_leaks(raw, excluded, [d.query for d in dev] + [d.context or "" for d in dev])
    rng = random.Random(s.seed)
    pool = [c for c in chunks if c.id not in excluded]
    groups: list[Group] = []
    it = progress(pairs, len(pairs), "mining hard negatives") if progress else pairs
    for p in it:
        pos = retriever.chunks[p.chunk_id]
        term = clean_term(p.query.split(" ")[-1]).lower()

        def usable(c) -> bool:
            return c.id not in excluded and c.heading_path != pos.heading_path and term not in c.text.lower()

        negs = [h.chunk for h in retriever.search(p.query, 10, mode="hybrid", rerank=False) if usable(h.chunk)]
        if len(negs) < s.negatives:
            extra = [c for c in pool if usable(c) and c not in negs]
            negs += rng.sample(extra, min(len(extra), s.negatives - len(negs)))
        if len(negs) < s.negatives:
            continue  # a corpus too small to hold enough other passages
        groups.append(Group(p.query, pos.contextual_text, tuple(n.contextual_text for n in negs[: s.negatives])))
    rng.shuffle(groups)
    summary = {"pairs_raw": len(raw), "pairs_kept": len(pairs), "excluded_dev_chunks": len(excluded),
               "groups": len(groups), "by_source": dict(Counter(p.source for p in pairs))}
    return groups, summary


def _dataset_and_loss(model, groups: list[Group], s: TrainSettings):
    """The training table and loss for `s.loss`:
    - "mnrl": one row per question (query, positive, negative_1..n) and sentence-transformers'
      MultipleNegativesRankingLoss: the positive must outscore its hard negatives and `s.in_batch`
      other questions' passages (a softmax over the candidates: the reranking task itself);
    - "bce": one row per (query, passage, 0/1) and binary cross-entropy (pointwise)."""
    from datasets import Dataset
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, MultipleNegativesRankingLoss

    if s.loss == "mnrl":
        cols = {"query": [g.query for g in groups], "positive": [g.positive for g in groups]}
        for i in range(s.negatives):
            cols[f"negative_{i + 1}"] = [g.negatives[i] for g in groups]
        return Dataset.from_dict(cols), MultipleNegativesRankingLoss(model, num_negatives=s.in_batch)
    rows: list[tuple[str, str, float]] = []
    for g in groups:
        rows.append((g.query, g.positive, 1.0))
        rows += [(g.query, n, 0.0) for n in g.negatives]
    return (Dataset.from_dict({"query": [r[0] for r in rows], "passage": [r[1] for r in rows],
                               "label": [r[2] for r in rows]}), BinaryCrossEntropyLoss(model))


def train(cfg: Config, retriever, s: TrainSettings = TrainSettings(), *, force: bool = False,
          progress=None, log: Callable[[str], None] = print) -> Path:
    dest = trained_model_dir(cfg, s)
    if (dest / "config.json").is_file() and not force:
        log(f"reranker already trained: {dest}")
        return dest
    offline_env()
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.training_args import BatchSamplers
    from transformers import set_seed

    t0 = time.perf_counter()
    set_seed(s.seed)
    torch.manual_seed(s.seed)
    groups, summary = build_examples(retriever, s, progress)
    log(f"training data: {json.dumps(summary)}")
    model = CrossEncoder(resolve_model_path(s.base), num_labels=1, max_length=s.max_length, device="cpu",
                         config_kwargs={"num_hidden_layers": s.layers})
    data, loss = _dataset_and_loss(model, groups, s)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp / "run"), num_train_epochs=s.epochs, per_device_train_batch_size=s.batch_size,
        learning_rate=s.lr, warmup_ratio=0.1, seed=s.seed, data_seed=s.seed, logging_steps=25,
        save_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0, disable_tqdm=progress is None,
        batch_sampler=BatchSamplers.NO_DUPLICATES if s.loss == "mnrl" else BatchSamplers.BATCH_SAMPLER,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss)
    trainer.train()
    shutil.rmtree(tmp / "run", ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / "coach_training.json").write_text(json.dumps(
        {**summary, "settings": s.__dict__, "seconds": round(time.perf_counter() - t0, 1)}, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    log(f"reranker trained in {time.perf_counter() - t0:.0f}s: {dest}")
    return dest
