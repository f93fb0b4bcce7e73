"""Bad input is cleaned and bounded, never raised on."""

import unicodedata

import pytest

from coach.sanitize import MAX_ANSWER_CHARS, clean


@pytest.mark.parametrize("value", [None, "", "   \n\t ", b"\xff\xfe bytes", 42, "\x00" * 50, "\ud800 lone",
                                   "a" * 300_000, "x\r\ny\rz", "\u202eevil rtl override"])
def test_anything_becomes_clean_text(value):
    c = clean(value)
    assert isinstance(c.text, str) and len(c.text) <= MAX_ANSWER_CHARS
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in c.text)
    c.text.encode("utf-8")  # printable: no lone surrogates


def test_controls_and_nul_are_removed_but_newlines_and_tabs_kept():
    assert clean("a\x00b\x07c\n\td\x1b[0m").text == "abc\n\td[0m"


def test_emoji_rtl_and_combining_text_are_preserved_and_nfc():
    text = "TIME_WAIT 🙂👍🏽 שלום עולם مرحبا cafe\u0301"
    c = clean(text)
    assert "🙂👍🏽" in c.text and "שלום עולם" in c.text and "مرحبا" in c.text
    assert c.text.endswith("café") and not c.truncated


def test_long_answer_is_cut_with_a_note():
    c = clean("word " * 40_000)
    assert c.truncated and len(c.text) <= MAX_ANSWER_CHARS and c.original_chars == len(("word " * 40_000).strip())
    assert "4,000" in c.note and "graded and kept" in c.note and not c.text.endswith("wor")
