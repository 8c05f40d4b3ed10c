# Two commands set up a fresh Linux machine with Python 3.11:
#   make demo   -> creates .venv from requirements.lock, installs this checkout (editable) and serves the app
#                  on the Beijing demo (http://localhost:8501)
#   make test   -> same environment plus test dependencies from requirements-dev.lock (and Debian's chromium for
#                  browser tests) and runs every test
#   make lint   -> ruff (style, imports, docstrings) and mypy (types of pgssl_core); settings in pyproject.toml
#   make lock   -> re-resolves requirements*.txt into the lock files (LOCK_UPGRADE=--upgrade takes newer versions)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PROJECTS_DIR ?= $(CURDIR)/projects
PYTEST_ARGS ?=
# The lock files pin what CI installs, for CPython 3.11 on Linux x86_64 (this machine, CI and the Docker image),
# resolved against PyPI only (--no-config ignores local wheel folders such as a CPU-only torch).
UV_VERSION := 0.13.9
LOCK_TOOLS := .lock-tools
LOCK_UPGRADE ?=
LOCK_FLAGS := --no-config --python-version 3.11 --python-platform x86_64-manylinux_2_28 --annotation-style line \
	--custom-compile-command "make lock" $(LOCK_UPGRADE)

.PHONY: demo test test-fast lint venv venv-dev browser clean-venv lock

# The stamp files make re-runs cheap: pip runs again only when a lock file, pyproject.toml or setup.py changes.
# `pip install -e . --no-deps` registers `pgssl_core`, `app` and the `pgssl` command from this checkout (the lock
# already holds every dependency), so `streamlit run app/main.py` needs no sys.path change.
$(VENV)/.stamp-runtime: requirements.lock pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-runtime requirements-dev.lock
	$(PY) -m pip install --quiet -r requirements-dev.lock
	@touch $@

venv: $(VENV)/.stamp-runtime
venv-dev: $(VENV)/.stamp-dev

demo: venv
	PGSSL_PROJECTS_DIR="$(PROJECTS_DIR)" $(VENV)/bin/streamlit run app/main.py \
		--server.port $(PORT) --server.headless true --browser.gatherUsageStats false

# Browser tests drive Debian's chromium with Playwright (never `playwright install`: no downloads here).
# fonts-noto-cjk: without a CJK font Chromium draws Chinese district names (and some symbols) as boxes,
# so screenshots would not show what users see.
BROWSER_PACKAGES := chromium fonts-noto-cjk
browser:
	@if command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's $(BROWSER_PACKAGES) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	else echo "warning: $(BROWSER_PACKAGES) missing and not root: browser tests may be skipped or draw boxes"; fi

# Lint first: a style or type error fails CI in seconds instead of after the whole suite.
LINT_PATHS := pgssl_core app pages scripts benchmarks tests
lint: venv-dev
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy

test: lint browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: venv-dev
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)

# Needs the network (PyPI); commit the two lock files it writes.
lock:
	@test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"; }
	$(LOCK_TOOLS)/bin/uv pip compile $(LOCK_FLAGS) requirements.txt requirements-app.txt -o requirements.lock
	$(LOCK_TOOLS)/bin/uv pip compile $(LOCK_FLAGS) -c requirements.lock requirements.txt requirements-app.txt \
		requirements-dev.txt -o requirements-dev.lock
