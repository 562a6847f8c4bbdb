# imgspec: one command to build the site, one to test everything.
#   make html     set up .venv from pinned requirements, build the site (warnings are errors)
#   make test     set up, then run the whole test suite
#   make serve    live preview while editing (sphinx-autobuild)
#   make bench    print throughput figures
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SPHINXOPTS ?=
SPHINXBUILD := $(VENV)/bin/sphinx-build -c . docs
SPHINXFLAGS := -W --keep-going -n $(SPHINXOPTS)

.PHONY: html test serve bench linkcheck clean clean-venv setup

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

html: $(STAMP)
	$(SPHINXBUILD) -b html $(SPHINXFLAGS) _build/html

test: $(STAMP)
	$(PY) -m pytest

serve: $(STAMP)
	$(VENV)/bin/sphinx-autobuild -c . docs _build/html --watch schemas --watch examples --watch imgspec

bench: $(STAMP)
	$(PY) -m imgspec.bench

clean:
	rm -rf _build

clean-venv:
	rm -rf $(VENV)
