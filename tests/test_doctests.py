"""The worked examples in the modules' docstrings are tests too: every module of the package is run."""

import doctest
import importlib
import pkgutil

import pytest

import coach

# gradio (their callbacks are tested in test_ui) and the `python -m coach.cli` entry, which runs on import
HEAVY = {"coach.app.layout", "coach.app.callbacks", "coach.app.serve", "coach.cli.__main__"}
MODULES = sorted(m.name for m in pkgutil.walk_packages(coach.__path__, "coach.") if m.name not in HEAVY)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_the_pure_modules_carry_examples():
    with_examples = {name for name in MODULES if doctest.testmod(importlib.import_module(name)).attempted}
    for name in ("coach.retrieval.fusion", "coach.corpus.text", "coach.evals.metrics", "coach.grading.scoring",
                 "coach.grading.keypoints", "coach.grading.signals", "coach.corpus.answer_keys", "coach.app.view"):
        assert name in with_examples


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
