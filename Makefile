# Two commands do all the set-up:   make setup && make run     (and: make test)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# llama.cpp: portable AVX2 build. A native build uses AMX where the CPU advertises it, and
# some VMs trap AMX ("illegal instruction").
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

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

run:
	$(BIN)/coach index
	$(BIN)/coach search "why does TIME_WAIT exist and what breaks when there are too many" -k 3

test: test-fast test-slow eval-gate

test-fast:
	$(BIN)/python -m pytest

test-slow:
	$(BIN)/python -m pytest -m slow

# Offline eval suites on the real models, failing on a regression against evals/baselines/.
eval-gate:
	$(BIN)/coach eval retrieval --gate --report .coach/reports/ci.md

bench:
	$(BIN)/python scripts/bench_retrieval.py

clean:
	rm -rf .coach
