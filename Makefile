# imgspec: one command to build the site, one to test everything.
#   make html     set up .venv from pinned requirements, build the site (warnings are errors)
#   make test     set up, lint and type-check, then run the whole test suite
#   make lint     ruff and mypy only
#   make serve    live preview while editing (sphinx-autobuild)
#   make bench    print throughput figures
#   make sizing   measure metadata bytes per image on SQLite, MariaDB and PostgreSQL (schemas/sizing/measured.json)
#   make fuzz     the differential tests and schemathesis against a real Glance, each with a long budget
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
GLANCE_VENV := .venv-glance
GLANCE_STAMP := $(GLANCE_VENV)/.installed
AJV_HOME := _build/ajv
AJV_STAMP := $(AJV_HOME)/.installed
REDOCLY_HOME := _build/redocly
PRISM_STAMP := _build/prism/.installed
OPC_HOME := _build/openapi-python-client
OPC_STAMP := $(OPC_HOME)/.installed
ST_HOME := _build/schemathesis
ST_STAMP := $(ST_HOME)/.installed
GLANCE_SRC := _build/glance-src
GLANCE_SRC_STAMP := $(GLANCE_SRC)/.installed
REDOCLY_STAMP := $(REDOCLY_HOME)/.installed
SPHINXOPTS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SPHINXBUILD := $(VENV)/bin/sphinx-build -c . docs
SPHINXFLAGS := -W --keep-going -n $(SPHINXOPTS)

.PHONY: html test lint serve bench linkcheck clean clean-venv setup chromium ajv redocly prism openapi-python-client schemathesis glance-src dbservers sizing fuzz matrix

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Real Glance (conformance and SQL tests) in a venv of its own: its pins differ from the docs stack.
$(GLANCE_STAMP): requirements-glance.txt
	test -x $(GLANCE_VENV)/bin/python || $(PYTHON) -m venv $(GLANCE_VENV)
	$(GLANCE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-glance.txt
	touch $@

html: $(STAMP)
	$(SPHINXBUILD) -b html -d _build/doctrees $(SPHINXFLAGS) _build/html

# Node tools, each pinned by tools/<name>/package-lock.json and installed with npm ci into _build/<name>,
# never globally: ajv and ajv-formats for the cross-validator test, Redocly CLI to lint the OpenAPI document,
# Stoplight Prism to mock it.
ajv: $(AJV_STAMP)
redocly: $(REDOCLY_STAMP)
prism: $(PRISM_STAMP)

# openapi-python-client (and mypy, for the generated client's test) in a venv of its own, pinned by
# tools/openapi-python-client/requirements.txt: its pins are not the docs stack's.
openapi-python-client: $(OPC_STAMP)

$(OPC_STAMP): tools/openapi-python-client/requirements.txt
	test -x $(OPC_HOME)/bin/python || $(PYTHON) -m venv $(OPC_HOME)
	$(OPC_HOME)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

# Schemathesis in a venv of its own, pinned by tools/schemathesis/requirements.txt (property-based runs of the
# API document against a real Glance: tests/test_api_fuzz.py, a fixed budget in make test, a longer one in make fuzz).
schemathesis: $(ST_STAMP)

$(ST_STAMP): tools/schemathesis/requirements.txt
	test -x $(ST_HOME)/bin/python || $(PYTHON) -m venv $(ST_HOME)
	$(ST_HOME)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

_build/%/.installed: tools/%/package.json tools/%/package-lock.json
	mkdir -p $(@D)
	cp $^ $(@D)/
	cd $(@D) && npm ci --no-audit --no-fund --silent
	touch $@

# Glance 33.0.0's source package (its api-ref and samples, which the wheel lacks), unpacked into the build
# folder for the tests that hold the API document to them.
glance-src: $(GLANCE_SRC_STAMP)

$(GLANCE_SRC_STAMP): requirements-glance.txt | $(STAMP)
	mkdir -p $(GLANCE_SRC)
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
	  "$$(grep -i '^glance==' requirements-glance.txt)" -d $(GLANCE_SRC)
	tar xzf $(GLANCE_SRC)/glance-*.tar.gz -C $(GLANCE_SRC)
	touch $@

# The browser test drives Debian's chromium (Playwright never downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The MariaDB and PostgreSQL tests start servers of their own (tests/dbservers.py: private data directories,
# loopback): only the Debian packages are needed, never their system services.
dbservers:
	@{ command -v mariadbd || test -x /usr/sbin/mariadbd; } >/dev/null 2>&1 && command -v mariadb-install-db >/dev/null 2>&1 || { \
	  echo "installing Debian's mariadb-server for the MariaDB tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env RUNLEVEL=1 apt-get install -y -qq mariadb-server >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the PostgreSQL tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env RUNLEVEL=1 apt-get install -y -qq postgresql >/dev/null; }

# Lint (ruff: pyflakes, pycodestyle, import order, bugbear, pyupgrade) and types (mypy), configured in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check imgspec tests tools conf.py
	$(VENV)/bin/mypy

# The era matrix (tests/matrix.py): Glance releases from the package index, each in its own virtual environment
# under _build/matrix/ from its pins (tools/matrix/RELEASE.txt) on the Python of its era (pyenv's), serving its
# own API. `make matrix` runs them all on SQLite, the oldest of each layout era on MariaDB and PostgreSQL too, and
# rewrites schemas/bindings/glance-matrix.json; `make test` runs the
# oldest that installs and Glance 33 (tests/test_glance_matrix.py) and the rolling upgrade of tests/rolling.py on
# MariaDB and PostgreSQL (tests/test_rolling_upgrade.py), whose environments MATRIX_STAMP installs.
MATRIX_STAMP := _build/matrix/.installed-make-test
$(MATRIX_STAMP): schemas/bindings/glance-matrix.json $(wildcard tools/matrix/*.txt) $(STAMP) $(GLANCE_STAMP)
	$(PY) tests/matrix.py install --make-test
	touch $@

matrix: $(STAMP) $(GLANCE_STAMP) dbservers
	$(PY) tests/matrix.py run --write
	$(PY) tests/matrix.py run --servers --write
	$(PY) tests/rolling.py --write

# The suite runs on every core (pytest-xdist), a test module per worker so that its fixtures are built once.
# The package is compiled first: many tests start `python -m imgspec`, and where PYTHONDONTWRITEBYTECODE is
# set (as on some CI machines) each start would otherwise compile every module again (about 0.3 s).
test: $(STAMP) $(GLANCE_STAMP) $(GLANCE_SRC_STAMP) $(AJV_STAMP) $(REDOCLY_STAMP) $(PRISM_STAMP) $(OPC_STAMP) $(ST_STAMP) $(MATRIX_STAMP) chromium dbservers lint
	$(PY) -m compileall -q -j 0 imgspec tests tools > /dev/null
	$(PY) -m pytest -n auto --dist loadfile

linkcheck: html
	$(PY) tools/linkcheck.py _build/html

serve: $(STAMP)
	$(VENV)/bin/sphinx-autobuild -c . docs _build/html --watch schemas --watch examples --watch imgspec

# Measure what each era's metadata costs on SQLite, MariaDB and PostgreSQL (servers of its own, Glance's own
# migrations) and record it in schemas/sizing/measured.json, which the sizing page reads.
sizing: $(STAMP) $(GLANCE_STAMP) dbservers
	$(PY) tests/measure_sizing.py --write

# The differential tests (tests/test_differential.py) with a long budget of drawn plans (FUZZ_EXAMPLES); the
# plan of a failure is kept in examples/differential/ so that every later run replays it. Then schemathesis
# (tests/test_api_fuzz.py) with the "make fuzz" budget of tools/schemathesis/run.json.
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP) $(GLANCE_STAMP) $(GLANCE_SRC_STAMP) $(ST_STAMP)
	rm -f _build/fuzz/last-failure.json
	IMGSPEC_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/test_differential.py -k every_image || { \
	  test -f _build/fuzz/last-failure.json && name=examples/differential/found-$$(sha256sum _build/fuzz/last-failure.json | cut -c1-12).json && \
	  cp _build/fuzz/last-failure.json $$name && echo "kept the failing plan as $$name"; exit 1; }
	IMGSPEC_SCHEMATHESIS_BUDGET="make fuzz" $(PY) -m pytest -q -p no:cacheprovider tests/test_api_fuzz.py

bench: $(STAMP) $(AJV_STAMP)
	$(PY) tools/bench.py --export-sizes 10000,100000,1000000

clean:
	rm -rf _build

clean-venv:
	rm -rf $(VENV) $(GLANCE_VENV)
