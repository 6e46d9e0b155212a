# Every target installs what it needs; a fresh machine needs only python3 (>= 3.11).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
NATIVE := $(VENV)/.built-native

.PHONY: run test lint fmt cov native bench-core bench-ingest bench-delivery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The C accelerators (setup.py), rebuilt in place whenever their sources change.
$(NATIVE): $(STAMP) setup.py $(wildcard src/capigate/_c*.c src/capigate/_c*.h)
	$(BIN)/python setup.py -q build_ext --inplace
	touch $@

native: $(NATIVE)

run: $(NATIVE)
	$(BIN)/capigate serve

lint: $(STAMP)
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/ruff check src tests scripts
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests scripts
	$(BIN)/ruff check --fix src tests scripts

test: $(NATIVE) lint
	bash scripts/test-services
	$(BIN)/pytest --cov --cov-report=term

bench-core: $(NATIVE)
	$(BIN)/python scripts/bench_core.py

bench-ingest: $(NATIVE)
	$(BIN)/python scripts/bench_ingest.py

bench-delivery: $(NATIVE)
	$(BIN)/python scripts/bench_delivery.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage build src/capigate/_c*.so
