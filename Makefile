# Quick start: `make run` (set up, then materialize everything on the bundled data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)
# Every chromosome partition; with --select '*' the CLI needs a range, and takes it because every
# asset has a single-run backfill policy.
PARTITIONS := 1...MT
UI_PORT ?= 3000
# Console detail of `make run`: INFO (progress, one line per decision) unless LOG_LEVEL=DEBUG is given,
# which adds every Dagster event. The UI's event log keeps every event either way.
LOG_LEVEL ?= INFO
# Warnings Dagster's own CLI raises on every start, about itself: `asset materialize` and `dev` are superseded
# by the separate `dg` package, and the '*' selection uses a beta parameter. Matched by message, nothing else.
QUIET_CLI_WARNINGS := ignore:Function \`asset_materialize_command\` is superseded,ignore:Function \`dev_command\` is superseded,ignore:Parameter \`include_sources\` of function \`AssetSelection.all\` is currently in beta

.PHONY: setup run test ui bench clean

# What running needs (the `run` stamp) and what testing adds on top (the `dev` stamp). Each stamp is
# older than pyproject.toml or missing after an edit or a fresh clone, so switching targets installs
# only what is missing.
setup: $(VENV)/.installed-dev

$(VENV)/.installed-run: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"Python 3.11+ needed, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: $(VENV)/.installed-run
	@echo "dagster asset materialize --select '*' --partition-range $(PARTITIONS) (LOG_LEVEL=$(LOG_LEVEL))"
	@PYTHONWARNINGS="$(QUIET_CLI_WARNINGS)" $(BIN)/dagster asset materialize --select '*' \
		--partition-range $(PARTITIONS) -m usher_assets.definitions \
		--config-json '{"loggers": {"console": {"config": {"log_level": "$(LOG_LEVEL)"}}}}'
	@$(BIN)/usher-assets outputs

# Two workers (pytest-xdist), each taking whole test files (module fixtures build once) in the order conftest
# gives (--no-loadscope-reorder: xdist would otherwise start with the files of most tests); TEST_WORKERS=0
# runs in one process, in file order.
TEST_WORKERS ?= 2
# The tests' scratch files (tmp_path, TMPDIR: stores, Dagster instances, servers' data) go to a directory of
# their own in TEST_TMP, by default /dev/shm (memory) when it has 6 GB free: a Dagster instance commits every
# event to SQLite, and on disk those commits made an unchanged CLI rerun 1.4x slower (11.7 s against 8.1 s).
# A green run removes the directory; a failed one keeps it and says where. TEST_TMP= (empty) leaves the files
# in pytest's default place.
TEST_TMP ?= $(shell free=$$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $$4}'); \
	[ -d /dev/shm ] && [ -w /dev/shm ] && [ "$${free:-0}" -gt 6000000 ] && echo /dev/shm)
TEST_FILES = $(if $(TEST_TMP),$(TEST_TMP)/usher_assets-tests-$(shell printf %s "$(CURDIR)" | cksum | cut -d ' ' -f 1))
test: $(VENV)/.installed-dev
	$(if $(TEST_FILES),rm -rf '$(TEST_FILES)' && mkdir -p '$(TEST_FILES)/tmp')
	$(if $(TEST_FILES),TMPDIR='$(TEST_FILES)/tmp') $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder $(if $(TEST_FILES),--basetemp='$(TEST_FILES)/base'); status=$$?; \
	$(if $(TEST_FILES),if [ $$status -eq 0 ]; then rm -rf '$(TEST_FILES)'; \
		else echo "test files kept in $(TEST_FILES)"; fi;) exit $$status

# dagster dev runs a webserver, a daemon and code servers; the wrapper stops that whole process group on
# Ctrl-C or SIGTERM (dagster dev alone ignores SIGTERM when started in the background). `exec`: the shell the
# variable assignment needs must not stand between make, which forwards SIGTERM to its child, and the wrapper.
ui: $(VENV)/.installed-run
	PYTHONWARNINGS="$(QUIET_CLI_WARNINGS)" exec $(BIN)/python -m usher_assets.process_group $(BIN)/dagster dev -h 127.0.0.1 -p $(UI_PORT) -w workspace.yaml

$(VENV)/.bench-installed: $(VENV)/.installed-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

# BENCH_ARGS=--quick for fewer repeats; results go to bench/RESULTS.md.
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Everything make run, make ui and `usher-assets checkpoints export` create: the database, the exports and
# the Dagster instance under DAGSTER_HOME (the repo root; see dagster.yaml). .dagster_home is where
# instance storage lived before.
clean:
	rm -rf .usher outputs history storage schedules logs .logs_queue .telemetry .nux .dagster_home
