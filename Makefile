# `make run` serves quartapp on http://localhost:8000; `make test` runs the suite; `make lint`
# checks style and types; `make bench` measures it beside the chapter's Flask app
# (BENCH_ARGS="--help" lists its settings).
# Both create .venv on first use. Quart's newest releases need Python 3.13, so the newest
# Python >= 3.13 found is used (pyenv's included, whose `python3.13` shim may not be on PATH).

VENV := .venv
BIN := $(VENV)/bin
BIND ?=
WORKERS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=

ifndef PYTHON
PYTHON := $(shell for p in python3.14 python3.13 $$(pyenv root 2>/dev/null)/versions/3.1[3-9]*/bin/python3 \
	python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)
endif

# A PostgreSQL QUARTAPP_DATABASE_URL needs its driver: `make run` then installs the postgres extra.
ifneq ($(findstring postgresql,$(QUARTAPP_DATABASE_URL)),)
RUN_EXTRAS := [postgres]
RUN_STAMP := $(VENV)/.run-installed-postgres
else
RUN_EXTRAS :=
RUN_STAMP := $(VENV)/.run-installed
endif

.PHONY: run test lint bench migrate translations clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "quartapp needs Python 3.13 or newer (its Quart needs it)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".$(RUN_EXTRAS)"
	touch $@

# The test extra includes the PostgreSQL driver, so it stands for both kinds of run install.
$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@ $(VENV)/.run-installed $(VENV)/.run-installed-postgres $(VENV)/.bench-installed

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@ $(VENV)/.run-installed

migrate: $(RUN_STAMP)
	$(BIN)/alembic upgrade heads

# quartapp-serve: hypercorn with one worker per core (WORKERS=n to choose), stopped gracefully.
# Links in mails point at the address served, unless QUARTAPP_BASE_URL says otherwise; 127.0.0.1
# is named localhost there, the one name passkeys accept for a local server (WebAuthn refuses IPs).
run: migrate
	exec $(if $(BIND),env QUARTAPP_BASE_URL="$${QUARTAPP_BASE_URL:-http://$(subst 127.0.0.1:,localhost:,$(BIND))}") \
		$(BIN)/quartapp-serve --config hypercorn.toml $(if $(BIND),--bind $(BIND)) $(if $(WORKERS),--workers $(WORKERS)) \
		"quartapp:create_app()"

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (lint and format), mypy and the import layers, as configured in pyproject.toml; CI runs it first.
lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# After changing text: the catalog template from the code and templates, then each language's
# catalog brought up to date (new strings empty, changed ones marked fuzzy) for translating.
translations: $(RUN_STAMP)
	$(BIN)/pybabel extract -F pyproject.toml --omit-header --sort-by-file --add-location=file -o quartapp/translations/messages.pot quartapp
	$(BIN)/pybabel update -i quartapp/translations/messages.pot -d quartapp/translations --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
