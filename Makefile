# Two commands on a fresh machine: `make run` (local demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint docs bench mutation clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/deep-health local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The site first: it takes seconds, and a broken link or sample fails it (see mkdocs.yml).
# Never with --quiet: mkdocs 1.6 then drops the warnings and --strict passes whatever they say.
test: $(STAMP) lint
	$(BIN)/mkdocs build --strict
	$(BIN)/pytest -q

# The documentation site (docs/, mkdocs.yml) into site/: a broken link or sample fails it.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python -m bench

# Not part of `make test`: minutes on two cores. Prints the kill rate per module and every survivor.
mutation: $(STAMP)
	$(BIN)/python -m bench.mutation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants site
