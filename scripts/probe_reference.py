"""Probe: does a reference answer written by the LLM from the passages help the judge?

    flock /tmp/coach-cpu.lock .venv/bin/python scripts/probe_reference.py dump /tmp/ref.jsonl [STEP]
    .venv/bin/python scripts/probe_reference.py pairs /tmp/ref.jsonl

For every STEP-th dev question (default 3): the grader's passages and rubric, a short reference
answer written by the LLM from those passages, and for each labelled answer:
- `sim`: cosine of the answer with the reference answer (MiniLM);
- `agree`: P(yes) "does the answer agree with the reference answer on the main point?", asked on
  the grader's own prompt head (the answer read once, the reference after it);
- `correct`: P(yes) "judged against the reference answer, is the answer correct?";
- `py`: the grader's P(yes) for the central key point, for comparison.
`pairs` counts the questions where a signal puts one kind above another.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("strong", "partial", "wrong", "concise", "off_topic")
WRITE = ("Notes from a study roadmap:\n{notes}\n\nInterview question: {question}\n\n"
         "Write the answer a strong candidate would give, in two or three sentences, using only the notes. "
         "State the central point first. Reply with the answer only.")
AGREE = ("Reference answer:\n{reference}\n\nDoes the candidate's answer agree with the reference answer on the main "
         "point? Missing details are fine; a statement that conflicts with the reference is not. Answer only yes or no.")
CORRECT = ("Reference answer:\n{reference}\n\nJudged against the reference answer, is the candidate's answer correct? "
           "Answer only yes or no.")


def dump(path: Path, step: int) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import time

    from coach import config
    from coach.commands_coach import Runtime
    from coach.eval_grading import load_rows
    from coach.keypoints import cosine
    from coach.llm import Message
    from coach.prompts import render
    from coach.signals import quote

    rows = load_rows(ROOT / "evals" / "grading_dev.jsonl")
    rt = Runtime(config.load())
    grader, model = rt.grader, rt.model
    with path.open("w") as out:
        for row in rows[::step]:
            q = row["question"]
            t0 = time.perf_counter()
            chunks = grader.passages(q)
            notes = "\n\n".join(f"[{c.section}] {c.text[:1200]}" for c in chunks[:3])
            reference = model.complete([Message("user", WRITE.format(notes=notes, question=q))],
                                       max_tokens=90).strip()
            t_ref = time.perf_counter() - t0
            points = [p.text for p in grader.key_points(q)][:1]
            start = grader._judge_head(q)
            rvec = grader.embedder.embed([reference])[0]
            rec = {"id": row["id"], "reference": reference, "ref_seconds": round(t_ref, 2), "kinds": {}}
            for kind in KINDS:
                answer = row.get(kind) or row.get(kind.replace("_", "-"))
                if not answer:
                    continue
                head = render("grade_head", question=q, answer=quote(answer[:3000]))

                def ask(text: str) -> float | None:
                    return grader.judge.p_yes([start[0], Message("user", f"{head}\n\n{text}")])

                with grader.judge.judging(start):
                    rec["kinds"][kind] = {
                        "py": ask(render("grade_point", point=points[0])) if points else None,
                        "agree": ask(AGREE.format(reference=reference)),
                        "correct": ask(CORRECT.format(reference=reference)),
                        "sim": round(cosine(grader.embedder.embed([answer])[0], rvec), 4),
                    }
            out.write(json.dumps(rec) + "\n")
            out.flush()
            print(row["id"], f"{t_ref:.1f}s", reference[:100].replace("\n", " "), flush=True)


PAIRS = (("strong", "partial"), ("partial", "wrong"), ("concise", "wrong"), ("strong", "wrong"),
         ("strong", "off_topic"))


def pairs(path: Path) -> None:
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    for name in ("py", "agree", "correct", "sim"):
        won = []
        for a, b in PAIRS:
            ok = [r for r in recs if a in r["kinds"] and b in r["kinds"] and r["kinds"][a][name] is not None
                  and r["kinds"][b][name] is not None]
            won.append(f"{a}>{b} {sum(r['kinds'][a][name] > r['kinds'][b][name] for r in ok)}/{len(ok)}")
        means = " ".join(f"{k}={sum(r['kinds'][k][name] or 0 for r in recs if k in r['kinds']) / len(recs):.2f}"
                         for k in KINDS)
        print(f"{name:<8}", "  ".join(won), "|", means)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("dump", "pairs"):
        sys.exit(__doc__)
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else 3)
    else:
        pairs(Path(sys.argv[2]))
