# Quick start: `make run` (set up, then materialize everything on the bundled data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)
# Every chromosome partition; with --select '*' the CLI needs a range, and takes it because every
# asset has a single-run backfill policy.
PARTITIONS := 1...MT

.PHONY: setup run test ui bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"Python 3.11+ needed, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: setup
	$(BIN)/dagster asset materialize --select '*' --partition-range $(PARTITIONS) -m usher_assets.definitions
	@$(BIN)/usher-assets outputs

test: setup
	$(BIN)/python -m pytest -q

ui: setup
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# BENCH_ARGS=--quick for fewer repeats; results go to bench/RESULTS.md.
bench: setup $(VENV)/.bench-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf .usher outputs .dagster_home
