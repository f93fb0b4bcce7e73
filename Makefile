# Two commands do all the set-up:   make setup && make run     (and: make test)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# llama.cpp: portable AVX2 build. A native build uses AMX where the CPU advertises it, and
# some VMs trap AMX ("illegal instruction").
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# The CI subsets of the LLM-judged suites (their baselines are measured on exactly these).
GRADING_GATE_ITEMS := 8
RAGAS_GATE_ITEMS := 1

# Nothing phones home.
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
export RAGAS_DO_NOT_TRACK=true
export GRADIO_ANALYTICS_ENABLED=False
export OMP_WAIT_POLICY=passive

.PHONY: setup install run test test-fast test-slow eval-gate bench clean

setup: install
	$(BIN)/coach model fetch
	$(BIN)/coach index

install: $(VENV)/.installed

# torch first: the CPU wheel pinned here. An unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -e '.[dev]'
	touch $@

# The practice app on http://127.0.0.1:7860 (Ctrl-C stops it). PORT=8000 make run for another port.
PORT ?= 7860
run:
	$(BIN)/coach index
	$(BIN)/coach serve --port $(PORT)

test: test-fast test-slow eval-gate

test-fast:
	$(BIN)/python -m pytest

test-slow:
	$(BIN)/python -m pytest -m slow

# Offline eval suites on the real models, failing on a regression against evals/baselines/:
# the whole retrieval dev set, and fixed small subsets of the grading and RAGAS suites (LLM time).
eval-gate:
	$(BIN)/coach eval retrieval --gate --report .coach/reports/ci-retrieval.md
	$(BIN)/coach eval grading --limit $(GRADING_GATE_ITEMS) --gate --report .coach/reports/ci-grading.md
	$(BIN)/coach eval ragas --limit $(RAGAS_GATE_ITEMS) --gate --report .coach/reports/ci-ragas.md

bench:
	$(BIN)/python scripts/bench_retrieval.py

clean:
	rm -rf .coach
