# The two commands: `make run` (install, replay a sample offline, then open modtui on the bundled samples)
# and `make test` (install, type-check and lint, then run the whole test suite). Each does all of its own set-up: `make test`
# runs the suite beside a throwaway PostgreSQL cluster (scripts/pg-test-cluster; installs PostgreSQL if missing).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# A first offline replay of a sample (metrics and flips printed), then the TUI on all samples.
run: $(STAMP)
	$(VENV)/bin/modtui replay INC-0042 -p hate_speech/candidate
	$(VENV)/bin/modtui

# Types (mypy: strict on the pure core and file handling), lint and format (ruff) first, then the suite on three
# workers: on two cores, while one waits (on a `modtui` process, Textual's idle checks, PostgreSQL), the other two
# keep both cores busy (docs/development.md has the measurements). Bytecode caching stays on for
# the suite even where PYTHONDONTWRITEBYTECODE is set: the tests start ~100 `modtui` processes, each of which would
# otherwise compile modtui's modules again (~0.2 s of CPU each).
test: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	env -u PYTHONDONTWRITEBYTECODE scripts/pg-test-cluster $(VENV)/bin/python -m pytest -q -n 3 --dist worksteal

clean:
	rm -rf $(VENV) .modtui .pytest_cache
