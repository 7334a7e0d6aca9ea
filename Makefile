# cardfraud: `make report` builds the site, `make test` runs the tests.
# Both create .venv and install the project on first use; re-runs skip the install
# unless pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := cardfraud
ARGS ?=
# `make test` and `make test-fast` run on this many processes (pytest-xdist; `make test` keeps
# each test file on one); WORKERS=0 for one process.
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest

.DEFAULT_GOAL := help
.PHONY: help setup report smoke test test-fast lab lint bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (cardfraud)" >/dev/null
	@touch $(STAMP)
	@echo "environment ready in $(VENV)"

setup: $(STAMP) ## Create .venv, install the project and its Jupyter kernel

report: $(STAMP) ## Run every notebook with params/default.yaml and build the site (ARGS="--set ..." to override)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python run_all.py --params params/default.yaml $(ARGS)

smoke: $(STAMP) ## A small fast run with params/smoke.yaml into reports/
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python run_all.py --params params/smoke.yaml $(ARGS)

test: $(STAMP) ## Run the whole test suite
	MLFLOW_DISABLE_TELEMETRY=true $(PYTEST) -n $(WORKERS) --dist loadfile $(ARGS)

test-fast: $(STAMP) ## Run the tests that do not execute notebooks
	MLFLOW_DISABLE_TELEMETRY=true $(PYTEST) -n $(WORKERS) -m "not slow and not browser" $(ARGS)

lab: $(STAMP) ## Open JupyterLab in the venv on notebooks/
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/jupyter lab notebooks/

lint: $(STAMP) ## Ruff on the package, tests and scripts
	$(BIN)/ruff check src tests run_all.py bench

bench: $(STAMP) ## Benchmark the whole pipeline at 1,000,000 rows
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python bench/run_bench.py --rows 1000000

clean: ## Remove the reports, MLflow store and caches (keeps .venv)
	rm -rf reports/executed reports/artifacts reports/site reports/runs reports/scratch reports/run.json mlruns .pytest_cache
