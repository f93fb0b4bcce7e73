"""Handlers for the corpus and retrieval commands: index, sections, questions, search, rerank train.

Contract (exact): `coach search --batch FILE --json` reads `{"id", "query", "context"?}` lines and
writes one `{"id", "hits": [{"chunk_id", "section", "title", "heading_path", "text", "score"}]}`
line per input, best first, or `{"id", "error"}`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from coach.cli.output import progress_bar
from coach.errors import UsageError
from coach.jsonl import dumps, read_items, run_batch
from coach.root import Coach


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_index(root: Coach, args) -> int:
    from coach.retrieval.index import check_embedder, is_up_to_date, read_manifest

    cfg = root.cfg
    manifest = None if args.rebuild else read_manifest(cfg)
    if manifest is not None:
        check_embedder(manifest, cfg)
        if is_up_to_date(cfg):
            print(f"index is up to date: {manifest['chunks']} chunks, embedder {manifest['embedder']}")
            return 0
    rep = root.index(rebuild=args.rebuild, progress=progress_bar, log=_log)
    print(f"indexed {rep.chunks} chunks in {rep.seconds:.1f}s: {rep.added} embedded, {rep.removed} removed "
          f"(embedder {rep.embedder})")
    return 0


def cmd_rerank(root: Coach, args) -> int:
    """`coach rerank train`: the domain cross-encoder, trained only when asked (see BENCHMARKS.md)."""
    from dataclasses import replace

    from coach.retrieval.rerank_train import TrainSettings, train

    chosen = {k: getattr(args, k, None) for k in ("epochs", "lr", "layers", "seed")}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if any(v <= 0 for k, v in chosen.items() if k != "seed"):
        raise UsageError("--epochs, --lr and --layers must be positive")
    settings = replace(TrainSettings(), **chosen)
    path = train(root.cfg, root.retriever, settings, force=args.force, progress=progress_bar, log=_log)
    print(path)
    _log(f'use it with reranker.model = "{path}" in coach.toml (or "trained" for the default settings), '
         f"or compare it with scripts/sweep_reranker.py --model {path}")
    return 0


def cmd_sections(root: Coach, args) -> int:
    corpus = root.corpus()
    if args.json:
        print(json.dumps([{"id": s.id, "title": s.title, "parent": s.parent} for s in corpus.sections],
                         ensure_ascii=False, indent=1))
        return 0
    for s in corpus.sections:
        indent = "  " if s.parent else ""
        print(f"{indent}{s.id:<6} {s.title}")
    return 0


def cmd_questions(root: Coach, args) -> int:
    """The roadmap's questions (or labs). `--section S` keeps those listed in S or its subsections
    and, for questions, those about S by their answer key (3.1's are listed under 3.17); each
    question's JSON says what it is about (`about`)."""
    from coach.corpus.sections import in_section, resolve_section

    corpus = root.corpus()
    if args.section:  # an id or a name; an unknown one exits 2 listing the nearest
        args.section = resolve_section(args.section, corpus.sections).id
    about = {k.question_id: k.section for k in corpus.keys}
    items = corpus.labs if args.labs else corpus.questions
    if args.section:
        items = [x for x in items if in_section(x.section, args.section) or x.topic == args.section
                 or in_section(about.get(x.id, ""), args.section)]
    if args.json:
        rows = [asdict(x) | ({} if args.labs else {"about": about.get(x.id, x.section)}) for x in items]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    titles = {s.id: s.title for s in corpus.sections}
    if args.section and not items:
        print(f"no {'labs' if args.labs else 'questions'} in or about {args.section}", file=sys.stderr)
    lists = sorted({x.section for x in items if args.section and not in_section(x.section, args.section)})
    if lists:
        print(f"questions about {args.section}; the roadmap lists them under "
              + ", ".join(f"{s} {titles.get(s, '')}".strip() for s in lists) + ":")
    for x in items:
        where = about.get(x.id)
        print(f"[{x.id}] {x.text}" + (f"  (about {where})" if where and not args.section else ""))
    return 0


def hit_json(h) -> dict:
    c = h.chunk
    return {"chunk_id": c.id, "section": c.section, "title": c.title, "heading_path": c.path_str,
            "text": c.text, "score": round(float(h.score), 6)}


def cmd_search(root: Coach, args) -> int:
    if args.batch and args.query:
        raise UsageError("give either a QUERY or --batch FILE, not both")
    if not args.batch and not (args.query or "").strip():
        raise UsageError('nothing to search for: coach search "your question" (or --batch FILE.jsonl)')
    if args.k < 1:
        raise UsageError(f"-k must be at least 1, got {args.k}")
    if args.batch and not args.json:
        raise UsageError("--batch writes JSON lines: add --json")
    retriever = root.retriever
    kw = {"mode": args.mode, "rerank": False if args.no_rerank else None}
    if args.batch:
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
        from coach.cli.output import format_hits

        print(format_hits(hits, args.query, ansi=sys.stdout.isatty()))
    return 0
