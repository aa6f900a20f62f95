"""Run the ``aftercare`` command line as a user runs it in a shell, but inside this test process.

`aftercare(cwd, *args, stdin=..., **env)` calls the console script's entry point
(`bot.cli.main.main`) with the arguments, in `cwd` (where ``.env`` is read), with exactly the
environment a fresh shell would give it: this process's variables without any AFTERCARE_* or
TELEGRAM_BOT_TOKEN, plus `env`. It returns the exit status, standard output and standard error
the way `subprocess.run` does: an uncaught exception is a traceback on stderr and status 1,
argparse's exit is its status, and warnings logged go to stderr in the command's log format.

Starting a new Python for each command cost about a second of CPU (interpreter, imports); the
shipped entry point is still run as a real process by tests/test_demo.py (``aftercare start``,
which runs the demo), tests/test_docker.py (the installed wheel's ``aftercare``) and
`aftercare_process` below.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # as bot.cli.main configures


@dataclass(frozen=True)
class Result:
    """What a shell shows after a command (the fields of `subprocess.CompletedProcess`)."""

    returncode: int
    stdout: str
    stderr: str


def shell_environment(**env: str) -> dict[str, str]:
    """This process's environment without the product's variables, plus `env`."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    clean.update(env)
    return clean


def aftercare(cwd: Path | None, *args: str, stdin: str = "", **env: str) -> Result:
    """``aftercare ARGS`` in `cwd` (None: the current folder) with `env` set, in-process."""
    from bot.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(shell_environment(**env)), _folder(cwd), _logging_to(err), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            _stdin(stdin):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse, or a command that exits
            code = _exit_status(exc, err)
        except Exception:  # noqa: BLE001 - what Python prints for an uncaught exception
            traceback.print_exc(file=err)
            code = 1
    return Result(code, out.getvalue(), err.getvalue())


def aftercare_process(cwd: Path | None, *args: str, stdin: str | None = None,
                      **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot.cli.main ARGS`` as a real process (the entry point end to end)."""
    return subprocess.run([sys.executable, "-m", "bot.cli.main", *args], input=stdin,
                          capture_output=True, text=True, cwd=cwd, check=False, timeout=60,
                          env=shell_environment(**env, PYTHONPATH=str(REPO_ROOT)))


def _exit_status(exc: SystemExit, err: io.StringIO) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)
    return 1


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _folder(cwd: Path | None) -> Iterator[None]:
    saved = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _logging_to(err: io.StringIO) -> Iterator[None]:
    """Warnings and errors logged by the command reach its stderr, as `logging.basicConfig`
    in a fresh process would send them (pytest's own handlers keep the root logger busy)."""
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved
