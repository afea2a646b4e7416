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

# The engine's numba kernels are compiled once, at set-up, into their on-disk cache
# (finmodel/core/__pycache__): every scenario run once and drawn a few hundred times,
# so the first report or Monte Carlo has nothing to compile.
$(VENV)/.compiled: $(VENV)/.installed finmodel/core/_kernels.py
	@echo "compiling the engine's kernels (once; under a minute)"
	$(PY) -m finmodel.analysis.warm scenarios/*.yaml
	@touch $@

setup: $(VENV)/.compiled

dev: $(VENV)/.installed-dev

report: $(VENV)/.compiled
	$(BIN)/finmodel report scenarios/base.yaml --out $(OUT)/base --force

compare: $(VENV)/.compiled
	$(BIN)/finmodel compare scenarios/*.yaml --out $(OUT)/compare --force

# The suite: lint and format check first (fast), then every test, doctest and notebook,
# spread over every core (pytest-xdist; a worker takes the next test as soon as it is free).
# Byte code is cached even where the environment asks not to (PYTHONDONTWRITEBYTECODE): each
# worker, and each process a test starts (a command line, a notebook kernel), would otherwise
# compile finmodel and the tests' rewritten asserts anew (about 4 s a worker, 0.3 s a process).
# The kernels are compiled by then (.compiled), so the suite does not warm them up again.
test: lint $(VENV)/.compiled
	PYTHONDONTWRITEBYTECODE= FINMODEL_KERNELS_COMPILED=1 $(PY) -m pytest -n auto --dist worksteal

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check finmodel tests bench
	$(BIN)/ruff format --check finmodel tests bench

bench: $(VENV)/.installed-dev
	$(PY) bench/engine.py
	$(PY) bench/irr.py
	$(PY) bench/montecarlo.py --floor

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
