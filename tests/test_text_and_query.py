from coach.cli.output import emphasise
from coach.corpus.text import tokenize
from coach.retrieval import query


def test_technical_tokens_stay_whole_and_add_their_parts():
    toks = tokenize("Tune net.ipv4.tcp_tw_reuse; CLOSE_WAIT piles up (ss -tanp); oom_score_adj; IRSA")
    for whole in ["net.ipv4.tcp_tw_reuse", "close_wait", "ss", "-tanp", "oom_score_adj", "irsa"]:
        assert whole in toks
    assert {"tcp_tw_reuse", "reuse", "close", "wait"} <= set(toks)


def test_case_folding_stopwords_and_plurals():
    assert tokenize("What are the Connections in THE pool") == ["connection", "pool"]
    assert tokenize("policies classes status") == ["policy", "class", "status"]


def test_cidr_and_versions_kept():
    toks = tokenize("route 10.0.0.0/16 via x86_64 and HTTP/2")
    assert "10.0.0.0/16" in toks and "x86_64" in toks and "http/2" in toks
    assert "0" not in toks


def test_quiz_framing_is_stripped():
    assert query.strip_framing("quiz me on DNS") == "DNS"
    assert query.strip_framing("Test me about terraform state locking") == "terraform state locking"
    assert query.strip_framing("practice kubernetes networking") == "kubernetes networking"
    assert query.strip_framing("what is BGP") == "what is BGP"


def test_followup_context_is_added_and_the_query_keeps_the_weight():
    text = query.resolve("how do I tune that?", "What is TCP TIME_WAIT?")
    assert "TIME_WAIT" in text and text.count("how do I tune that?") == 2
    long_ctx = " ".join(["word"] * 500)
    assert len(query.resolve("x", long_ctx).split()) <= query.CONTEXT_WORDS + 2
    assert query.resolve("how do I tune that?", None) == "how do I tune that?"
    assert query.resolve("how do I tune that?", "   ") == "how do I tune that?"
    assert query.needs_context("what about it?") and not query.needs_context("how does BGP pick routes")


def test_emphasis_marks_whole_terms_only():
    assert emphasise("TIME_WAIT and waiting", ["time_wait"], ansi=False) == "**TIME_WAIT** and waiting"
