# The two commands a newcomer needs: `make run` and `make test`. Both set the machine up first.
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n auto
PYTHON_VERSION ?= 3.11

.PHONY: setup test bench run package lint-workflows clean help

help:
	@echo "make run    start local Redis, Azurite, Icecast and API stand-ins; run every collector once; show the data"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make bench  benchmarks against naive baselines (see docs/benchmarks.md)"
	@echo "make package  dist/functionapp.zip for zip deploy (PYTHON_VERSION=$(PYTHON_VERSION))"

setup:
	@scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

run: setup
	$(PY) -m devstack.run

package:
	python3 scripts/package.py --python-version $(PYTHON_VERSION)

clean:
	rm -rf .devstack dist .pytest_cache
