# binroute — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
OUT    ?= ./binroute-demo

.PHONY: demo test lint bench venv dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev: $(STAMP)

demo: $(VENV)/.installed
	$(BIN)/binroute demo --out $(OUT)

CHROMIUM := /usr/bin/chromium

# The dashboard's browser tests use Debian's chromium (Playwright drives it; no browser
# download). Installed here when we may (root with apt-get); otherwise those tests skip.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "could not install chromium: the browser tests will skip"; \
	else echo "chromium not installed (apt-get install chromium): the browser tests will skip"; fi

# Test files run on every core, each file on one worker (its module fixtures built once);
# TEST_WORKERS=0 runs them in this process (a debugger, -x stopping at once).
TEST_WORKERS ?= auto

test: $(STAMP) | $(CHROMIUM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fleet network optimiser api scenarios binroute

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.matrix

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
