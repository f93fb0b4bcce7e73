import os
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from coach import config as config_mod  # noqa: E402

from fakes import HashingEmbedder, MemoryStore  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROADMAP = textwrap.dedent("""\
    # Test Roadmap

    > intro text

    ## Section 1 — Networking

    Networking is how machines talk.

    ### 1.1 TCP Deep Dive

    #### Level 0 — Basics
    - **Ports**: well-known (0–1023), ephemeral (49152–65535)
    - **Sockets**: IP + port + protocol

    #### Level 1 — Intermediate
    - **4-way teardown**:
      - Initiator sends `FIN` → enters `FIN_WAIT_1`
      - Receiver sends `ACK` → enters `CLOSE_WAIT`
      - `TIME_WAIT` purpose: ensure delayed packets do not corrupt new connections
    - **Tuning**: `net.ipv4.tcp_tw_reuse` lets new outbound connections reuse TIME_WAIT sockets

    ### 1.2 DNS
    - **Resolution**: stub resolver → recursive → root → TLD → authoritative
    - **TTL**: how long resolvers cache a record

    ### 1.3 Interview Questions — Networking
    - Explain the TCP 3-way handshake.
    - How does DNS resolution work?

    ## Section 2 — Linux

    ### 2.1 Memory
    - **OOM killer**: picks a victim by `oom_score`, adjust with `oom_score_adj`
    - **Page cache**: file data cached in RAM, reclaimable

    ### 2.2 Hands-on Labs — Linux
    - [ ] Trigger the OOM killer and read dmesg
    - [ ] Tune kernel parameters for 10K connections
    """)

NOTES = textwrap.dedent("""\
    # Kafka notes

    ## Kafka
    - **Consumer groups**: partitions are split among consumers of a group
    - **Retention**: log segments deleted after retention.ms
    """)


KEYS = textwrap.dedent("""\
    # Answer keys: Section 1 — Networking

    ## 1.3#1 [1.1]

    **Question:** Explain the TCP 3-way handshake.

    **Model answer:**
    The client sends SYN with its initial sequence number, the server answers SYN-ACK with its own
    sequence number and an acknowledgement of the client's, and the client sends ACK. Both sides are
    then ESTABLISHED. The exchange lets each side pick and confirm an initial sequence number, so
    delayed segments of an old connection are not taken for new data. A listening server keeps
    half-open connections in the SYN queue and completed ones in the accept queue until the
    application calls accept().

    **Key facts:**
    - (core) The client sends SYN, the server answers SYN-ACK, and the client replies with ACK.
    - (core) Each side chooses an initial sequence number that the other side acknowledges.
    - Half-open connections wait in the SYN queue until the final ACK arrives.

    **Misconceptions:**
    - The server sends the first SYN and the client answers with SYN-ACK.

    ## 1.3#2 [1.2]

    **Question:** How does DNS resolution work?

    **Model answer:**
    The application asks the stub resolver, which sends the query to a recursive resolver. The
    recursive resolver checks its cache and otherwise walks the hierarchy: a root server refers it
    to the TLD servers, the TLD servers refer it to the domain's authoritative servers, and the
    authoritative server answers. Every answer carries a TTL that says how long resolvers may cache
    it, which is why changes take time to be seen everywhere.

    **Key facts:**
    - (core) A recursive resolver walks from the root servers to the TLD servers to the authoritative servers.
    - (core) Answers are cached by resolvers for the record's TTL.
    - The stub resolver on the client forwards queries to a recursive resolver.

    **Misconceptions:**
    - Every lookup goes to the root servers because resolvers never cache answers.
    """)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "roadmap.md").write_text(ROADMAP)
    (d / "notes.md").write_text(NOTES)
    (d / "answers").mkdir()
    (d / "answers" / "01-networking.md").write_text(KEYS)
    return d


@pytest.fixture
def cfg(tmp_path: Path, corpus_dir: Path):
    return config_mod.from_dict(
        {"paths": {"corpus_dir": str(corpus_dir), "data_dir": str(tmp_path / "data")},
         "embedder": {"model": "fake-hashing"}},
        root=tmp_path,
    )


@pytest.fixture
def embedder():
    return HashingEmbedder()


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def backends():
    """The fake embedder and in-memory vector store, handed to the composition root."""
    from coach.root import Backends

    return Backends(embedder=HashingEmbedder(), vectors=MemoryStore())


@pytest.fixture
def fake_cli(cfg, monkeypatch, tmp_path):
    """A coach.toml for the temp corpus and data dir, found through $COACH_CONFIG."""
    toml = tmp_path / "coach.toml"
    toml.write_text(f'[paths]\ncorpus_dir = "{cfg.corpus_dir}"\ndata_dir = "{cfg.data_dir}"\n'
                    '[embedder]\nmodel = "fake-hashing"\n')
    monkeypatch.setenv("COACH_CONFIG", str(toml))
    monkeypatch.delenv("COACH_DATA_DIR", raising=False)
    return tmp_path


@pytest.fixture
def run(fake_cli, backends, capsys):
    """`run(*argv)`: the CLI with the fake backends injected; returns (exit code, stdout, stderr)."""
    from coach import cli

    def run(*argv, backends=backends):
        code = cli.main(list(argv), backends=backends)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def db(tmp_path):
    """The SQLite progress store in the temp data dir."""
    from coach.session.store import Store

    return Store(tmp_path / "data" / "progress.db")
