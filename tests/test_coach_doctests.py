"""The worked examples in the talking half's pure modules are tests too."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["sanitize", "lazy", "vectors", "sections", "keypoints", "signals", "scoring", "judge", "bank",
                                  "explain", "interview", "eval_grading"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(f"coach.{name}"))
    assert result.attempted > 0 and result.failed == 0
