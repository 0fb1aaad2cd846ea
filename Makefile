# Quick start: `make demo` and `make test` on a fresh clone with python3 >= 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest workers: the suite is sized for 2 cores
WORKERS ?= 2

.PHONY: demo test bench clean fuzz

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
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(WORKERS) -p no:cacheprovider

# Fuzz the file readers (.kmk, .npy, CSV, Parquet, images) with many more examples than the
# 40 per reader of `make test`; docs/reliability.md gives the last run's figures.
FUZZ_EXAMPLES ?= 2000
fuzz: $(VENV)/.installed-test
	KMEANSKIT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest \
		tests/test_fuzz.py -p no:cacheprovider -q --hypothesis-show-statistics

# Benchmarks run in their own virtualenv with the peer libraries (never needed
# by the package or its tests). Pass options with BENCH_ARGS, e.g.
#   make bench BENCH_ARGS="--quick --only lloyd"
# The virtualenv is brought up to date when pyproject.toml or this file (the
# peers' list) changes.
BENCH_VENV := .bench-venv
BENCH_ARGS ?=
$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip

$(BENCH_VENV)/.installed: pyproject.toml Makefile | $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/python -m pip install -q -e . scikit-learn scikit-learn-intelex faiss-cpu \
		scipy pillow colorthief psutil threadpoolctl "dask[array,dataframe,distributed]" dask-ml kmodes \
		scikit-image
	touch $@

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (old-OpenBLAS work-arounds set on some
# machines) slow a current numpy: the benchmarks run without them.
bench: $(BENCH_VENV)/.installed
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BENCH_VENV)/bin/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bench-venv out build dist
