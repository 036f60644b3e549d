# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The demo backend's port: `make demo PORT=9000`.
PORT ?= 8000

.PHONY: setup demo test lint

$(VENV)/.installed: requirements-dev.txt template/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) scripts/live_demo.py --port $(PORT)

# Two workers (pytest-xdist): most tests wait on servers, browsers and polls rather than compute.
# Each test file runs whole in one worker (tests/conftest.py groups them), so its module fixtures are made once.
test: setup
	$(PY) -m pytest -n 2 --dist loadgroup

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
