# Quick start: `make demo` serves the example site; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-default test-custom-user lint format clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The suite runs twice: with Django's User, then with a custom user model
# (UUID primary key, email as the username field). The second run leaves out the two
# property-based files (hypothesis over every form input; schemathesis over the API's
# document), whose inputs do not depend on the user model, and the Chromium pages, which the
# first run drove (the user model is behind the same services the other tests cover).
test: $(INSTALLED)
	$(BIN)/python -m pytest
	MFA_TEST_CUSTOM_USER=1 $(BIN)/python -m pytest -m "not e2e" \
		--ignore=tests/test_fuzz.py --ignore=tests/test_api_schema.py

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -c pyproject.toml -r mfa_app

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache

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

.PHONY: bench
bench: $(INSTALLED) $(if $(WITH_PEERS),$(PEERS_INSTALLED))
	$(BIN)/python bench/run.py $(if $(WITH_PEERS),--peers --peers-python $(PEERS_VENV)/bin/python) \
		$(BENCH_ARGS)
