"""How close a typed question must be to a listed one to be graded against its answer key.

    .venv/bin/python scripts/measure_key_match.py [evals/key_match.jsonl]

The set has the listed questions re-typed (`"key": "3.17#2"`, kind "same") and questions that must
not use a key (`"key": null`: a part of a listed question, a related question, another question).
For each threshold it prints how many re-typed questions find their key (recall) and how many of
the others are wrongly given one (false matches), with the matcher's topic check on; the chosen
threshold is the lowest with no false match, reported on the odd and even ids separately.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from coach import config  # noqa: E402
from coach.grading.keys import normalise  # noqa: E402
from coach.jsonl import read_rows  # noqa: E402
from coach.root import Coach  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "evals" / "key_match.jsonl"
    rows = read_rows(path)
    keys = Coach(config.load()).keys
    found = []
    for r in rows:
        exact = keys.by_text.get(normalise(r["question"]))
        best, sim = keys.nearest(r["question"])
        same_topic = keys.topic(r["question"]) == best.section.split(".")[0]
        found.append({**r, "best": best.question_id, "sim": 1.0 if exact else sim, "topic": same_topic})
    print("| threshold | half | re-typed found (recall) | wrong key found | others given a key |")
    print("|---|---|---|---|---|")
    for t in (0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.95):
        for half, keep in (("odd", 1), ("even", 0)):
            part = [f for f in found if int(f["id"][1:]) % 2 == keep]
            same = [f for f in part if f["key"]]
            hit = [f for f in same if f["sim"] >= t and f["topic"] and f["best"] == f["key"]]
            wrong = [f for f in same if f["sim"] >= t and f["topic"] and f["best"] != f["key"]]
            false = [f for f in part if not f["key"] and f["sim"] >= t and f["topic"]]
            print(f"| {t} | {half} | {len(hit)}/{len(same)} | {len(wrong)} | {len(false)}/{len(part) - len(same)} |")
    by_kind = {}
    for f in found:
        by_kind.setdefault(f["kind"], []).append(f["sim"])
    print()
    for kind, sims in sorted(by_kind.items()):
        sims.sort()
        print(f"{kind:<8} n={len(sims)} min {sims[0]:.3f} median {sims[len(sims) // 2]:.3f} max {sims[-1]:.3f}")
    print(json.dumps([f for f in found if (f["key"] and f["sim"] < 0.9) or (not f["key"] and f["sim"] >= 0.85)],
                     ensure_ascii=False)[:3000])


if __name__ == "__main__":
    main()
