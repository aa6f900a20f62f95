# Aftercare: `make run` starts the product (terminal demo when no bot token is set),
# `make test` runs `make lint` (ruff + mypy), then the whole test suite. Both create and fill .venv on first use.
# Debian's /usr/bin/python3.11 when there is one: an interpreter linked statically, which Debian
# builds with profile-guided and link-time optimisation; the python3.11 first on PATH here is
# pyenv's, configured with --enable-shared only (libpython as a shared library, neither
# --enable-optimizations nor --with-lto). The test suite is bound by CPU on two cores. Same package
# versions, runs alternated (3 December 2026, load 2.2-3.6): the triage tables, prefilter, desk
# and report tests in one process took 21.3-22.3 s of user CPU on Debian's against 24.5-25.5 s
# (3 runs each); the bot, staff, storage, privacy and spool tests (time in SQLite, asyncpg,
# sockets) 14.3-15.1 s against 15.0-15.3 s (2 each). Only a new .venv picks it up (`make clean`,
# then `make test`); PYTHON=... still chooses another. Debian's is used only when it can make a
# virtualenv (its venv and ensurepip come in a separate package, python3.11-venv).
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1 && echo /usr/bin/python3.11 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench check clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/aftercare start

demo: $(STAMP)
	$(BIN)/aftercare demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# PYTHONDONTWRITEBYTECODE is emptied for the tests: the suite starts about forty Python
# processes (`aftercare run`, the fake Bot API), and each would otherwise compile the project
# again (the caches are git-ignored). --dist loadgroup hands the workers one test at a time,
# the ones that wait on real processes first (tests/conftest.py), so no worker is left with a
# long tail while the others idle; the tests of one xdist_group mark (the shared Chromium,
# the Docker wheel, the parsed sources) go to one worker together, first. -n 3 measured no
# better than -n 4 (182 against 172 s, same load).
test: $(STAMP) lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 4 --dist loadgroup tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python benchmarks/matcher.py

check: $(STAMP)
	$(BIN)/aftercare kb check

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
