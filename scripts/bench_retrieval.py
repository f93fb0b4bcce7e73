"""Speed benchmark for the index and search (BENCHMARKS.md, "Index and search speed").

Runs in a scratch data dir so the user's index is untouched:
  1. `coach --help` wall time (subprocess, median of 5)
  2. cold `coach index` (fresh data dir, subprocess: includes Python start-up and model load)
  3. unchanged re-index (subprocess, median of 3)
  4. one changed file (a copy of a small note added to the corpus copy), subprocess
  5. warm search latency in process, per mode, over the dev-set queries (p50/p95)

Usage: .venv/bin/python scripts/bench_retrieval.py [--queries N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach import config  # noqa: E402
from coach.evals import metrics  # noqa: E402
from coach.evals.retrieval import load_dataset  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    coach = str(Path(sys.executable).parent / "coach")
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "corpus", corpus)
        toml = Path(tmp) / "coach.toml"
        toml.write_text(f'[paths]\ncorpus_dir = "{corpus}"\ndata_dir = "{tmp}/data"\n')
        env = {**os.environ, "COACH_CONFIG": str(toml)}
        out["help_s"] = statistics.median(timed([coach, "--help"], env) for _ in range(5))
        out["index_cold_s"] = timed([coach, "index"], env)
        out["index_noop_s"] = statistics.median(timed([coach, "index"], env) for _ in range(3))
        (corpus / "notes.md").write_text("# Notes\n\n## Kafka\n- **Consumer lag**: how far a group is behind\n")
        out["index_one_file_s"] = timed([coach, "index"], env)

        from coach.root import Coach

        r = Coach(config.load(toml)).retriever
        items = load_dataset(ROOT / "evals" / "retrieval_dev.jsonl", args.queries)
        for mode in ("bm25", "dense", "hybrid"):
            r.search("warm up", 5, mode=mode, rerank=False)
            lat = []
            for it in items:
                t0 = time.perf_counter()
                r.search(it.query, 10, mode=mode, rerank=False, context=it.context)
                lat.append((time.perf_counter() - t0) * 1000)
            out[f"search_{mode}_ms"] = {"p50": round(metrics.percentile(lat, 50), 1),
                                        "p95": round(metrics.percentile(lat, 95), 1)}
        out["chunks"] = len(r.chunks)
    out["machine"] = f"{os.cpu_count()} cores, {sys.platform}"
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k, v in out.items():
            print(f"{k:>20}: {v}")


if __name__ == "__main__":
    main()
