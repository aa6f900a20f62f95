"""A test that hangs fails instead of holding the run (pytest-timeout, ``timeout`` in
pyproject.toml): checked on a throwaway pytest run of two hanging tests, one waiting on a
process that never gets ready, one awaiting what never comes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HANGING = '''
import asyncio
import subprocess
import sys


def test_waits_on_a_process_that_never_gets_ready():
    bot = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert bot.stdout.readline() == "ready"  # never written
    finally:
        bot.kill()
        bot.wait()


async def test_awaits_what_never_comes():
    await asyncio.Event().wait()
'''


def test_the_suite_has_a_per_test_timeout(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) >= 60


def test_a_hanging_test_fails_with_a_timeout_and_the_run_goes_on(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\ntimeout = 0.5\n")
    pytester.makepyfile(test_hangs=HANGING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>0.5s) from pytest-timeout*"] * 2)
    assert result.duration < 30
