# Two commands set up a fresh Linux machine with Python 3.11:
#   make demo   -> creates .venv from requirements.txt and serves the app on the Beijing demo (http://localhost:8501)
#   make test   -> same environment plus test dependencies (and Debian's chromium for browser tests) and runs every test
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PROJECTS_DIR ?= $(CURDIR)/projects
PYTEST_ARGS ?=

.PHONY: demo test test-fast venv venv-dev browser clean-venv

# The stamp files make re-runs cheap: pip runs again only when a requirements file changes.
$(VENV)/.stamp-runtime: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
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

test: venv-dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: venv-dev
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
