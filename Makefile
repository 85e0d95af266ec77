# The README's two commands: `make demo` and `make test`. Everything installs into .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
PORT ?= 8501
N ?= 2

.PHONY: demo run run-replicas stop test lint format bench notebook seed browser postgres clean-data

$(RUNTIME): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	@touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Debian's Chromium for the end-to-end tests (Playwright drives it; it downloads no browser of its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server programs for the store tests (a session fixture runs its own cluster with them;
# they are not on PATH, so look where the package puts them).
postgres:
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql for the store tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## demo: install, start the emulator, seed demo history when the store is empty, open the app
demo: $(RUNTIME)
	$(PY) -m shop.seed --if-empty --days 60 --orders 800
	@$(MAKE) --no-print-directory run

## run: the app without seeding (headless, see .streamlit/config.toml; the launcher opens the browser once the
## server answers). Ctrl-C stops the app and the emulator it started; a second run says where the first one is.
run: $(RUNTIME)
	$(PY) tools/run_replicas.py --replicas 1 --port $(PORT) --open

## stop: end what a crashed `make run`, `make demo` or `make run-replicas` left running (app servers, emulator)
stop: $(RUNTIME)
	$(PY) tools/run_replicas.py --stop

## run-replicas: N app processes (N=2) on ports PORT, PORT+1, … over one DATABASE_URL (PostgreSQL for replicas
## on several machines), with the one emulator they share in emulator mode; Ctrl-C stops them all
run-replicas: $(RUNTIME)
	$(PY) tools/run_replicas.py --replicas $(N) --port $(PORT)

## test: lint, then every test (unit, contract, app, notebooks, end-to-end in Chromium; the store on SQLite
## and on a throwaway PostgreSQL server), on every core: a test file stays on one worker, so its module fixtures
## start once, and each worker has its own emulator and PostgreSQL server. About 18 minutes on 2 cores, against
## 29-40 in one process; TEST_WORKERS=0 runs it in one process, TEST_WORKERS=N on N workers
TEST_WORKERS ?= auto
test: $(DEV) browser postgres lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(DEV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEV)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: the performance figures, one `bench: <name> = <value> <unit>` a line
bench: $(DEV)
	$(PY) -m bench

## notebook: JupyterLab on the analyst notebooks, in emulator mode unless keys are set
notebook: $(DEV)
	@$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PY) -m pip install --quiet jupyterlab==4.6.6
	$(PY) -m shop.seed --if-empty --days 60 --orders 800
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

seed: $(RUNTIME)
	$(PY) -m shop.seed

## clean-data: forget the local emulator data and order store (stop the app first)
clean-data:
	rm -rf data/
