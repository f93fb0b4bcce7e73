"""Training the domain cross-encoder (`coach rerank train`; `coach index` trains it when missing).

Starts from the packaged all-MiniLM-L6-v2 encoder cut to its first `layers` layers (a smaller,
faster student), adds a one-logit head, and trains it with sentence-transformers' CrossEncoder
trainer and binary cross-entropy on the pairs from `coach.rerank_data` plus hard negatives mined
with our own hybrid retrieval. Deterministic given the seed. The result is cached in the data dir
under a key of (corpus hashes, base model, settings, dev-set hash), so it trains at most once per
machine and corpus.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coach.config import Config
from coach.dense import PACKAGED_MINILM, offline_env, resolve_model_path
from coach.rerank_data import (clean_term, definition_pairs, dev_gold_chunks, drop_leaks, heading_pairs,
                               synthetic_pairs)

SYNTHETIC = Path(__file__).resolve().parent.parent / "scripts" / "data" / "synthetic_questions.jsonl"
DEV_SET = Path(__file__).resolve().parent.parent / "evals" / "retrieval_dev.jsonl"


@dataclass(frozen=True)
class TrainSettings:
    base: str = PACKAGED_MINILM
    layers: int = 3  # student depth: 3 of MiniLM's 6 layers (~2x faster to train and to run)
    negatives: int = 3  # hard negatives per question
    epochs: int = 1
    batch_size: int = 32
    lr: float = 5e-5
    max_length: int = 160
    seed: int = 13
    data_version: int = 1


def _key(cfg: Config, s: TrainSettings) -> str:
    from coach.corpus import file_hashes

    h = hashlib.sha256(json.dumps([file_hashes(cfg.corpus_dir), s.__dict__, cfg.chunking.max_tokens], sort_keys=True)
                       .encode())
    for extra in (SYNTHETIC, DEV_SET):
        if extra.is_file():
            h.update(hashlib.sha256(extra.read_bytes()).digest())
    return h.hexdigest()[:12]


def trained_model_dir(cfg: Config, s: TrainSettings = TrainSettings()) -> Path:
    return cfg.data_dir / "reranker" / _key(cfg, s)


def build_examples(retriever, s: TrainSettings, progress=None) -> tuple[list[tuple[str, str, float]], dict]:
    """(query, passage, label) triples and a summary of where they came from."""
    from coach.eval_retrieval import load_dataset

    chunks = list(retriever.chunks.values())
    dev = load_dataset(DEV_SET) if DEV_SET.is_file() else []
    excluded = dev_gold_chunks(chunks, dev)
    raw = definition_pairs(chunks) + heading_pairs(chunks) + synthetic_pairs(SYNTHETIC, set(retriever.chunks))
    pairs = drop_leaks(raw, excluded, [d.query for d in dev] + [d.context or "" for d in dev])
    rng = random.Random(s.seed)
    examples: list[tuple[str, str, float]] = []
    it = progress(pairs, len(pairs), "mining hard negatives") if progress else pairs
    for p in it:
        pos = retriever.chunks[p.chunk_id]
        examples.append((p.query, pos.contextual_text, 1.0))
        term = clean_term(p.query.split(" ")[-1]).lower()
        negs = [h.chunk for h in retriever.search(p.query, 10, mode="hybrid", rerank=False)
                if h.chunk.id != p.chunk_id and h.chunk.id not in excluded
                and h.chunk.heading_path != pos.heading_path and term not in h.chunk.text.lower()]
        examples += [(p.query, n.contextual_text, 0.0) for n in negs[: s.negatives]]
    rng.shuffle(examples)
    summary = {"pairs_raw": len(raw), "pairs_kept": len(pairs), "excluded_dev_chunks": len(excluded),
               "examples": len(examples), "by_source": _count(p.source for p in pairs)}
    return examples, summary


def _count(xs) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return out


def train(cfg: Config, retriever, s: TrainSettings = TrainSettings(), *, force: bool = False,
          progress=None, log: Callable[[str], None] = print) -> Path:
    dest = trained_model_dir(cfg, s)
    if (dest / "config.json").is_file() and not force:
        log(f"reranker already trained: {dest}")
        return dest
    offline_env()
    import torch
    from datasets import Dataset
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    t0 = time.perf_counter()
    set_seed(s.seed)
    torch.manual_seed(s.seed)
    examples, summary = build_examples(retriever, s, progress)
    log(f"training data: {json.dumps(summary)}")
    model = CrossEncoder(resolve_model_path(s.base), num_labels=1, max_length=s.max_length, device="cpu",
                         config_kwargs={"num_hidden_layers": s.layers})
    data = Dataset.from_dict({"query": [e[0] for e in examples], "passage": [e[1] for e in examples],
                              "label": [e[2] for e in examples]})
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp / "run"), num_train_epochs=s.epochs, per_device_train_batch_size=s.batch_size,
        learning_rate=s.lr, warmup_ratio=0.1, seed=s.seed, data_seed=s.seed, logging_steps=25,
        save_strategy="no", report_to="none", use_cpu=True, dataloader_num_workers=0, disable_tqdm=progress is None,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=BinaryCrossEntropyLoss(model))
    trainer.train()
    shutil.rmtree(tmp / "run", ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / "coach_training.json").write_text(json.dumps(
        {**summary, "settings": s.__dict__, "seconds": round(time.perf_counter() - t0, 1)}, indent=1))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    log(f"reranker trained in {time.perf_counter() - t0:.0f}s: {dest}")
    return dest
