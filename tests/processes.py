"""Helpers for tests that run real processes: the standalone fake Bot API server,
`aftercare run`, and the fake server's /_control/ API (see tests/fake_telegram/control.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:abcdef"  # the fake refuses tokens shorter than real ones
# The bound on a wait for a real process (`aftercare run` starting, answering, taking over):
# a bound on a hang, never a timing assertion. Every such wait polls for its signal and
# returns as soon as it is there; on a loaded CI box (pytest -n 4 on 2 cores, other jobs
# beside) importing and migrating alone can take a minute, so the bound is generous.
HANG = 180.0


def start_fake_server(port: int = 0) -> tuple[subprocess.Popen[str], str]:
    """A standalone fake Bot API server process and its root URL (on `port`, or any).

    A long poll is held at most 1 s (the bot asks for 10): a new update still answers it at
    once, and an idle bot polls once a second instead of five times (about 1% of a core
    less per running bot, and as much of the fake's)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", "--port", str(port), "--max-poll-wait",
         "1.0"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "FAKE_TELEGRAM_READY":
        proc.kill()
        raise RuntimeError(f"the fake Bot API server did not start: {line}")
    return proc, line[1]


# `python -m bot.cli.main` (its console()), without trio: trio is here only for selenium (the
# browser tests), the product's dependencies do not bring it, and httpcore imports it whenever
# it is installed (about 0.07 s of CPU in every bot for nothing).
_RUN = ("import sys; sys.modules['trio'] = None; sys.argv[0] = 'aftercare'; "
        "from bot.cli.main import console; console()")

# Every `aftercare run` a test started and has not stopped: a wait on one of them fails at
# once, with the bot's last lines, when the bot crashed, instead of running into HANG.
_BOTS: list[subprocess.Popen[str]] = []


def _check_bots() -> None:
    """Fail fast when a started bot exited on its own with an error (a SIGKILL or SIGTERM a
    test sent, or a clean exit, is not a crash)."""
    for proc in list(_BOTS):
        code = proc.poll()
        if code is None:
            continue
        _BOTS.remove(proc)
        if code > 0:
            try:
                _, err = proc.communicate(timeout=5)
            except (subprocess.TimeoutExpired, ValueError):
                err = ""
            tail = "\n".join((err or "").strip().splitlines()[-15:])
            raise AssertionError(f"aftercare run exited with code {code} while the test "
                                 f"waited on it:\n{tail}")


class BotProcess(subprocess.Popen[str]):
    """A started `aftercare run` whose output goes to files in the test's folder, not pipes.

    A pipe that nobody reads until the bot stops fills up (64 KiB of log lines) and then
    blocks the bot mid-write, so a long test could hang a healthy bot. `stderr_so_far()` is the
    stderr written so far; `communicate` waits for the exit and returns (stdout, stderr) as
    Popen's does for pipes (stdout None unless it was asked for with PIPE).
    """

    def __init__(self, args: list[str], *, workdir: Path, stdout: int, **kwargs: Any) -> None:
        self._logs: dict[str, Path] = {}
        fds: dict[str, int] = {}
        for name in ("stdout", "stderr") if stdout == subprocess.PIPE else ("stderr",):
            fd, path = tempfile.mkstemp(prefix=f"aftercare-run-{name}-", suffix=".log",
                                        dir=workdir)
            fds[name], self._logs[name] = fd, Path(path)
        try:
            super().__init__(args, cwd=workdir, stdout=fds.get("stdout", stdout),
                             stderr=fds["stderr"], text=True, **kwargs)
        finally:
            for fd in fds.values():
                os.close(fd)

    def _text(self, name: str) -> str | None:
        path = self._logs.get(name)
        return path.read_text(errors="replace") if path is not None else None

    def stderr_so_far(self) -> str:
        """What the bot has written to stderr so far."""
        return self._text("stderr") or ""

    def communicate(self, input: Any = None,  # noqa: A002 - Popen's own parameter name
                    timeout: float | None = None) -> tuple[Any, Any]:
        self.wait(timeout)
        return self._text("stdout"), self.stderr_so_far()


def start_bot(root: str, database: Path | str, workdir: Path, *, token: str = TOKEN,
              stdout: int = subprocess.PIPE, **extra: str) -> BotProcess:
    """`aftercare run` (bot.cli.main's console(), as ``python -m bot.cli.main run`` runs it)
    against the fake server at `root`.

    `database` is a SQLite file or a database URL; `extra` adds or overrides environment
    variables (the ops HTTP port is off unless AFTERCARE_HTTP_PORT is given).
    """
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(TELEGRAM_BOT_TOKEN=token, AFTERCARE_BOT_API_URL=f"{root}/bot",
               AFTERCARE_DATABASE_URL=url, AFTERCARE_TIMEZONE="UTC", AFTERCARE_HTTP_PORT="0",
               PYTHONPATH=str(REPO_ROOT))
    env.update(extra)
    proc = BotProcess([sys.executable, "-c", _RUN, "run"], workdir=workdir, env=env,
                      stdout=stdout)
    _BOTS.append(proc)
    return proc


def stop_bot(proc: subprocess.Popen[str], timeout: float = HANG) -> tuple[int, str]:
    """SIGTERM (if still running), then the exit code and stderr."""
    if proc in _BOTS:
        _BOTS.remove(proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_get(session: aiohttp.ClientSession, port: int, path: str) -> tuple[int, str]:
    """Status and body of a local GET; (0, "") when nothing answers yet."""
    try:
        async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
            return resp.status, await resp.text()
    except aiohttp.ClientError:
        return 0, ""


Replica = TypeVar("Replica", bound=subprocess.Popen[str])


async def until(predicate: Callable[[], Awaitable[Any]], what: str,
                timeout: float = HANG) -> Any:
    """Poll an async predicate until it returns something truthy (a bound on a hang, never a
    timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        _check_bots()
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def polling_gauge(session: aiohttp.ClientSession, port: int) -> bool | None:
    """Whether the replica with its ops endpoints on `port` polls (its
    aftercare_polling_leader gauge); None while /metrics does not answer."""
    status, body = await http_get(session, port, "/metrics")
    if status != 200:
        return None
    return "aftercare_polling_leader 1.0" in body


async def leader_first(session: aiohttp.ClientSession, replicas: list[Replica],
                       ports: list[int]) -> None:
    """Wait until one of two replicas started together polls and the other answers /metrics
    as a standby; then put the leader first in `replicas` and `ports` (whichever won the
    lease: starting them one after the other only to know which leads costs a start-up)."""

    async def roles() -> list[int] | None:
        first, second = [await polling_gauge(session, port) for port in ports]
        if first is True and second is False:
            return [0, 1]
        return [1, 0] if first is False and second is True else None

    order = await until(roles, "one replica to lead and the other to stand by")
    replicas[:] = [replicas[i] for i in order]
    ports[:] = [ports[i] for i in order]


def checkin_id_of(message: dict[str, Any]) -> int | None:
    """The check-in id in a message's answer buttons ("ci:<id>:<choice>"), if any."""
    markup = message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            parts = str(button.get("callback_data", "")).split(":")
            if len(parts) == 3 and parts[0] == "ci":
                return int(parts[1])
    return None


class Control:
    """The fake server's control API, acting for one patient (`user`) where it needs one."""

    def __init__(self, session: aiohttp.ClientSession, root: str, user: int = 4711) -> None:
        self.session = session
        self.root = root
        self.user = user

    async def post(self, name: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.root}/_control/{name}", json=body) as resp:
            payload = await resp.json()
            assert resp.status == 200, payload
            return payload["result"]

    async def get(self, name: str, **query: Any) -> Any:
        async with self.session.get(f"{self.root}/_control/{name}", params=query) as resp:
            return (await resp.json())["result"]

    async def settled(self, timeout: float = HANG) -> None:
        """Wait until the fake answers no Bot API call but getUpdates: every send that
        reached it is recorded (the signal to wait on instead of sleeping "long enough")."""

        async def idle() -> bool:
            return await self.get("in_flight") == 0

        await until(idle, "the fake to answer every call in flight", timeout)

    async def sent(self) -> list[dict[str, Any]]:
        """Messages the bot sent to the patient's chat."""
        return list(await self.get("sent_messages", chat_id=self.user))

    async def wait_sent(self, n: int, timeout: float = HANG) -> list[dict[str, Any]]:
        """Wait for the n-th message to the patient (the bound is on a hang: a loaded
        machine may take a while to start `aftercare run`)."""
        deadline = time.monotonic() + timeout
        while True:
            _check_bots()
            sent = await self.sent()
            if len(sent) >= n:
                return sent
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(sent)} of {n} messages were sent")
            await asyncio.sleep(0.05)

    async def say(self, text: str) -> dict[str, Any]:
        """The patient writes `text`; returns the bot's (first) answer."""
        before = len(await self.sent())
        await self.post("update", {"kind": "message", "user_id": self.user, "text": text})
        return (await self.wait_sent(before + 1))[before]

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        """The patient presses a button of `message`; returns the bot's answer."""
        before = len(await self.sent())
        await self.post("update", {"kind": "callback_query", "user_id": self.user, "data": data,
                                   "message_id": message["message_id"]})
        return (await self.wait_sent(before + 1))[before]
