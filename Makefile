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

# The suite: lint and format check first (fast), then every test, doctest and notebook,
# spread over every core (pytest-xdist; a worker takes the next test as soon as it is free).
test: lint
	$(PY) -m pytest -n auto --dist worksteal

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check finmodel tests bench
	$(BIN)/ruff format --check finmodel tests bench

bench: $(VENV)/.installed-dev
	$(PY) bench/engine.py
	$(PY) bench/irr.py
	$(PY) bench/montecarlo.py

$(VENV)/.installed-notebooks: $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e '.[dev,notebooks]'
	touch $@

# Execute every notebook from the top into HTML under out/notebooks; a failing cell stops the run.
notebooks: $(VENV)/.installed-notebooks
	$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.kernel_name=python3 \
		--output-dir $(OUT)/notebooks notebooks/*.ipynb

# JupyterLab on the repository, opening the first notebook; Ctrl-C stops it.
# Extra options through LAB_ARGS, e.g. make lab LAB_ARGS="--no-browser --port 8890".
LAB_ARGS ?=
lab: $(VENV)/.installed-notebooks
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(LAB_ARGS) notebooks/01_base_case.ipynb

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
