"""`coach eval ask`: what `coach ask` teaches, against facts written apart from the answer keys.

Each item of evals/ask_facts.jsonl is a question a learner asks (some the roadmap's own, reworded;
some not), the facts a correct explanation must state (`required`) and the wrong claims it must not
make (`forbidden`). The coach answers as `coach ask` does; the explanation is then checked with the
grader's own signals, as if it were an answer to a key made of the item's facts and claims:
- a required fact is present when the grader counts it covered (similarity, terms, the judge's P(yes));
- a forbidden claim is made when the grader's misconception check says the explanation claims it;
- a shown sentence is unsupported when `coach.ask.faithfulness` (similarity, then the judge's
  P(yes) on "do the notes support it?") finds no support for it in the notes it was written from,
  or, for an answer key's model answer, in the key; the sentences `coach ask` dropped before
  showing them are counted apart, as caught.
Also first-token latency (with and without an answer key) and the share declined. The planted set
(evals/faithfulness_planted.jsonl: explanations true to a roadmap section, and the same with one
invented sentence) checks the faithfulness measure itself: the invented sentence must be the one
flagged. The gate watches facts present, explanations with no wrong claim, supported sentences and
planted claims caught.

It does not judge with RAGAS (`coach.evals.ragas`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from coach.corpus.answer_keys import AnswerKey, KeyFact
from coach.errors import UsageError
from coach.jsonl import read_rows


def key_of(item: dict) -> AnswerKey:
    """The item's facts and claims as an answer key (every fact core), for the grader."""
    return AnswerKey(f"ask:{item['id']}", item.get("section", ""), item["question"], "",
                     tuple(KeyFact(f, True) for f in item["required"]), tuple(item.get("forbidden", ())))


def check(grader_for, item: dict, answer: str) -> dict:
    """Facts present and claims made in `answer`, by the grader's signals (`grader_for(key)` gives a
    grader that grades against that key)."""
    key = key_of(item)
    g = grader_for(key).grade(item["question"], answer, question_id=key.question_id)
    return {"present": [p.text for p in g.points if p.text in g.covered], "claimed": list(g.claimed),
            "n_required": len(item["required"])}


def summarise(rows: Sequence[dict]) -> dict:
    """Overall metrics from per-item records.

    >>> summarise([{"declined": False, "present": ["a"], "n_required": 2, "claimed": [], "shown": 3,
    ...             "dropped": 1, "first_s": 1.0, "keyed": True}])["facts_present"]
    0.5
    """
    answered = [r for r in rows if not r["declined"]]
    req = sum(r["n_required"] for r in answered)
    shown = sum(r["shown"] for r in answered)
    checked = sum(r.get("checked", 0) for r in answered)
    first = {k: [r["first_s"] for r in answered if r["keyed"] is k] for k in (True, False)}
    return {
        "items": len(rows), "declined": round(sum(r["declined"] for r in rows) / max(1, len(rows)), 4),
        "facts_present": round(sum(len(r["present"]) for r in answered) / max(1, req), 4),
        "wrong_claims": round(sum(bool(r["claimed"]) for r in answered) / max(1, len(answered)), 4),
        "no_wrong_claim": round(sum(not r["claimed"] for r in answered) / max(1, len(answered)), 4),
        "dropped_sentences": round(sum(r["dropped"] for r in answered) / max(1, shown + sum(r["dropped"] for r in answered)), 4),
        "unsupported_sentences": round(sum(len(r.get("unsupported", ())) for r in answered) / max(1, checked), 4),
        "first_token_s_keyed": round(statistics.median(first[True]), 2) if first[True] else None,
        "first_token_s_generated": round(statistics.median(first[False]), 2) if first[False] else None,
    }


def run_suite(root, limit: int | None = None, dataset: str | None = None, progress=None, log=None,
              planted_set: Path | None = None):
    """The ask suite as a `coach.evals.kit.SuiteRun` on `root`'s explainer and grader."""
    import sys

    from coach.evals.kit import SuiteRun
    from coach.grading.grader import Grader
    from coach.grading.keys import KeyMatcher

    path = Path(dataset) if dataset else root.cfg.root / "evals" / "ask_facts.jsonl"
    items = read_rows(path)
    if limit is not None:
        if limit < 1:
            raise UsageError(f"--limit must be at least 1, got {limit}")
        items = items[:limit]
    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    base = root.grader

    def grader_for(key: AnswerKey) -> Grader:
        keys = KeyMatcher([key], lambda texts: base.embedder.embed(texts), lambda q: None)
        return Grader(base.rubrics, base.judge, None, base.params, keys, keyed_params=base.keyed_params)

    rows = []
    for item in (progress(items, len(items), "ask") if progress else items):
        t0 = time.perf_counter()
        stream = root.explainer.stream(item["question"], item.get("context"))
        first = None
        for _ in stream:
            first = first if first is not None else time.perf_counter() - t0
        a = stream.result
        rec = {"id": item["id"], "question": item["question"], "answer": a.answer, "declined": a.declined,
               "keyed": bool(a.key), "key": a.key, "citations": list(a.citations), "dropped": len(a.dropped),
               "shown": len([s for s in a.answer.split(". ") if s.strip()]), "first_s": round(first or 0.0, 2),
               "total_s": round(time.perf_counter() - t0, 2)}
        rec |= {"present": [], "claimed": [], "n_required": len(item["required"])} if a.declined else \
            check(grader_for, item, a.answer) | supported(root, item, a)
        rows.append(rec)
        log(f"{item['id']} {'key ' + a.key if a.key else 'LLM'} present {len(rec['present'])}/{rec['n_required']} "
            f"claimed {len(rec['claimed'])} dropped {rec['dropped']} first {rec['first_s']}s")
    overall = summarise(rows)
    planted_path = planted_set or root.cfg.root / "evals" / "faithfulness_planted.jsonl"
    if planted_path.is_file():
        overall |= planted(root, read_rows(planted_path)[:limit] if limit else read_rows(planted_path), log)
    result = {"overall": overall, "records": rows, "dataset": str(path)}
    metrics = {"facts_present": overall["facts_present"], "no_wrong_claim": overall["no_wrong_claim"],
               "supported_sentences": round(1 - overall["unsupported_sentences"], 4)}
    if "planted_caught" in overall:
        metrics["planted_caught"] = overall["planted_caught"]
    return SuiteRun("ask", result, metrics, markdown(overall, rows), [], limit)


def supported(root, item: dict, a) -> dict:
    """The shown sentences no note (or, for a key's answer, the key) supports."""
    from coach.ask.faithfulness import check as faithful

    if a.key:
        key = root.retriever.corpus.key(a.key)
        sources = [key.model_answer, *(f.text for f in key.facts)] if key else []
    else:
        sources = [n.text for n in root.explainer.notes(item["question"], item.get("context"))[1]]
    f = faithful(a.answer, sources, lambda texts: root.retriever.embedder.embed(texts), root.judge)
    return {"checked": len(f.checks), "unsupported": f.unsupported}


def planted(root, items: Sequence[dict], log) -> dict:
    """The faithfulness measure on explanations with and without one invented sentence: the share of
    items where the invented sentence is flagged and the score drops (`planted_caught`), and the
    share of clean sentences flagged (`clean_flagged`, false alarms)."""
    from coach.ask.faithfulness import check as faithful

    chunks = [c for c in root.retriever.chunks.values() if c.kind == "roadmap"]
    embed, judge = (lambda texts: root.retriever.embedder.embed(texts)), root.judge
    caught, false_alarms, clean_sentences = 0, 0, 0
    for it in items:
        sources = [c.text for c in chunks if c.section == it["section"]]
        clean = faithful(it["clean"], sources, embed, judge)
        dirty = faithful(it["clean"] + " " + it["invented"], sources, embed, judge)
        hit = dirty.score < clean.score and any(it["invented"].rstrip(".") in u for u in dirty.unsupported)
        caught += hit
        false_alarms += len(clean.unsupported)
        clean_sentences += len(clean.checks)
        log(f"planted {it['id']} [{it['section']}] clean {clean.score:.2f} planted {dirty.score:.2f} "
            f"{'caught' if hit else 'MISSED'}")
    return {"planted_items": len(items), "planted_caught": round(caught / max(1, len(items)), 4),
            "clean_flagged": round(false_alarms / max(1, clean_sentences), 4)}


def markdown(overall: dict, rows: Sequence[dict]) -> str:
    lines = [f"### Ask: {overall['items']} questions", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in overall.items() if k != "items"]
    misses = [r for r in rows if not r["declined"] and (r["claimed"] or len(r["present"]) < r["n_required"])]
    if misses:
        lines += ["", "Items with a fact missing or a wrong claim:", ""]
        lines += [f"- {r['id']} ({'key ' + r['key'] if r['key'] else 'generated'}): present "
                  f"{len(r['present'])}/{r['n_required']}, claimed {r['claimed']}" for r in misses]
    return "\n".join(lines) + "\n"
