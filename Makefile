# Soteria Exchange: every target builds its own virtual environment from the lock file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install demo test lint typecheck contracts unit test-sqlite test-postgres bench reliability lock clean deploy-check deploy-check-quiet docs-check migrations-check conformance

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/soteria demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy gateway schema adapters auth tests benchmarks

contracts: install
	$(BIN)/lint-imports

test-sqlite: install
	SOTERIA_TEST_DATABASE=sqlite $(BIN)/pytest

test-postgres: install
	SOTERIA_TEST_DATABASE=postgresql SOTERIA_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest

# The two database passes run side by side (two cores); each prints its own summary. The
# deploy checks (mostly waiting on checkov) run beside them, their output held until done.
test: lint typecheck contracts docs-check migrations-check
	$(MAKE) --no-print-directory -j3 test-sqlite test-postgres deploy-check-quiet

docs-check: install
	$(BIN)/soteria docs --check

migrations-check: install
	rm -f var/alembic-check.db*
	SOTERIA_DATABASE_URL=sqlite:///$(CURDIR)/var/alembic-check.db $(BIN)/soteria db upgrade
	SOTERIA_DATABASE_URL=sqlite:///$(CURDIR)/var/alembic-check.db $(BIN)/soteria db check

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m benchmarks

reliability: install
	command -v wrk >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m benchmarks.reliability $(PARTS)

# GraphQL-over-HTTP audits (npm graphql-http) and GraphiQL in headless Chromium, against a
# live demo server on 127.0.0.1 that the script starts and stops.
conformance: install
	@command -v node >/dev/null || (echo "make conformance needs Node.js 20+ (and npm)" >&2; exit 1)
	command -v chromium >/dev/null || [ -n "$${CHROMIUM:-}" ] || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq chromium >/dev/null)
	bash conformance/live.sh

deploy-check: install
	bash deploy/check.sh

deploy-check-quiet: install
	@mkdir -p var
	@bash deploy/check.sh > var/deploy-check.log 2>&1 || { cat var/deploy-check.log; exit 1; }
	@echo "deploy-check passed (log: var/deploy-check.log)"

lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock
	bash deploy/lock.sh

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
