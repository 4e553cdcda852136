# Two commands set everything up on a fresh machine: `make search` and `make test`.
PYTHON ?= python3
VENV ?= .venv
# Override to pick another torch build, e.g. `make test TORCH=torch==2.5.1`.
TORCH ?= torch==2.13.0
SPACE ?= search_spaces/arch.yaml
SEARCH_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test search lint format bench clean

$(STAMP): pyproject.toml Makefile
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the variable, so the project's own range is already satisfied.
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

# The main job: an architecture search on the built-in two-moons data (a few minutes on 2 CPUs).
search: $(STAMP)
	$(BIN)/python -m tune_flow.search --space $(SPACE) $(SEARCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check tune_flow tests benchmarks
	$(BIN)/ruff format --check tune_flow tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix tune_flow tests benchmarks
	$(BIN)/ruff format tune_flow tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
