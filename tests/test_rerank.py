import pytest

from coach.evals.retrieval import EvalItem
from coach.retrieval.crossencoder import CrossEncoderReranker
from coach.retrieval.rerank import blend_scores
from coach.retrieval.rerank_data import Pair, definition_pairs, dev_gold_chunks, drop_leaks, heading_pairs, jaccard
from coach.types import Chunk, Hit


def chunk(cid, text, section="1.1", title="TCP", path=("Section 1 — Net", "1.1 TCP")):
    return Chunk(cid, section, title, path, text, "roadmap.md")


def test_blend_keeps_first_stage_signal():
    assert blend_scores([5.0, 1.0], [0.0, 1.0], 1.0) == [1.0, 0.0]
    assert blend_scores([5.0, 1.0], [0.0, 1.0], 0.0) == [0.0, 1.0]
    assert blend_scores([5.0, 1.0], [0.0, 1.0], 0.5) == [0.5, 0.5]


class FixedScores(CrossEncoderReranker):
    """The real reranker's ordering logic over fixed model scores (no model load)."""

    def __init__(self, table, blend):
        super().__init__("unused", "fixed", blend=blend)
        self.table = table

    def scores(self, query, passages):
        return [self.table[p.splitlines()[-1]] for p in passages]


def test_rerank_orders_by_blended_score_and_records_the_model_score():
    hits = [Hit(chunk("a", "alpha"), 0.9), Hit(chunk("b", "beta"), 0.5), Hit(chunk("c", "gamma"), 0.1)]
    rr = FixedScores({"alpha": -3.0, "beta": 4.0, "gamma": 6.0}, blend=0.8)
    out = rr.rerank("q", hits, 2)
    assert [h.chunk.id for h in out] == ["c", "b"]
    assert out[0].scores["rerank"] == 6.0
    assert FixedScores({"alpha": -3.0, "beta": 4.0, "gamma": 5.0}, blend=0.0).rerank("q", hits, 3)[0].chunk.id == "a"
    assert rr.rerank("q", [], 3) == []


def test_definition_and_heading_pairs_come_from_the_chunks():
    c = chunk("a", "- **TIME_WAIT purpose**: keep delayed packets out\n- plain bullet")
    pairs = definition_pairs([c], per_term=2)
    assert len(pairs) == 2 and all("TIME_WAIT purpose" in p.query and p.chunk_id == "a" for p in pairs)
    assert len({p.query for p in pairs}) == 2  # two different phrasings
    assert definition_pairs([c], per_term=2) == pairs  # deterministic
    hp = heading_pairs([c, chunk("b", "x"), chunk("c", "y", path=("Section 1 — Net", "1.1 TCP", "Level 1 — Intermediate"))])
    assert [p.query for p in hp] == ["TCP", "TCP Level 1 — Intermediate"]


def test_leak_control_drops_dev_passages_and_near_duplicate_questions():
    gold = chunk("g", "- **Ports**: ephemeral range 49152–65535")
    other = chunk("o", "- **Sockets**: IP + port")
    dev = [EvalItem("r1", "which port range do outgoing connections use", "paraphrase", ("1.1",), ("ephemeral range",))]
    excluded = dev_gold_chunks([gold, other], dev)
    assert excluded == {"g"}
    pairs = [Pair("what is Ports", "g", "definition"), Pair("what is Sockets", "o", "definition"),
             Pair("which port range do outgoing connections use?", "o", "synthetic")]
    kept = drop_leaks(pairs, excluded, [d.query for d in dev])
    assert kept == [Pair("what is Sockets", "o", "definition")]
    assert jaccard(set(), set()) == 0.0


def test_int8_quantization_replaces_linear_layers_and_keeps_outputs_close():
    torch = pytest.importorskip("torch")
    from coach.retrieval.crossencoder import quantize_linear

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    x = torch.randn(8, 64)
    before = model(x).detach()
    quantize_linear(model)
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    after = model(x).detach()
    assert torch.allclose(before, after, atol=0.05)


def test_nothing_trains_the_reranker_implicitly(run):
    """Indexing (and so the app's start) never trains: training is `coach rerank train` only."""
    code, out, err = run("index")
    assert code == 0 and "indexed" in out and "train" not in (out + err).lower()


def test_training_groups_have_the_answer_and_exactly_n_negatives_from_other_headings(cfg, embedder, store):
    from coach.retrieval.rerank_train import TrainSettings, build_examples

    from coach_helpers import make_retriever

    retriever = make_retriever(cfg, embedder, store)
    s = TrainSettings(negatives=3)
    groups, summary = build_examples(retriever, s)
    assert groups and summary["groups"] == len(groups)
    by_text = {c.contextual_text: c for c in retriever.chunks.values()}
    for g in groups:
        assert len(g.negatives) == 3 and g.positive not in g.negatives
        pos = by_text[g.positive]
        assert all(by_text[n].heading_path != pos.heading_path for n in g.negatives)
    assert build_examples(retriever, s)[0] == groups  # deterministic given the seed
