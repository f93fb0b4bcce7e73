"""Latency of the local LLM: load time, prompt and generation speed, and what prefix reuse saves.

    flock /tmp/coach-cpu.lock env OMP_WAIT_POLICY=passive .venv/bin/python scripts/bench_llm.py

Steps, all through `LlamaCppChatModel` (greedy, seed 42):
1. load the GGUF (mmap) and time it;
2. from a fresh state, one ~500-token prompt (system + a 400-token roadmap excerpt + a question),
   `--gen` new tokens: prompt tokens/s and generation tokens/s from llama.cpp's own counters;
3. a second prompt sharing the first 400+ tokens (same system + excerpt, another question): only
   the new tail is evaluated;
4. the same second prompt after `reset()`, for comparison.
The counters (llama_perf_context) are read through the adapter's private handle: this is a bench.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from coach import config  # noqa: E402
from coach.llm.chat import Message  # noqa: E402
from coach.llm.llama import LlamaCppChatModel  # noqa: E402
from coach.llm.packaged import PROFILES, ensure_model  # noqa: E402

SYSTEM = "You are an interviewer for AI cloud infrastructure engineers. Use only the notes given."
QUESTION_A = ("Using the notes above, ask one hard interview question about the first topic they cover, then "
              "explain in detail what a strong answer must contain, point by point, with the trade-offs.")
QUESTION_B = ("Using the notes above, list the three most common mistakes candidates make on this topic and "
              "explain in detail why each one is wrong.")


def excerpt(llama, text: str, n_tokens: int) -> str:
    tokens = llama.tokenize(text.encode(), add_bos=False)[:n_tokens]
    return llama.detokenize(tokens).decode("utf-8", errors="ignore")


def timed_call(model: LlamaCppChatModel, messages: list[Message], gen: int) -> dict:
    import llama_cpp

    ctx = model._llama._ctx.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    t0 = time.perf_counter()
    first = None
    text = ""
    for piece in model.stream(messages, max_tokens=gen):
        first = first or time.perf_counter()
        text += piece
    wall = time.perf_counter() - t0
    perf = llama_cpp.llama_perf_context(ctx)
    return {"wall_s": round(wall, 2), "first_token_s": round((first or t0) - t0, 2),
            "prompt_tokens_evaluated": perf.n_p_eval, "prompt_s": round(perf.t_p_eval_ms / 1000, 2),
            "prompt_tok_per_s": round(perf.n_p_eval / (perf.t_p_eval_ms / 1000), 1) if perf.n_p_eval else None,
            "generated_tokens": perf.n_eval + 1, "gen_s": round(perf.t_eval_ms / 1000, 2),
            "gen_tok_per_s": round(perf.n_eval / (perf.t_eval_ms / 1000), 1) if perf.n_eval else None,
            "reply_start": text[:60]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--prefix-tokens", type=int, default=400, help="tokens of roadmap text in the shared prefix")
    ap.add_argument("--gen", type=int, default=64, help="tokens to generate per call")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    cfg = config.load()
    path = ensure_model(cfg, profile=PROFILES[args.profile])
    model = LlamaCppChatModel(path, n_ctx=args.n_ctx, n_threads=args.threads, seed=42)
    t0 = time.perf_counter()
    model.load()
    out: dict = {"model": PROFILES[args.profile].description, "threads": args.threads,
                 "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "load_s": round(time.perf_counter() - t0, 2)}

    roadmap = (cfg.corpus_dir / "roadmap.md").read_text(encoding="utf-8")
    notes = excerpt(model._llama, roadmap, args.prefix_tokens)
    head = [Message("system", SYSTEM)]
    a = head + [Message("user", f"Notes:\n{notes}\n\n{QUESTION_A}")]
    b = head + [Message("user", f"Notes:\n{notes}\n\n{QUESTION_B}")]

    model.reset()
    out["fresh_500"] = timed_call(model, a, args.gen)
    out["shared_prefix"] = timed_call(model, b, args.gen)
    model.reset()
    out["same_prompt_fresh"] = timed_call(model, b, args.gen)
    model.close()

    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    f, s, n = out["fresh_500"], out["shared_prefix"], out["same_prompt_fresh"]
    print(f"{out['model']}, {args.threads} threads, OMP_WAIT_POLICY={out['omp_wait_policy']}")
    print(f"load:                {out['load_s']:.2f} s")
    print(f"fresh prompt:        {f['prompt_tokens_evaluated']} tokens in {f['prompt_s']:.2f} s = "
          f"{f['prompt_tok_per_s']} tok/s; generation {f['generated_tokens']} tokens at {f['gen_tok_per_s']} tok/s; "
          f"first token {f['first_token_s']:.2f} s, total {f['wall_s']:.2f} s")
    print(f"shared prefix:       evaluated {s['prompt_tokens_evaluated']} new prompt tokens in {s['prompt_s']:.2f} s; "
          f"first token {s['first_token_s']:.2f} s, total {s['wall_s']:.2f} s")
    print(f"same prompt, fresh:  evaluated {n['prompt_tokens_evaluated']} prompt tokens in {n['prompt_s']:.2f} s; "
          f"first token {n['first_token_s']:.2f} s, total {n['wall_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
