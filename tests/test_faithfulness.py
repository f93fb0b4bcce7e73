"""The faithfulness check the ask eval gates on (fake embedder and judge): an explanation with one
invented claim scores lower than the same explanation without it, and the claim is the sentence it
reports."""

from contextlib import nullcontext

from coach.ask.faithfulness import check, statements

from fakes import HashingEmbedder

SOURCES = [
    "TIME_WAIT purpose: ensure delayed packets do not corrupt new connections. "
    "The initiator of the close enters TIME_WAIT after the 4-way teardown.",
    "net.ipv4.tcp_tw_reuse lets new outbound connections reuse TIME_WAIT sockets.",
]
CLEAN = ("The side that closes first enters TIME_WAIT after the 4-way teardown [1.1]. "
         "TIME_WAIT ensures delayed packets do not corrupt new connections. "
         "tcp_tw_reuse lets new outbound connections reuse TIME_WAIT sockets [1.1].")
INVENTED = "TIME_WAIT always lasts exactly 17 minutes because the BGP hold timer sets it."


class WordJudge:
    """P(yes) that the notes support a statement: the share of its longer words found in the notes."""

    def __init__(self):
        self.asked = 0

    def p_yes(self, messages):
        self.asked += 1
        text = messages[-1].content
        notes = text.split("Statement: ")[0].lower()
        statement = text.split("Statement: ")[1].split("\n")[0].lower()
        words = [w.strip(".,") for w in statement.split() if len(w) > 4]
        return sum(w in notes for w in words) / max(1, len(words))

    def judging(self, head, answer=""):
        return nullcontext()

    def prefill(self, head, answer=""):
        pass


def embed():
    e = HashingEmbedder()
    return lambda texts: e.embed(texts)


def test_an_invented_claim_lowers_the_score_and_is_named():
    judge = WordJudge()
    clean = check(CLEAN, SOURCES, embed(), judge)
    planted = check(CLEAN + " " + INVENTED, SOURCES, embed(), judge)
    assert clean.score == 1.0 and clean.unsupported == []
    assert planted.score < clean.score
    assert planted.unsupported == [INVENTED]
    assert judge.asked == 7  # every sentence was put to the judge


def test_without_a_judge_similarity_decides():
    planted = check(CLEAN + " " + INVENTED, SOURCES, embed())
    assert planted.unsupported == [INVENTED]
    assert all(c.p_yes is None for c in planted.checks)


def test_nothing_to_check_and_no_sources():
    assert check("", SOURCES, embed()).score == 1.0
    assert check(CLEAN, [], embed()).score == 0.0  # no source supports anything
    assert statements("See [3.1]. Ok.") == []  # too short to be a claim
