# Quick start: `make demo` and `make test` on a fresh clone with python3 >= 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest workers: the suite is sized for 2 cores
WORKERS ?= 2

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/kmeanskit demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(WORKERS) -p no:cacheprovider

bench:
	$(MAKE) -C benchmarks bench

clean:
	rm -rf $(VENV) .bench-venv out build dist
