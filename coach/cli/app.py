"""Handlers for `coach history` (list, JSON, Markdown export) and `coach serve` (the Gradio app)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from coach.errors import UsageError
from coach.root import Coach


def cmd_history(root: Coach, args) -> int:
    from coach.session.history import export_markdown, summary_json, summary_table

    store = root.db
    if args.export:
        session = store.session(args.export)
        text = export_markdown(session, store.turns(session.id))
        if args.out:
            out = Path(args.out)
            try:
                out.write_text(text, encoding="utf-8")
            except OSError as e:
                raise UsageError(f"cannot write {out} ({e.strerror}): pick another --out path") from e
            print(out)
        else:
            print(text, end="")
        return 0
    if args.out:
        raise UsageError("--out goes with --export SESSION_ID")
    items = store.sessions(args.limit)
    if args.json:
        print(json.dumps(summary_json(items), ensure_ascii=False, indent=1))
    else:
        print(summary_table(items))
    return 0


def cmd_serve(root: Coach, args) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    from coach.app.serve import serve

    if note := root.grading_note:
        print(f"note: {note}", file=sys.stderr, flush=True)
    serve(root, host=args.host, port=args.port, share=True if args.share else None)
    return 0
