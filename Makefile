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

# Unit 09's single-node Slurm starts with the lab where it can (Linux, Slurm installed, root) and
# stops when the lab ends, if `make lab` started it; elsewhere the unit teaches from its text.
lab: $(STAMP)
	@if ! $(BIN)/workshop scheduler status >/dev/null 2>&1 && $(BIN)/workshop scheduler start; then \
		trap '$(BIN)/workshop scheduler stop' EXIT INT TERM; $(BIN)/workshop lab; \
	else $(BIN)/workshop lab; fi

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
