"""The answer keys: the format parses, the lint finds what it must, and the corpus's keys pass it."""

from pathlib import Path

import pytest

from coach.corpus.answer_keys import KeyFormatError, lint, parse_keys
from coach.corpus.loader import load_corpus

CORPUS = Path(__file__).resolve().parent.parent / "corpus"

GOOD = """# Keys
## 1.3#1 [1.1]
**Question:** Explain the TCP 3-way handshake.

**Model answer:**
""" + " ".join(["The client sends SYN, the server answers SYN-ACK, and the client ACKs."] * 6) + """

**Key facts:**
- (core) The client sends SYN with its initial sequence number.
- (core) The server answers SYN-ACK, acknowledging the client's sequence number.
- The client's final ACK completes the handshake,
  and both sides are ESTABLISHED.

**Misconceptions:**
- The handshake needs four packets because each side must send its own SYN and ACK separately.
"""


def test_a_key_parses_with_wrapped_bullets_and_core_marks():
    (k,) = parse_keys(GOOD, "x.md")
    assert (k.question_id, k.section, k.question) == ("1.3#1", "1.1", "Explain the TCP 3-way handshake.")
    assert [f.core for f in k.facts] == [True, True, False]
    assert k.facts[2].text == "The client's final ACK completes the handshake, and both sides are ESTABLISHED."
    assert lint([k], {"1.3#1": "Explain the TCP 3-way handshake."}, ["1.1"]) == []


@pytest.mark.parametrize("bad, problem", [
    (GOOD.replace("## 1.3#1 [1.1]", "## 1.3#1"), "a key starts with '## <question id> \\["),
    (GOOD.replace("**Misconceptions:**", "**Mistakes:**"), "lacks Misconceptions"),
    (GOOD.replace("- (core) The client sends SYN", "* (core) The client sends SYN"), "expected a '- ' bullet"),
])
def test_format_errors_name_the_file_and_line(bad, problem):
    with pytest.raises(KeyFormatError, match=problem) as e:
        parse_keys(bad, "x.md")
    assert str(e.value).startswith("x.md:")


def test_the_lint_finds_each_kind_of_problem():
    (k,) = parse_keys(GOOD, "x.md")
    questions = {"1.3#1": "Explain the TCP 3-way handshake!", "1.3#2": "How does DNS work?"}
    found = "\n".join(lint([k, k], questions, ["1.2"]))
    for problem in ("a second key", "not verbatim", "does not exist", "1.3#2: no key", "duplicate fact"):
        assert problem in found
    short = parse_keys(GOOD.replace("(core) The client sends", "The client sends")
                       .replace("(core) The server", "The server"), "x.md")
    assert "no fact is marked (core)" in "\n".join(lint(short))
    late = parse_keys(GOOD.replace("- The client's final ACK", "- (core) The client's final ACK")
                      .replace("- (core) The server answers", "- The server answers"), "x.md")
    assert "core facts must come first" in "\n".join(lint(late))


def test_every_listed_question_has_exactly_one_valid_key():
    corpus = load_corpus(CORPUS, 170)
    questions = {q.id: q.text for q in corpus.questions}
    assert len(corpus.keys) == len(questions) == 343
    problems = lint(corpus.keys, questions, [s.id for s in corpus.sections])
    assert problems == [], "\n".join(problems[:20])
    roadmap = {s.id for s in corpus.sections if s.source == "roadmap.md"}
    lists = {q.section for q in corpus.questions}
    assert all(k.section in roadmap and k.section not in lists for k in corpus.keys)  # about a topic, not a list
