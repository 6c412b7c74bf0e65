# The two commands of the README: `make run` (set up, then the yearly load on the bundled snapshot)
# and `make test`. Both create the virtual environment on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# dagster-dbt runs `dbt` from PATH: the project's venv first
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup run test bench dev clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/dagster-dbt project prepare-and-package --file pipelines/dbt_project.py
	touch $@

run: setup
	$(BIN)/kkik load

test: setup
	$(BIN)/dagster-dbt project prepare-and-package --file pipelines/dbt_project.py
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/load_benchmark.py

dev: setup
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home} sh -c 'mkdir -p "$$DAGSTER_HOME" && $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1'

clean:
	rm -rf data/warehouse.duckdb data/raw dbt_project/target
