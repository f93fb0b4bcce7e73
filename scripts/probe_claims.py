"""Probe: can the 1.5B check the answer's own claims (sentence by sentence) against the notes?

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/probe_claims.py dump /tmp/claims.jsonl [STEP] [--all-points|--contra]
    .venv/bin/python scripts/probe_claims.py pairs /tmp/claims.jsonl

For every STEP-th dev question (default 3): the rubric's key points as notes; for each of the
strong, partial, wrong and concise answers, its 3 sentences closest to the rubric (MiniLM cosine),
and for each sentence P(yes) for
- `notes`: "according to the notes, is this statement correct?" (the notes in the prompt head);
- `own`: "is this statement technically correct?" (no notes: the model's own knowledge).
Signals per answer: the lowest and the mean over its sentences. `--all-points` gives the notes
every key point of the grader's passages instead of the rubric (strong answers' extra details are
then more often in the notes). `--contra` asks the opposite questions instead, to see whether the
answer flips with them (for these two, a higher P(yes) means "wrong"):
- `contra`: "does this statement contradict the notes?" (unmentioned details do not count);
- `false`: "according to the notes, is this statement false?".
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("strong", "partial", "wrong", "concise")
SYSTEM = "You are a strict technical examiner. You check one statement at a time."
NOTES_HEAD = "Reference notes:\n{notes}\n\nAccording to the reference notes, is the following statement correct? Answer only yes or no.\nStatement: "
OWN_HEAD = "Is the following technical statement correct? Answer only yes or no.\nStatement: "
CONTRA_HEAD = ("Reference notes:\n{notes}\n\nDoes the following statement contradict the reference notes? A statement "
               "about something the notes do not mention does not contradict them. Answer only yes or no.\nStatement: ")
FALSE_HEAD = "Reference notes:\n{notes}\n\nAccording to the reference notes, is the following statement false? Answer only yes or no.\nStatement: "


def dump(path: Path, step: int, all_points: bool = False, contra: bool = False) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    from coach import config
    from coach.commands_coach import Runtime
    from coach.eval_grading import load_rows
    from coach.keypoints import cosine, split_points
    from coach.llm import Message
    from coach.signals import sentences

    rows = load_rows(ROOT / "evals" / "grading_dev.jsonl")
    rt = Runtime(config.load())
    grader = rt.grader
    judge = grader.judge
    with path.open("w") as out:
        for row in rows[::step]:
            q = row["question"]
            points = grader.key_points(q)
            listed = list(dict.fromkeys(p.text for c in grader.passages(q) for p in split_points(c))) \
                if all_points else [p.text for p in points]
            notes = "\n".join(f"- {t}" for t in listed)
            pvecs = grader.embedder.embed([p.text for p in points])
            rec = {"id": row["id"], "kinds": {}}
            for kind in KINDS:
                sents = sentences(row[kind])
                svecs = grader.embedder.embed(sents)
                near = sorted(range(len(sents)), key=lambda i: -max(cosine(s, svecs[i]) for s in pvecs))[:3]
                chosen = [sents[i] for i in sorted(near)]
                res = {name: [] for name in ("notes", "own", "contra", "false")}
                heads = (("notes", NOTES_HEAD.format(notes=notes)),) + (() if all_points else (("own", OWN_HEAD),)) \
                    if not contra else (("contra", CONTRA_HEAD.format(notes=notes)), ("false", FALSE_HEAD.format(notes=notes)))
                for name, head in heads:
                    start = [Message("system", SYSTEM), Message("user", head)]
                    with judge.judging(start):
                        for s in chosen:
                            res[name].append(judge.p_yes([start[0], Message("user", head + s)]))
                res["sentences"] = chosen
                rec["kinds"][kind] = res
            out.write(json.dumps(rec) + "\n")
            out.flush()
            print(row["id"], {k: [round(x, 2) for x in v[heads[0][0]]] for k, v in rec["kinds"].items()}, flush=True)


PAIRS = (("strong", "partial"), ("partial", "wrong"), ("concise", "wrong"), ("strong", "wrong"))


def pairs(path: Path) -> None:
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for name in [n for n in ("notes", "own", "contra", "false") if all(k.get(n) for r in recs for k in r["kinds"].values())]:
        for agg, f in (("min", min), ("mean", lambda v: sum(v) / len(v))):
            won = [f"{a}>{b} {sum(f(r['kinds'][a][name]) > f(r['kinds'][b][name]) for r in recs)}/{len(recs)}"
                   for a, b in PAIRS]
            means = " ".join(f"{k}={sum(f(r['kinds'][k][name]) for r in recs) / len(recs):.2f}" for k in KINDS)
            print(f"{name:<6}{agg:<5}", "  ".join(won), "|", means)


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) not in (2, 3) or args[0] not in ("dump", "pairs") or set(flags) - {"--all-points", "--contra"}:
        sys.exit(__doc__)
    if args[0] == "dump":
        dump(Path(args[1]), int(args[2]) if len(args) == 3 else 3, "--all-points" in flags, "--contra" in flags)
    else:
        pairs(Path(args[1]))
