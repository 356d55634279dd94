# The two commands: `make run` (set up everything, seed demo data, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := .make
LOCK := requirements.lock
LOCK_TOOL := $(STAMP)/lock-tool
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app
# `make run` is a developer's machine; production sets PORTAL_ENV=production and SECRET_KEY.
run seed: export PORTAL_ENV ?= development

.PHONY: run serve dist test lint bench bench-scale install lock audit-deps bandit assets translations messages migrate seed clean

run: install assets translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask holidays-load
	$(BIN)/flask demo-logins
	$(WITH_WORKER) $(BIN)/flask run --host $(HOST) --port $(PORT)

# One host: gunicorn (its settings: gunicorn.conf.py; WEB_CONCURRENCY workers) and one job worker, stopped
# together. Several hosts: set REDIS_URL and run the web server and `flask jobs worker` as separate services (see
# the README and deploy/).
serve: install assets translations
	$(BIN)/flask db upgrade
	$(WITH_WORKER) PORTAL_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py app:app

# The offline installation archive, dist/portal-<version>-py311-<platform>.tar.gz: the wheels of the portal and of
# its runtime dependencies (the lock's files, hash-checked; worked out by the lock tool without the dev extra), the
# built static files and fonts, the compiled translations, the migrations, deploy/ and install.sh (deploy/build_dist.py).
# DIST_DIR: another folder for the archive.
DIST_DIR ?= dist
dist: install assets translations $(LOCK_TOOL)/bin/uv
	$(BIN)/python deploy/build_dist.py --uv $(LOCK_TOOL)/bin/uv --out $(DIST_DIR)

# The job worker (and its scheduler) in the background for as long as the web server runs: stopped (gracefully,
# SIGTERM) when the server exits, by Ctrl-C or otherwise.
WITH_WORKER = $(BIN)/flask jobs worker & worker=$$!; trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT;

# On every core (pytest-xdist): each test file runs whole on one worker (--dist loadfile: its ``world`` is built once
# there, see tests/conftest.py). Not loadgroup: pytest-xdist 3.8 names a group by rewriting a test's id, which
# pytest 9 no longer lets a plugin do, so every test was dealt out alone. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= auto
test: install assets translations
	$(BIN)/python -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# ruff: the lint rules of pyproject.toml ([tool.ruff]) and the format check, over the code, the tests and deploy/.
# `.venv/bin/ruff check --fix . && .venv/bin/ruff format .` fixes what can be fixed.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks only (the 10,000-row import), with pytest-benchmark's timing table.
bench: install assets translations
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only $(PYTEST_ARGS)

# Issue 16's measurements at a vendor's real size (not a test): seeds BENCH_DATABASE_URL with `flask seed-scale` if
# it has no units yet, then prints per role and page the in-process median, SQL time, queries and HTML size, and
# req/s under wrk beside the floor page. SQLite: make bench-scale BENCH_DATABASE_URL=sqlite:///instance/bench.sqlite
# (10,000 units / 20,000 tickets unless BENCH_UNITS, BENCH_TICKETS, BENCH_VISITS, BENCH_COMPLAINTS say otherwise).
BENCH_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench_scale
bench-scale: install assets translations
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)); } \
		|| echo "wrk is not installed (Debian: apt-get install -y wrk): throughput will not be measured."
	BENCH_DATABASE_URL='$(BENCH_DATABASE_URL)' $(if $(BENCH_UNITS),BENCH_UNITS=$(BENCH_UNITS)) \
		$(if $(BENCH_TICKETS),BENCH_TICKETS=$(BENCH_TICKETS)) $(if $(BENCH_VISITS),BENCH_VISITS=$(BENCH_VISITS)) \
		$(if $(BENCH_COMPLAINTS),BENCH_COMPLAINTS=$(BENCH_COMPLAINTS)) $(BIN)/python -m portal.bench

install: $(STAMP)/venv

# Exactly the versions of requirements.lock, each file checked against its hash (pip, and setuptools for the
# editable install, included), then the project itself without resolving anything; `pip check` fails when
# pyproject.toml names a package the lock does not hold (run `make lock`).
$(STAMP)/venv: pyproject.toml $(LOCK)
	@mkdir -p $(STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --only-binary=:all: -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $@

# requirements.lock from pyproject.toml (runtime and dev dependencies, every platform, with hashes) by uv, itself
# pinned and installed in a venv of its own under .make/. Versions already locked are kept; UPGRADE=1 takes the
# newest that pyproject.toml allows (then run `make audit-deps` and the tests).
lock: $(LOCK_TOOL)/bin/uv
	echo 'setuptools>=68' | $(LOCK_TOOL)/bin/uv pip compile pyproject.toml - --extra dev --universal \
		--python-version 3.11 --generate-hashes --quiet --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) -o $(LOCK)

# The locked packages against PyPI's vulnerability data (the lock's exact versions, not what happens to be
# installed). A known vulnerability fails; so does a package whose data cannot be read (PyPI unreachable), unless
# AUDIT_UNREACHABLE_OK=1, which lists such packages and goes on (for a network that cannot reach PyPI's JSON API).
audit-deps: install
	$(BIN)/pip-audit $(if $(AUDIT_UNREACHABLE_OK),,--strict) --progress-spinner off --require-hashes --disable-pip -r $(LOCK)

# Static security checks of portal/: findings reviewed and accepted are marked in the code (# nosec BXXX, with the
# reason); any other finding, of low severity or more, fails.
bandit: install
	$(BIN)/bandit -q -r portal

# Front-end packages from the npm registry, copied under static/vendor/ (git-ignored): no CDN at run time; Noto Sans
# SC (whole TTFs, regular and bold) under static/vendor/fonts/ for the PDFs (portal/reports/pdf.py), which embed it
# and so need no font installed on the system. Then
# static/dist/ (git-ignored, see portal/assets.py): every static file under a content-hashed name, cached by browsers
# for a year, with gzip and Brotli copies, and Bootstrap Icons cut down to the icons in use; rebuilt whenever a
# static file, a template or the code (which may name an icon) changes.
assets: $(STAMP)/assets static/dist/manifest.json

ASSET_SOURCES := $(shell find static templates portal -type f \( -name '*.css' -o -name '*.js' -o -name '*.svg' \
	-o -name '*.woff*' -o -name '*.html' -o -name '*.txt' -o -name '*.py' \) -not -path 'static/dist/*' 2>/dev/null)

static/dist/manifest.json: $(STAMP)/assets $(ASSET_SOURCES) | install
	$(BIN)/python -m portal.assets

$(STAMP)/assets: package.json package-lock.json
	@mkdir -p $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf static/vendor && mkdir -p static/vendor/bootstrap static/vendor/bootstrap-icons/fonts static/vendor/htmx
	cp node_modules/bootstrap/dist/css/bootstrap.min.css static/vendor/bootstrap/
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css static/vendor/bootstrap-icons/
	cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff2 node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff static/vendor/bootstrap-icons/fonts/
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/
	mkdir -p static/vendor/fonts
	cp node_modules/@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf \
		node_modules/@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf \
		node_modules/@expo-google-fonts/noto-sans-sc/LICENSE_FONT static/vendor/fonts/
	@touch $@

translations: install
	$(BIN)/pybabel compile --directory translations >/dev/null

# After changing strings: extract, merge into every catalogue, then translate the new entries.
messages: install
	$(BIN)/pybabel extract -F pyproject.toml -k _l -k _lp:1c,2 -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

migrate: install
	$(BIN)/flask db upgrade

seed: install
	$(BIN)/flask seed-demo

# The lock tool, uv, pinned, in a venv of its own under .make/ (`make lock`, `make dist`).
$(LOCK_TOOL)/bin/uv:
	test -x $@ || { $(PYTHON) -m venv $(LOCK_TOOL) && $(LOCK_TOOL)/bin/python -m pip install --quiet uv==$(UV_VERSION); }

clean:
	rm -rf $(VENV) $(STAMP) node_modules static/vendor static/dist dist
