"""The worked examples in the pure modules' docstrings are tests too."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["text", "fusion", "metrics", "query", "chunking", "render", "evalkit", "crossencoder", "rerank_data"])
def test_docstring_examples(name):
    mod = importlib.import_module(f"coach.{name}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
