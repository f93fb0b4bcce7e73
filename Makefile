# Two commands do all the set-up:   make setup && make run     (and: make test)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# llama.cpp: not native (a native build uses AMX where the CPU advertises it, and some VMs trap
# AMX: "illegal instruction"), but with every AVX/AVX-512 extension this CPU lists (prompts are
# read ~1.5x faster than by a plain portable build where AVX-512 exists).
LLAMA_CMAKE_ARGS ?= $(shell $(PYTHON) scripts/llama_cmake_args.py 2>/dev/null || echo -DGGML_NATIVE=OFF)
# The built wheel is kept per version and flags: pip's own cache ignores CMAKE_ARGS and would hand
# a wheel built for one CPU to another (an AVX-512 build dies on a CPU without it).
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)
LLAMA_WHEELS ?= $(HOME)/.cache/coach/llama-wheels/$(shell echo '$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)
# The CI subsets of the LLM-judged suites (their baselines are measured on exactly these).
GRADING_GATE_ITEMS := 8
FREE_GATE_ITEMS := 6
ASK_GATE_ITEMS := 12
RAGAS_GATE_ITEMS := 3

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
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
		-w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install --find-links $(LLAMA_WHEELS) -e '.[dev]'
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

# Offline eval suites on the real models, failing on a regression against evals/baselines/: both
# retrieval sets whole, and fixed subsets of the LLM-judged suites (grading on reviewed keys and on
# questions the roadmap does not list, explanations, RAGAS).
eval-gate:
	$(BIN)/coach eval retrieval --gate --report .coach/reports/ci-retrieval.md
	$(BIN)/coach eval retrieval --dataset evals/retrieval_blind.jsonl --gate --report .coach/reports/ci-retrieval-blind.md
	$(BIN)/coach eval grading --limit $(GRADING_GATE_ITEMS) --gate --report .coach/reports/ci-grading.md
	$(BIN)/coach eval grading --dataset evals/grading_free.jsonl --limit $(FREE_GATE_ITEMS) --gate \
		--report .coach/reports/ci-grading-free.md
	$(BIN)/coach eval ask --limit $(ASK_GATE_ITEMS) --gate --report .coach/reports/ci-ask.md
	$(BIN)/coach eval ragas --limit $(RAGAS_GATE_ITEMS) --gate --report .coach/reports/ci-ragas.md

bench:
	$(BIN)/python scripts/bench_retrieval.py

clean:
	rm -rf .coach
