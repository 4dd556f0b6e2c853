# The two commands a newcomer needs: `make run` and `make test`. Both set the machine up first.
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n auto
PYTHON_VERSION ?= 3.11

.PHONY: setup lint test test-e2e test-under-load test-313 test-consumers bench bench-scale run stop package lock lint-workflows clean help docs
PY313 ?= $(shell ls -d $(HOME)/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -1 || true)
ifeq ($(PY313),)
PY313 := $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null)
endif

help:
	@echo "make run    start local Redis, Azurite, Icecast and API stand-ins; run every collector once; show the data"
	@echo "make stop   stop the app make run keeps running (or one left behind)"
	@echo "make test   install what is missing and run the test suite (all but the e2e runs; about 3 minutes)"
	@echo "make test-e2e  the slow end-to-end runs: the local stack's soak, the deploy package, load at scale"
	@echo "make test-under-load  .ci/run on a fresh clone of HEAD while two processes keep both cores busy"
	@echo "make test-313  the same suite on Python 3.13 (azure-functions 2.x)"
	@echo "make test-consumers  the batch side's readers (DuckDB, Spark Structured Streaming) on what the app writes"
	@echo "make bench  benchmarks against naive baselines (see docs/benchmarks.md)"
	@echo "make bench-scale  the app as a platform of 5 to 1,000 stations: time, memory, Redis, € a month"
	@echo "make docs   write the metric table, docs/settings.md's tables and local.settings.sample.json from the declarations"
	@echo "make package  dist/functionapp.zip for zip deploy (PYTHON_VERSION=$(PYTHON_VERSION))"

setup:
	@scripts/setup.sh

# ruff: formatting and lint rules in pyproject.toml; `ruff format .` fixes the formatting.
lint: setup
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

# Written from the declarations (tests check both): the metric table of docs/redis-schema.md, and
# local.settings.sample.json with docs/settings.md's tables.
docs: setup
	$(PY) scripts/metric_docs.py
	$(PY) scripts/settings_docs.py

# The slow end-to-end runs (marked e2e: the stack's soak, the package, load) run once, in `make test-e2e`.
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS) -m "not e2e"

test-e2e: setup
	$(PY) -m pytest $(PYTEST_ARGS) -p no:cacheprovider -m e2e

# Before submitting a change: CI's own run on a fresh clone of HEAD (committed work only) with
# both cores kept busy, as on a shared CI host. No test may depend on the machine's speed.
test-under-load:
	scripts/test_under_load.sh

# The same suite on Python 3.13 (azure-functions 2.x), in its own venv; CI runs both.
test-313: setup
	@test -n "$(PY313)" || { echo "test-313: no Python 3.13 on this machine"; exit 1; }
	PYTHON=$(PY313) VENV=.venv313 scripts/setup.sh
	.venv313/bin/python -m pytest $(PYTEST_ARGS) -p no:cacheprovider -m "not e2e"

# The blob contracts read by the real readers: DuckDB, and Spark (Java 17, local mode) running
# batch/reference_job.py. CI runs it; `make test` has the DuckDB part only (Spark starts a JVM).
test-consumers: setup
	SETUP_CONSUMERS=1 scripts/setup.sh
	FABRIK_TEST_SPARK=1 $(PY) -m pytest $(PYTEST_ARGS) -p no:cacheprovider tests/spark tests/consumers

bench: setup
	$(PY) -m bench

# The app as a platform of 5, 50, 500 and 1,000 stations (docs/benchmarks.md); SIZES="5 50" for fewer.
bench-scale: setup
	$(PY) -m bench.scale $(SIZES)

run: setup
	$(PY) -m devstack.run

# Stop the app make run keeps running (or a stack left behind): every process in .devstack/pids.
stop:
	@python3 -m devstack.stop

package:
	python3 scripts/package.py --python-version $(PYTHON_VERSION)

# The deploy package's exact dependencies with their hashes, per target Python (uv resolves for
# Linux x86-64 whatever Python runs it). Run after changing requirements.txt; a test checks it.
LOCK_PYTHONS ?= 3.11 3.12 3.13
lock: setup
	$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.5"
	for v in $(LOCK_PYTHONS); do \
	  $(PY) -m uv pip compile requirements.txt --python-version $$v --python-platform x86_64-manylinux_2_28 \
	    --generate-hashes --quiet --custom-compile-command "make lock" -o locks/requirements-py$$v.txt || exit 1; \
	done

clean:
	rm -rf .devstack dist .pytest_cache
