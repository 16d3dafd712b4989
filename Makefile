# The README's two commands are `make book` and `make test`; both install everything first.
# Students use `make lab`; `make publish` puts the built book online.
SHELL := /bin/bash
# Debian's Python, when there: a venv on it can be run by every user, which the grading sandbox
# needs (run as root, rnngrade starts it as an unprivileged user) and so does a regular instructor.
PYTHON ?= $(or $(wildcard /usr/bin/python3.11),python3.11)
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := bubblewrap chromium chromium-driver python3.11-venv
export PATH := $(abspath $(BIN)):$(PATH)
# One thread per process: the book and the tests run on 2 cores.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: install book test test-fast exercises bench clean lab publish

# apt first: the venv is built on Debian's python3.11 (python3.11-venv).
install: $(VENV)/.apt-installed $(VENV)/.installed

$(VENV)/.apt-installed:
	@mkdir -p $(VENV)
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $(APT_PACKAGES)
	touch $@

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH"; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	$(PY) -m pip check
	touch $@

JCACHE := $(BIN)/jcache notebook -p _build/.jupyter_cache
CHAPTERS := $(sort $(wildcard book/*.md))

# Executes every chapter; warnings are errors. The chapters are first executed two at a time
# into Jupyter Book's own execution cache (jupyter-cache, the same cache key myst-nb uses), so
# the build itself only renders; an unchanged rebuild takes seconds. A chapter whose cell fails
# is not cached, so the build executes it again and fails on it.
book: install
	yes | $(JCACHE) add -r myst_nb_md $(CHAPTERS) >/dev/null
	$(BIN)/jcache project -p _build/.jupyter_cache execute -e local-parallel -t 300
	$(BIN)/jupyter-book build . -W -n --keep-going

test: book
	$(PY) -m pytest -p no:cacheprovider tests

test-fast:
	$(PY) -m pytest -q -x -m "not slow" tests

# Students: the Python environment only (no apt packages, no root), then JupyterLab on the
# assignments. The server's PATH starts with .venv/bin, so its terminals find nbgrader.
# LAB_ARGS passes options through, e.g. LAB_ARGS=--no-browser on a remote machine.
LAB_ARGS ?=
lab: $(VENV)/.installed
	cd exercises && $(abspath $(BIN))/jupyter lab $(LAB_ARGS)

# Push the built book (make book first) to the branch GitHub Pages serves. .nojekyll keeps
# Pages from dropping the _static/, _sources/ and _notebooks/ folders, as Jekyll would.
# The branch must match student_notebooks_branch in _config.yml: the Colab buttons read it.
PUBLISH_REMOTE ?= origin
PUBLISH_BRANCH ?= gh-pages
publish: book
	$(BIN)/ghp-import --no-jekyll --push --force --remote $(PUBLISH_REMOTE) \
		--branch $(PUBLISH_BRANCH) \
		--message "Publish the book built from $$(git rev-parse --short HEAD)" _build/html

# Regenerate the student versions in exercises/ from solutions/.
exercises: install
	$(PY) -m autograder.release --all

# Benchmarks print ratios measured in one run; they are not timed tests. Each one runs even when
# an earlier one missed its target; the target fails at the end if any did. bench_scale grades
# classes of 100, 300 and 1,000 of the fixture assignment, then 300 on Dask (about an hour on
# 2 cores).
bench: install
	@status=0; \
	$(PY) benchmarks/bench_rnnlab.py || status=1; \
	$(PY) benchmarks/bench_grading.py --source-root . --assignment a1_rnn_cell || status=1; \
	$(PY) benchmarks/bench_merge.py || status=1; \
	$(PY) benchmarks/bench_scale.py || status=1; \
	exit $$status

clean:
	rm -rf _build
