# Quick start: `make demo` serves the example site; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
# Compiled bytecode under the virtualenv, even where PYTHONDONTWRITEBYTECODE is set: otherwise
# every pytest process, xdist worker and subprocess of the suite compiles Django, the app and the
# tests from source again (and pytest rewrites every test module), about 10 s a process.
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(abspath $(VENV))/pycache
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# django-two-factor-auth's pins conflict with ours: its tests run in a virtualenv of their own.
TWO_FACTOR_VENV ?= .venv-two-factor
TWO_FACTOR_INSTALLED := $(TWO_FACTOR_VENV)/.installed

.PHONY: demo demo-reset test test-default test-custom-user test-peers test-two-factor lint format clean messages

# --no-compile: pip would compile every module of every package (twilio alone has thousands),
# more than half of the install's time; what is imported is compiled then, once (above).
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev,peers]"
	touch $(INSTALLED)

$(TWO_FACTOR_INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(TWO_FACTOR_VENV)
	$(TWO_FACTOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TWO_FACTOR_VENV)/bin/python -m pip install --quiet --no-compile -e ".[peers-two-factor]"
	touch $(TWO_FACTOR_INSTALLED)

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

# Both runs spread over the machine's cores (pytest-xdist); `make test WORKERS=0` runs them in
# one process.
WORKERS ?= auto

test: $(INSTALLED) $(AXE)
	$(BIN)/python -m pytest -n $(WORKERS)
	MFA_TEST_CUSTOM_USER=1 $(BIN)/python -m pytest -n $(WORKERS) -m "not e2e and not package" \
		--ignore=tests/test_fuzz.py --ignore=tests/test_api_schema.py --ignore=tests/test_locale.py
	$(MAKE) test-peers

# `manage.py mfa_import` against each peer package, installed, under its own settings
# (tests/peers/): django-otp and allauth.mfa together, django-mfa2 apart (its app label is
# allauth.mfa's), django-two-factor-auth in its own virtualenv.
test-peers: $(INSTALLED) test-two-factor
	$(BIN)/python -m pytest -p no:cacheprovider --ds tests.peers.settings_allauth tests/peers
	$(BIN)/python -m pytest -p no:cacheprovider --ds tests.peers.settings_mfa2 tests/peers

test-two-factor: $(TWO_FACTOR_INSTALLED)
	$(TWO_FACTOR_VENV)/bin/python -m pytest -p no:cacheprovider \
		--ds tests.peers.settings_two_factor tests/peers

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
# A new language: `cd mfa_app && ../.venv/bin/python -m django makemessages -l xx`, translate,
# then `make messages` (docs/translations.md).
MAKEMESSAGES_OPTIONS := --all --no-obsolete
messages: $(INSTALLED)
	cd mfa_app && env -u DJANGO_SETTINGS_MODULE $(abspath $(BIN))/python -m django \
		makemessages $(MAKEMESSAGES_OPTIONS)
	cd mfa_app && env -u DJANGO_SETTINGS_MODULE $(abspath $(BIN))/python -m django compilemessages

clean:
	rm -rf $(VENV) $(TWO_FACTOR_VENV) db.sqlite3 .pytest_cache .ruff_cache tests/e2e/node_modules tests/e2e/screenshots

# Benchmarks against a bare Django site (bench/README.md): `make bench BENCH_ARGS=--quick`.
# `make bench PEERS=1` also runs django-two-factor-auth and allauth.mfa as sites in the same
# run; they live in a virtualenv of their own (bench/peers/requirements.txt says why), with
# the project virtualenv's Django. The load test (gunicorn, PostgreSQL, Redis) is
# `bench/load/run.sh`.
PEERS ?=
PEERS_VENV := bench/.peers-venv
PEERS_INSTALLED := $(PEERS_VENV)/.installed
WITH_PEERS := $(filter 1 yes true,$(PEERS))

$(PEERS_INSTALLED): bench/peers/requirements.txt $(INSTALLED)
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -r bench/peers/requirements.txt \
		"Django==$$($(BIN)/python -c 'import django; print(django.get_version())')"
	touch $(PEERS_INSTALLED)

# The bench extra: the redis client for the shared cache (bench/shared_cache.py), gunicorn and
# psycopg for the load test.
BENCH_INSTALLED := $(VENV)/.bench-installed

$(BENCH_INSTALLED): pyproject.toml $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_INSTALLED)

.PHONY: bench
bench: $(BENCH_INSTALLED) $(if $(WITH_PEERS),$(PEERS_INSTALLED))
	$(BIN)/python bench/run.py $(if $(WITH_PEERS),--peers --peers-python $(PEERS_VENV)/bin/python) \
		$(BENCH_ARGS)
