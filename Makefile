# 托育从业人员培训、认证与信用登记系统 — developer commands.
# `make run` installs, migrates the embedded database, loads the demo data when empty and serves.
# `make test` installs what the tests need and runs the whole suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
COMPILED := setup.py $(wildcard src/workforce/ledger/*.c)  # re-install (re-build) when they change

.PHONY: run test install install-test bench lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(COMPILED) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(COMPILED) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/workforce db upgrade
	$(BIN)/workforce demo --if-empty
	$(BIN)/workforce serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python -m bench

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build src/workforce/ledger/*.so
