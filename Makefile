# Quick start: `make demo` serves the example site; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo demo-reset test test-default test-custom-user lint format clean messages

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

# The demo is served on localhost, never 127.0.0.1: browsers refuse WebAuthn (passkeys,
# security keys) on an IP address. Another port: `make demo PORT=8001`. Each run lists the
# demo users as they are now; `make demo-reset` deletes the demo database and seeds it afresh.
PORT ?= 8000
DEMO_DB ?= $(or $(SQLITE_PATH),db.sqlite3)

demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput -v0
	PORT=$(PORT) $(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver localhost:$(PORT)

demo-reset: $(INSTALLED)
	rm -f $(DEMO_DB)
	$(BIN)/python manage.py migrate --noinput -v0
	PORT=$(PORT) $(BIN)/python manage.py seed_demo

# The suite runs twice: with Django's User, then with a custom user model
# (UUID primary key, email as the username field). The second run leaves out the two
# property-based files (hypothesis over every form input; schemathesis over the API's
# document), whose inputs do not depend on the user model, the Chromium pages, which the
# first run drove (the user model is behind the same services the other tests cover), and the
# package and translation tests, which have no user model.
# axe-core for the browser suite, from tests/e2e/package-lock.json (npm, never a CDN).
AXE := tests/e2e/node_modules/axe-core/axe.min.js
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund
	touch $(AXE)

test: $(INSTALLED) $(AXE)
	$(BIN)/python -m pytest
	MFA_TEST_CUSTOM_USER=1 $(BIN)/python -m pytest -m "not e2e and not package" \
		--ignore=tests/test_fuzz.py --ignore=tests/test_api_schema.py --ignore=tests/test_locale.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -c pyproject.toml -r mfa_app

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The catalogs in mfa_app/locale: update every shipped locale from the code's strings, then
# compile the .mo files (committed: the wheel ships them). tests/test_locale.py runs the same
# makemessages (it reads MAKEMESSAGES_OPTIONS here) and fails when it would change a catalog.
# A new language: `cd mfa_app && ../$(BIN)/python -m django makemessages -l xx`, translate,
# then `make messages` (docs/translations.md).
MAKEMESSAGES_OPTIONS := --all
messages: $(INSTALLED)
	cd mfa_app && ../$(BIN)/python -m django makemessages $(MAKEMESSAGES_OPTIONS)
	cd mfa_app && ../$(BIN)/python -m django compilemessages

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache tests/e2e/node_modules tests/e2e/screenshots

# Benchmarks against a bare Django site (bench/README.md): `make bench BENCH_ARGS=--quick`.
# The load test (gunicorn, PostgreSQL, Redis) is `bench/load/run.sh`.
.PHONY: bench
bench: $(INSTALLED)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
