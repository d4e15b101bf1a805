# linuxreport: `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests and tools need (installed only when missing).
DEBIAN_PACKAGES := awscli nginx chromium fonts-liberation default-jre-headless
PORT ?= 8000

.PHONY: install system-deps demo test lint check clean golden lighthouse bench

install: system-deps $(STAMP)

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $$missing; fi

$(STAMP): pyproject.toml tests/tools/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	cd tests/tools && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: install
	$(BIN)/linuxreport build demo
	$(BIN)/linuxreport serve demo --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lighthouse: install
	$(BIN)/linuxreport build demo
	$(BIN)/python tests/tools/lighthouse.py public/demo --min 0.95

# Benchmarks (not part of the tests): writes BENCHMARKS.md and bench/charts/.
BENCH_ARGS ?=
bench: install
	$(MAKE) system-deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) wrk s3cmd"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check linuxreport tests

check: install
	$(BIN)/linuxreport check --strict

clean:
	rm -rf public .state test-output .pytest_cache

golden: install
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_demo.py
