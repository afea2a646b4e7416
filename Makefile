# finmodel — make report: set up and run the base scenario; make test: the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
OUT    := out

.PHONY: all setup dev report compare test lint bench notebooks lab clean

all: report

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

dev: $(VENV)/.installed-dev

report: $(VENV)/.installed
	$(BIN)/finmodel report scenarios/base.yaml --out $(OUT)/base --force

compare: $(VENV)/.installed
	$(BIN)/finmodel compare scenarios/*.yaml --out $(OUT)/compare --force

test: $(VENV)/.installed-dev
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check finmodel tests bench

bench: $(VENV)/.installed-dev
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
