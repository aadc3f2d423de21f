# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_CITIZENS ?= 2000

.PHONY: install run test lint bench

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## Install, migrate the embedded SQLite database, load demo data, serve http://$(HOST):$(PORT)/fhir
run: install
	$(BIN)/shafa db upgrade
	$(BIN)/shafa demo --citizens $(DEMO_CITIZENS) --accounts
	@echo "The demo's FHIR API takes requests without tokens (SHAFA_FHIR_AUTH_REQUIRED=false)."
	SHAFA_FHIR_AUTH_REQUIRED=false $(BIN)/shafa serve --host $(HOST) --port $(PORT)

# The pages' end-to-end tests drive Debian's Chromium (tests/e2e); installed once per machine.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update && apt-get install -y --no-install-recommends chromium

## Install and run every check: lint, types, and the whole test suite (SQLite and PostgreSQL)
test: install $(CHROMIUM)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: install
	$(BIN)/python bench/fhir_core.py
