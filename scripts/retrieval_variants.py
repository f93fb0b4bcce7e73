"""Retrieval settings side by side on the dev and blind query sets, models loaded once.

    python scripts/retrieval_variants.py [--dev evals/retrieval_dev.jsonl] [--blind evals/retrieval_blind.jsonl]

Each variant changes one or two of `[retrieval]` expand / glossary and `[reranker]` blend, and runs
hybrid and hybrid+rerank over both sets. Choose on the dev set; the blind set (written apart from the
roadmap's tuning) says whether the choice carries over. Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach import config  # noqa: E402
from coach.evals.retrieval import evaluate, load_dataset  # noqa: E402
from coach.retrieval.index import load_saved  # noqa: E402
from coach.retrieval.maxsim import MaxSimReranker  # noqa: E402
from coach.retrieval.retriever import Retriever  # noqa: E402
from coach.root import Coach  # noqa: E402

VARIANTS = [  # (name, retrieval overrides, reranker blend); each names every setting it relies on
    ("no expansion", {"expand": 0.0, "glossary": False}, 1.0),
    ("no expansion, blend 0.5", {"expand": 0.0, "glossary": False}, 0.5),
    ("expand 0.8 (default)", {"expand": 0.8, "glossary": False}, 1.0),
    ("expand 0.8, blend 0.5", {"expand": 0.8, "glossary": False}, 0.5),
    ("no expansion, glossary", {"expand": 0.0, "glossary": True}, 1.0),
    ("expand 0.8, glossary", {"expand": 0.8, "glossary": True}, 1.0),
]
RUNS = [("hybrid", "hybrid", False), ("hybrid+rerank", "hybrid", True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default="evals/retrieval_dev.jsonl")
    ap.add_argument("--blind", default="evals/retrieval_blind.jsonl")
    ap.add_argument("--config", default=None)
    args = ap.parse_args()
    cfg = config.load(args.config)
    root = Coach(cfg, llm=False)
    index = load_saved(cfg)
    sets = {"dev": load_dataset(Path(args.dev)), "blind": load_dataset(Path(args.blind))}
    print("| variant | set | hybrid hit@1 | hybrid hit@5 | hybrid MRR | +rerank hit@1 | +rerank hit@5 | +rerank MRR |")
    print("|---|---|---|---|---|---|---|---|")
    for name, over, blend in VARIANTS:
        rcfg = dataclasses.replace(cfg.retrieval, **over)
        retriever = Retriever(index, root.embedder, root.vectors, rcfg, MaxSimReranker(root.embedder, blend))
        for set_name, items in sets.items():
            res = evaluate(retriever, items, RUNS)["runs"]
            h, r = res["hybrid"]["metrics"]["all"], res["hybrid+rerank"]["metrics"]["all"]
            print(f"| {name} | {set_name} ({len(items)}) | {h['hit@1']:.3f} | {h['hit@5']:.3f} | {h['mrr@10']:.3f} "
                  f"| {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr@10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
