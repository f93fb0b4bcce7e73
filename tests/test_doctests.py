"""The worked examples in the pure modules' docstrings are tests too."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["text", "fusion", "metrics", "query", "chunking", "render", "evalkit", "rerank", "maxsim", "rerank_data"])
def test_docstring_examples(name):
    mod = importlib.import_module(f"coach.{name}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


def test_build_flags_script_examples():
    """scripts/llama_cmake_args.py decides how llama.cpp is compiled: its examples run too."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "llama_cmake_args.py"
    spec = importlib.util.spec_from_file_location("llama_cmake_args", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0
