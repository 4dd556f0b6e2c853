# The two commands a newcomer needs: `make run` and `make test`. Both set the machine up first.
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n auto

.PHONY: setup test bench run status show clean help

help:
	@echo "make run    start local Redis, Azurite, Icecast and API stand-ins; run every collector once; show the data"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make bench  benchmarks against naive baselines (see docs/benchmarks.md)"

setup:
	@scripts/setup.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

run: setup
	$(PY) -m devstack.run

clean:
	rm -rf .devstack dist .pytest_cache
