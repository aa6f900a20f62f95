"""The test modules' rewritten bytecode and the project's bytecode, written once per run by the
pytest-xdist controller before its workers start (tests/conftest.py `pytest_configure`).

pytest rewrites every test module's asserts when it imports it and keeps the result in
``__pycache__`` (``*.cpython-311-pytest-<version>.pyc``), as Python keeps a module's bytecode;
a process that finds a current one loads it instead. In a fresh checkout (CI's clone) there is
none, and the four workers, started together, each rewrote all 110 test modules (about 4 s of
CPU each, 17 s of a collection's 38 s with ``-n 4``) before any of them had written one. Here
the controller writes those of the test modules the run names (its paths, ``testpaths`` when
none) first, in as many forked processes as there are CPUs, with pytest's own functions and
settings (the same code a worker would write), and the project's bytecode with `compileall`;
a file whose cache is current is left alone, so a second run costs a stat per file. Anything
unexpected (another pytest's internals, a read-only tree) leaves the workers to do it
themselves, as before.
"""

from __future__ import annotations

import compileall
import fnmatch
import importlib.util
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "knowledge", "scheduler", "storage", "tests")


def precompile(config: pytest.Config) -> None:
    """Write the current rewritten test modules and project bytecode that are missing."""
    if sys.dont_write_bytecode or config.getoption("assertmode") != "rewrite":
        return
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    if not all(hasattr(rewrite, name) for name in (
            "_rewrite_test", "_write_pyc", "try_makedirs", "get_cache_dir", "PYC_TAIL")):
        return
    state = config.stash.get(rewrite.assertstate_key, None)
    if state is None:
        return
    patterns = config.getini("python_files")
    named = [(config.invocation_params.dir / arg.split("::")[0]).resolve()
             for arg in config.args]
    jobs: list[Callable[[], Any]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if package == "tests" and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                if not any(place == path or place in path.parents for place in named):
                    continue  # a module the run does not collect
                pyc = rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)
                if _stale(path, pyc):
                    jobs.append(partial(_rewrite, rewrite, config, state, path, pyc))
            elif _stale(path, Path(importlib.util.cache_from_source(str(path)))):
                jobs.append(partial(compileall.compile_file, path, quiet=2))
    _run(jobs, os.cpu_count() or 1)


def _stale(source: Path, pyc: Path) -> bool:
    """No cache, or one older than its source (a quick look: what reads it checks it in full,
    and writes it again if it does not match)."""
    try:
        return pyc.stat().st_mtime < source.stat().st_mtime
    except OSError:
        return True


def _rewrite(rewrite: Any, config: pytest.Config, state: Any, path: Path, pyc: Path) -> None:
    source_hash, code = rewrite._rewrite_test(path, config)
    if rewrite.try_makedirs(pyc.parent):
        rewrite._write_pyc(state, code, source_hash, pyc)


def _run(jobs: list[Callable[[], Any]], processes: int) -> None:
    """Run ``jobs`` in ``processes`` processes: this one and forked children, each taking every
    ``processes``-th job (a child that fails leaves its files to the workers)."""
    children = []
    for share in range(1, min(processes, len(jobs))):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                for job in jobs[share::processes]:
                    job()
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    try:
        for job in jobs[::processes]:
            job()
    except Exception:
        pass  # the workers rewrite what is left, as they did before
    finally:
        for pid in children:
            os.waitpid(pid, 0)
