# Two commands for a fresh clone (see README.md):
#   make lab    install into .venv and open the workshop in JupyterLab
#   make test   install into .venv and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed

# nbgrader calls `alembic` by name, so the environment's bin must come first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: lab test install test-deps bench release lint clean

lab: $(STAMP)
	$(BIN)/workshop lab

test: $(STAMP) test-deps
	$(BIN)/workshop info
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) tools/check-python || exit 1
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# System packages the tests drive (a browser); skipped with a message where it cannot install.
test-deps:
	@bash tools/install-test-deps

bench: $(STAMP)
	$(BIN)/workshop bench

release: $(STAMP)
	$(BIN)/workshop release

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info workshop/kernels/*.so
