# cardfraud: `make report` builds the site, `make test` runs the tests.
# Both create .venv and install the project on first use; re-runs skip the install
# unless pyproject.toml changed. The tests also get the `spark` extra (PySpark, ~450 MB), which
# `make report` does not need, so a fresh `make report` does not wait for it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
KERNEL := cardfraud
ARGS ?=
# `make test` and `make test-fast` run on this many processes (pytest-xdist; `make test` keeps
# each test file on one); WORKERS=0 for one process.
WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest

.DEFAULT_GOAL := help
.PHONY: help setup quarto report smoke test test-fast lab lint bench clean

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

# PySpark for the Spark engine's tests (they skip, saying why, without it or without Java 17);
# offline, the tests run without it and the next `make test` tries again.
$(SPARK_STAMP): $(STAMP)
	@if $(BIN)/python -m pip install --quiet -e ".[dev,spark]"; then touch $(SPARK_STAMP); \
	else echo "warning: PySpark could not be installed; the Spark engine's tests will be skipped"; fi

# Quarto renders the site when it is there (else nbconvert does). `make report` gets it once
# from PyPI (quarto-cli, which downloads Quarto's release: needs the internet) when neither
# PATH nor .venv has it; the stamp keeps later reports from trying again (`make quarto` does).
# `make test` never downloads it; GET_QUARTO=no skips it (the fresh-clone test does).
QUARTO_STAMP := $(VENV)/.quarto-tried
QUARTO_SECONDS ?= 120
GET_QUARTO ?= yes

$(QUARTO_STAMP): | $(STAMP)
ifneq ($(GET_QUARTO),no)
	@$(MAKE) --no-print-directory quarto
	@touch $(QUARTO_STAMP)
endif

quarto: $(STAMP) ## Get Quarto into .venv from PyPI (quarto-cli) unless one is installed
	@if command -v quarto >/dev/null 2>&1 || test -x $(BIN)/quarto; then \
	  echo "quarto: $$(command -v quarto || echo $(BIN)/quarto) renders the site"; \
	elif timeout $(QUARTO_SECONDS) $(BIN)/python -m pip install --quiet quarto-cli >$(VENV)/quarto-install.log 2>&1 \
	     && $(BIN)/quarto --version >/dev/null 2>&1; then \
	  echo "quarto: installed $$($(BIN)/quarto --version) into $(BIN); it renders the site"; \
	else \
	  echo "quarto: could not be installed from PyPI (offline? see $(VENV)/quarto-install.log); the site is rendered with nbconvert"; \
	fi

report: $(STAMP) $(QUARTO_STAMP) ## Run every notebook with params/default.yaml and build the site (ARGS="--set ..." to override)
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python run_all.py --params params/default.yaml $(ARGS)

smoke: $(STAMP) ## A small fast run with params/smoke.yaml into reports/
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python run_all.py --params params/smoke.yaml $(ARGS)

test: $(SPARK_STAMP) ## Run the whole test suite
	MLFLOW_DISABLE_TELEMETRY=true $(PYTEST) -n $(WORKERS) --dist loadfile --no-loadscope-reorder $(ARGS)

test-fast: $(STAMP) ## Run the tests that do not execute notebooks or start Spark
	MLFLOW_DISABLE_TELEMETRY=true $(PYTEST) -n $(WORKERS) -m "not slow and not browser and not spark" $(ARGS)

lab: $(STAMP) ## Open JupyterLab in the venv on notebooks/
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/jupyter lab notebooks/

lint: $(STAMP) ## Ruff on the package, tests and scripts
	$(BIN)/ruff check src tests run_all.py bench

bench: $(STAMP) ## Benchmark the whole pipeline at 1,000,000 rows
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python bench/run_bench.py --rows 1000000

clean: ## Remove the reports, MLflow store and caches (keeps .venv)
	rm -rf reports/executed reports/artifacts reports/site reports/runs reports/scratch reports/run.json mlruns .pytest_cache
