# Koszyk: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
APPS   := catalog orders recovery integrations reports

.PHONY: run test lint format bench bench-smoke clean-var messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Set everything up and run the shop: web server, Celery worker and beat, on the embedded default
## (SQLite, file broker, mail to var/mail). Seeds a demo shop on first run. Ctrl-C stops it all.
## `make run PORT=8080` serves on another port (`manage.py serve --help` for the rest).
PORT ?= 8000
run: $(STAMP)
	$(PY) manage.py serve --port $(PORT)

## Run the whole test suite (PostgreSQL when DATABASE_URL points at it, SQLite otherwise).
test: $(STAMP)
	$(PY) scripts/run_tests.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(STAMP)
	$(PY) scripts/make_messages.py

bench: $(STAMP)
	$(PY) bench/run.py

bench-smoke: $(STAMP)
	$(PY) bench/run.py --smoke
