"""Where the test suite's CPU goes, test by test, child processes included (opt-in; issue #12).

A pytest plugin, loaded only when asked for, and its report::

    TESTS_CPU_PROFILE=/tmp/prof .venv/bin/python -m pytest -p tests.cpu_profile \\
        -n 2 --dist loadgroup tests
    .venv/bin/python -m tests.cpu_profile /tmp/prof        # files, then tests, by CPU

Each pytest process (the pytest-xdist controller and each worker) writes one JSON line per test
to ``<dir>/<worker>-<pid>.jsonl``: the user+system CPU of the process itself and of its
children (``getrusage`` ``RUSAGE_SELF`` and ``RUSAGE_CHILDREN``) from the start of the test's
setup to the end of its teardown, the subprocesses it started (``subprocess.Popen``, which
asyncio's subprocesses use too) and the pids of the bots and fake Bot API servers it had forked
by the fork servers (tests/zygote.py), plus lines for the process's start, collection and end.

``RUSAGE_CHILDREN`` counts a child only once it has been waited for, and a grandchild only once
its parent waited for it: a process a test starts and leaves to a later test or to the end of
the run is counted there (the controller's end holds the workers' whole CPU). The forked bots
are children of a fork server, not of the test's process; with ``TESTS_CPU_PROFILE`` set the
server writes each child's CPU when it reaps it (``os.wait4``) to ``<dir>/forked-<pid>.jsonl``,
and the report adds it to the test that asked for the child. The name has no ``AFTERCARE_``
prefix, which the fork servers leave out of their environment (`zygote.server_env`).
"""

from __future__ import annotations

import collections
import json
import os
import resource
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from tests.zygote import CPU_PROFILE

VARIABLE = CPU_PROFILE  # (tests/zygote.py writes the forked children's CPU there)


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of its children waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


class _Profile:
    """This pytest process's records (one instance, registered by `pytest_configure`)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._out = open(folder / f"{worker}-{os.getpid()}.jsonl", "w",  # noqa: SIM115
                         encoding="utf-8")
        self.started = _cpu()
        self.popened: list[str] = []
        self.forked: list[int] = []
        original = subprocess.Popen.__init__
        profile = self

        def counted(popen: Any, *args: Any, **kwargs: Any) -> None:
            command = args[0] if args else kwargs.get("args")
            words = command if isinstance(command, (list, tuple)) else [command]
            profile.popened.append(" ".join(map(str, words))[:160])
            original(popen, *args, **kwargs)

        subprocess.Popen.__init__ = counted  # type: ignore[method-assign,assignment]

    def write(self, name: str, before: tuple[float, float], **extra: Any) -> None:
        after = _cpu()
        self._out.write(json.dumps({"id": name, "self": after[0] - before[0],
                                    "children": after[1] - before[1], **extra}) + "\n")
        self._out.flush()

    def watch_forks(self) -> None:
        """Record the pids the fork servers fork for this process (tests/processes.py)."""
        from tests import processes

        fork = processes._ForkServer.fork
        if getattr(fork, "profiled", False):
            return
        profile = self

        def recorded(server: Any, *args: Any, **kwargs: Any) -> int:
            pid: int = fork(server, *args, **kwargs)
            profile.forked.append(pid)
            return pid

        recorded.profiled = True  # type: ignore[attr-defined]
        processes._ForkServer.fork = recorded  # type: ignore[method-assign,assignment]


_profile: _Profile | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _profile
    folder = os.environ.get(VARIABLE)
    if not folder:
        raise pytest.UsageError(f"-p tests.cpu_profile needs {VARIABLE}=<folder>")
    _profile = _Profile(Path(folder))


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session) -> Generator[None, None, None]:
    assert _profile is not None
    before = _cpu()
    _profile.write("<start>", _profile.started)
    yield
    _profile.write("<collection>", before)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item,
                            nextitem: pytest.Item | None) -> Generator[None, None, None]:
    assert _profile is not None
    _profile.watch_forks()
    del _profile.popened[:], _profile.forked[:]
    before = _cpu()
    yield
    _profile.write(item.nodeid, before, popened=list(_profile.popened),
                   forked=list(_profile.forked))


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    assert _profile is not None
    del _profile.popened[:]
    before = _cpu()
    yield
    _profile.write("<finish>", before, popened=list(_profile.popened))
    _profile.write("<total>", _profile.started)


def report(folder: Path, top: int = 40) -> str:
    """The files and the tests of a profile in `folder`, most CPU first (seconds: all, the
    test's own process, its children waited for, its forked bots and fakes; processes)."""
    forked: dict[int, float] = {}
    for path in folder.glob("forked-*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            forked[row["pid"]] = row["cpu"]
    rows: list[dict[str, Any]] = []
    lines = [f"forked children: {len(forked)}, {sum(forked.values()):.1f} s"]
    for path in sorted(folder.glob("*.jsonl")):
        if path.name.startswith("forked-"):
            continue
        worker = path.name.split("-")[0]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row["fork"] = sum(forked.get(pid, 0.0) for pid in row.get("forked", ()))
            row["cpu"] = row["self"] + row["children"] + row["fork"]
            row["processes"] = len(row.get("popened", ())) + len(row.get("forked", ()))
            if row["id"].startswith("<"):
                lines.append(f"{worker:5s} {row['id']:12s} own {row['self']:7.1f} s, "
                             f"children {row['children']:7.1f} s")
            else:
                rows.append(row)
    files: dict[str, list[float]] = collections.defaultdict(lambda: [0.0] * 6)
    for row in rows:
        total = files[row["id"].split("::")[0]]
        for index, key in enumerate(("cpu", "self", "children", "fork", "processes")):
            total[index] += row[key]
        total[5] += 1
    lines.append(f"tests: {len(rows)}, {sum(row['cpu'] for row in rows):.1f} s")
    lines.append(f"{'file':54s} {'cpu':>6s} {'own':>6s} {'child':>6s} {'fork':>6s} procs tests")
    for name, (cpu, own, children, fork, processes, tests) in sorted(
            files.items(), key=lambda item: -item[1][0])[:top]:
        lines.append(f"{name:54s} {cpu:6.1f} {own:6.1f} {children:6.1f} {fork:6.1f} "
                     f"{processes:5.0f} {tests:5.0f}")
    lines.append("")
    for row in sorted(rows, key=lambda row: -row["cpu"])[:top]:
        lines.append(f"{row['cpu']:6.2f} {row['self']:6.2f} {row['children']:6.2f} "
                     f"{row['fork']:6.2f} {row['processes']:3d} {row['id']}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40))
