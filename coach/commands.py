"""Handlers for the retrieval commands: index, sections, questions, search, rerank, eval."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from coach.config import Config
from coach.errors import UsageError
from coach.jsonl import dumps, read_items, run_batch


def _progress(it, total, desc):
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, file=sys.stderr, leave=False, mininterval=1.0)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_index(cfg: Config, args) -> int:
    from coach import index

    manifest = None if args.rebuild else index.read_manifest(cfg)
    if manifest is not None:
        index.check_embedder(manifest, cfg)
        if index.is_up_to_date(cfg) and not _reranker_missing(cfg, args):
            print(f"index is up to date: {manifest['chunks']} chunks, embedder {manifest['embedder']}")
            return 0
    from coach.runtime import make_embedder, make_store

    embedder = make_embedder(cfg)
    store = make_store(cfg, embedder)
    rep = index.build_index(cfg, embedder, store, rebuild=args.rebuild, progress=_progress, log=_log)
    print(f"indexed {rep.chunks} chunks in {rep.seconds:.1f}s: {rep.added} embedded, {rep.removed} removed "
          f"(embedder {rep.embedder})")
    if not args.no_train:
        from coach.rerank_train import ensure_trained

        ensure_trained(cfg, embedder, store, progress=_progress, log=_log)
    return 0


def cmd_rerank(cfg: Config, args) -> int:
    from dataclasses import replace

    from coach.rerank_train import TrainSettings, train
    from coach.runtime import open_retriever

    chosen = {k: getattr(args, k, None) for k in ("epochs", "lr", "layers", "seed")}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if any(v <= 0 for k, v in chosen.items() if k != "seed"):
        raise UsageError("--epochs, --lr and --layers must be positive")
    settings = replace(TrainSettings(), **chosen)
    path = train(cfg, open_retriever(cfg, reranker=_noop()), settings, force=args.force, progress=_progress, log=_log)
    print(path)
    if chosen:  # the retriever uses the default settings' model unless told otherwise
        _log(f'settings other than the defaults: use it with reranker.model = "{path}" in coach.toml, '
             f"or compare it with scripts/sweep_reranker.py --model {path}")
    return 0


def _reranker_missing(cfg: Config, args) -> bool:
    if cfg.reranker.model != "trained" or args.no_train:
        return False
    from coach.rerank_train import needs_training

    return needs_training(cfg)


def _corpus(cfg: Config):
    from coach.index import load_saved, read_manifest
    from coach.corpus import load_corpus

    # sections and questions come from the saved index when there is one, else straight from the files
    if read_manifest(cfg) is not None:
        return load_saved(cfg)
    return load_corpus(cfg.corpus_dir, cfg.chunking.max_tokens)


def cmd_sections(cfg: Config, args) -> int:
    corpus = _corpus(cfg)
    if args.json:
        print(json.dumps([{"id": s.id, "title": s.title, "parent": s.parent} for s in corpus.sections],
                         ensure_ascii=False, indent=1))
        return 0
    for s in corpus.sections:
        indent = "  " if s.parent else ""
        print(f"{indent}{s.id:<6} {s.title}")
    return 0


def cmd_questions(cfg: Config, args) -> int:
    corpus = _corpus(cfg)
    items = corpus.labs if args.labs else corpus.questions
    if args.section:
        items = [x for x in items if x.section == args.section or x.topic == args.section]
    if args.json:
        print(json.dumps([asdict(x) for x in items], ensure_ascii=False, indent=1))
    else:
        for x in items:
            print(f"[{x.id}] {x.text}")
    return 0


def hit_json(h) -> dict:
    c = h.chunk
    return {"chunk_id": c.id, "section": c.section, "title": c.title, "heading_path": c.path_str,
            "text": c.text, "score": round(float(h.score), 6)}


def cmd_search(cfg: Config, args) -> int:
    if args.batch and args.query:
        raise UsageError("give either a QUERY or --batch FILE, not both")
    if not args.batch and not (args.query or "").strip():
        raise UsageError('nothing to search for: coach search "your question" (or --batch FILE.jsonl)')
    if args.k < 1:
        raise UsageError(f"-k must be at least 1, got {args.k}")
    from coach.runtime import open_retriever

    retriever = open_retriever(cfg) if not args.no_rerank else open_retriever(cfg, reranker=_noop())
    kw = {"mode": args.mode, "rerank": False if args.no_rerank else None}
    if args.batch:
        if not args.json:
            raise UsageError("--batch writes JSON lines: add --json")
        def run(d: dict) -> dict:
            ctx = d.get("context")
            hits = retriever.search(d["query"], args.k, context=ctx if isinstance(ctx, str) else None, **kw)
            return {"hits": [hit_json(h) for h in hits]}

        run_batch(read_items(args.batch, ("query",)), lambda d: None, run)
        return 0
    hits = retriever.search(args.query, args.k, context=args.context, **kw)
    if args.json:
        print(dumps({"query": args.query, "hits": [hit_json(h) for h in hits]}))
    else:
        from coach.render import format_hits

        print(format_hits(hits, args.query, ansi=sys.stdout.isatty()))
    return 0


def _noop():
    from coach.rerank import NoopReranker

    return NoopReranker()


# suite -> "module:function"; each function is run_suite(cfg, limit=, dataset=, progress=) -> SuiteRun
SUITES = {
    "retrieval": "coach.eval_retrieval:run_suite",
    "ragas": "coach.eval_ragas:run_suite",
    "grading": "coach.eval_grading:run_suite",
}


def cmd_eval(cfg: Config, args) -> int:
    import importlib
    from pathlib import Path

    from coach import evalkit

    names = list(SUITES) if args.suite == "all" else [args.suite]
    if args.dataset and len(names) > 1:
        raise UsageError("--dataset needs one suite, not all")
    runs, failed = [], []
    for name in names:
        module, func = SUITES[name].split(":")
        run = getattr(importlib.import_module(module), func)(cfg, limit=args.limit, dataset=args.dataset,
                                                            progress=_progress)
        runs.append(run)
        _log(f"{name}: result saved to {evalkit.save_result(run, cfg.data_dir)}")
        if args.update_baseline:
            _log(f"{name}: baseline written to {evalkit.write_baseline(run)}")
        if args.gate:
            baseline = evalkit.load_baseline(name)
            if baseline.get("limit") != args.limit:
                raise UsageError(f"the {name} baseline was measured with --limit {baseline.get('limit')}: "
                                 f"gate with the same --limit")
            regressions = evalkit.compare(run.metrics, baseline)
            for r in regressions:
                _log(f"REGRESSION {name}: {r}")
            failed += regressions
            if not regressions:
                _log(f"{name}: no regression against {evalkit.baseline_path(name)} ({len(baseline['metrics'])} metrics)")
    if args.report:
        _log(f"report written to {evalkit.write_report(runs, Path(args.report))}")
    if args.json:
        print(json.dumps({r.suite: {"metrics": r.metrics, "result": r.result} for r in runs}, indent=1, default=str))
    else:
        print("\n".join(r.markdown for r in runs))
    return 1 if failed else 0
