# The two commands of the README: `make run` (set up, then the yearly load on the bundled snapshot)
# and `make test`. Both create the virtual environment on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# dagster-dbt runs `dbt` from PATH: the project's venv first
export PATH := $(abspath $(BIN)):$(PATH)
# `make run` and `make dev` use the bundled snapshot, chosen explicitly (the package default is the live
# services); set KKIK_SOURCES=live, or each KKIK_*_URL, to override. Both share one Dagster instance, so
# `dagster dev` shows the runs of `kkik load`.
KKIK_SOURCES ?= snapshot
DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: setup run test bench dev clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/dagster-dbt project prepare-and-package --file pipelines/dbt_project.py
	touch $@

run: setup
	KKIK_SOURCES=$(KKIK_SOURCES) DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/kkik load

test: setup
	$(BIN)/dagster-dbt project prepare-and-package --file pipelines/dbt_project.py
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/load_benchmark.py

dev: setup
	mkdir -p "$(DAGSTER_HOME)"
	KKIK_SOURCES=$(KKIK_SOURCES) DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1

clean:
	rm -rf data/warehouse.duckdb data/raw data/dbt_target dbt_project/target
