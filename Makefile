# One script for developers and CI. Each target creates .venv if it is missing
# and installs the project into it (editable), so a fresh machine needs only Python.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,experiments,models]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m experiments run all

# one worker per core (pytest-xdist), each test file in one worker (its module fixtures run once)
test: $(STAMP)
	$(PY) -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The peer benchmark needs the peers' libraries (torch, flax, equinox): a separate
# install, so that `make test` never pulls them in.
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,experiments,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m experiments bench

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
