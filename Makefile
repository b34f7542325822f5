# binroute — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
OUT    ?= ./binroute-demo
CHROMIUM := /usr/bin/chromium

.PHONY: demo test lint bench messages venv dev clean

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
dev: $(STAMP) | $(CHROMIUM)

demo: $(VENV)/.installed
	$(BIN)/binroute demo --out $(OUT)

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
	$(BIN)/mypy fleet network optimiser api scenarios binroute benchmarks tests

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.matrix

# The drivers' words (network.language): extract the strings of the directions and the
# route sheets into their templates, then merge them into every language's catalogue
# (new strings come in empty, to translate; tests/network/test_network_language.py says
# which are missing).
PYBABEL := $(BIN)/pybabel -q
MESSAGE_KEYS := --no-default-keywords -k say -k say_in:1c,2 -k count:1,2 -k N_ -k NC_:1c,2 \
	--no-location --sort-output --project binroute --copyright-holder binroute

messages: $(VENV)/.installed
	$(PYBABEL) extract $(MESSAGE_KEYS) -o network/locales/directions.pot network/directions.py
	$(PYBABEL) extract $(MESSAGE_KEYS) -o optimiser/locales/sheets.pot \
	  optimiser/sheets.py optimiser/sheet_words.py optimiser/sheet_page.py
	$(PYBABEL) update --no-fuzzy-matching --ignore-obsolete -i network/locales/directions.pot \
	  -d network/locales -D directions
	$(PYBABEL) update --no-fuzzy-matching --ignore-obsolete -i optimiser/locales/sheets.pot \
	  -d optimiser/locales -D sheets

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
