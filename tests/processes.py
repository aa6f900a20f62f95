"""Helpers for tests that run real processes: the standalone fake Bot API server,
`aftercare run`, and the fake server's /_control/ API (see tests/fake_telegram/control.py).

`start_bot` forks each `aftercare run` from the run's fork server (tests/zygote.py: one for all
the pytest-xdist workers, which the controller starts on the first request; a pytest process
without workers starts its own) that has already imported the bot's modules, instead of
exec'ing a new
Python that imports them again (about 1 s of CPU per bot, some 40 bots in the suite). A forked
bot is still a real, separate process: its own pid, memory, database connections, event loop
and signal handling; the test's environment, working folder and log files; the same entry
point and arguments (`bot.cli.main.console()`, ``aftercare run``). SIGTERM, SIGKILL, SIGSTOP
and SIGCONT reach it as they reach an exec'd one, and its exit code is the same. What it does
not do is start Python and import, so the tests whose subject is start-up keep exec'ing a
fresh interpreter: tests/test_startup.py's bots (`start_fresh_bot`), the installed console
script in tests/test_docker.py, and every `aftercare` command run through tests/cli.py or
``python -m bot.cli.main`` (test_demo, test_configuration, test_kb_loader, test_web_demo,
...). The fake Bot API server (`start_fake_server`) is forked the same way from a second
server that has imported it.

A bot or fake is exec'd instead when the test's environment differs from its fork server's in
anything but the bot's own settings (``AFTERCARE_*``, ``TELEGRAM_BOT_TOKEN``) and pytest's
``PYTEST_CURRENT_TEST`` and ``PYTEST_XDIST_*`` (`zygote.server_env`), since an import may have
read it; and always with ``AFTERCARE_TESTS_EXEC_BOTS=1`` in pytest's environment.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests import zygote

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
    less per running bot, and as much of the fake's). Forked from the fakes' fork server
    (``python -m tests.fake_telegram`` in a process that has imported it) unless the bots are
    exec'd (see the module's docstring)."""
    args = ["--port", str(port), "--max-poll-wait", "1.0"]
    server = _fork_server("fake", dict(os.environ))
    if server is not None:
        fake = _ForkedFake(server, args)
        return fake, fake.root
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", *args],
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


def _log_files(workdir: Path, stdout: int | None) -> tuple[dict[str, int], dict[str, Path]]:
    """New files in `workdir` for the bot's stderr (and stdout when it is asked for with
    PIPE): their descriptors and paths."""
    fds: dict[str, int] = {}
    logs: dict[str, Path] = {}
    for name in ("stdout", "stderr") if stdout == subprocess.PIPE else ("stderr",):
        fd, path = tempfile.mkstemp(prefix=f"aftercare-run-{name}-", suffix=".log", dir=workdir)
        fds[name], logs[name] = fd, Path(path)
    return fds, logs


class BotProcess(subprocess.Popen[str]):
    """A started `aftercare run` whose output goes to files in the test's folder, not pipes.

    A pipe that nobody reads until the bot stops fills up (64 KiB of log lines) and then
    blocks the bot mid-write, so a long test could hang a healthy bot. `stderr_so_far()` is the
    stderr written so far; `communicate` waits for the exit and returns (stdout, stderr) as
    Popen's does for pipes (stdout None unless it was asked for with PIPE).
    """

    def __init__(self, args: list[str], *, workdir: Path, stdout: int, **kwargs: Any) -> None:
        fds, self._logs = _log_files(workdir, stdout)
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


class _ForkServer:
    """This pytest process's connection to a tests/zygote.py fork server for bots or fakes
    (`kind`): forks them, tells their pids and exit codes. `own`: the server this process
    started for itself (stopped, and waited for, at `close`), or None for the run's shared
    one (a pytest-xdist worker's: the controller's `zygote.Launcher` started it)."""

    def __init__(self, kind: str, path: str, env: dict[str, str],
                 own: zygote.Server | None = None) -> None:
        self.env = env
        self.shared = own is None
        self._own = own
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.connect(path)
        self._replies = self._socket.makefile("rb")
        self._lock = threading.Lock()  # one request and its pid at a time
        self._changed = threading.Condition()
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self.gone = False
        threading.Thread(target=self._read, name=f"{kind}-fork-server", daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):  # closed by `close`
            for line in self._replies:
                reply = json.loads(line)
                with self._changed:
                    if "pid" in reply:
                        self._pids.append(reply["pid"])
                    else:
                        self._exits[reply["exit"]] = reply["code"]
                    self._changed.notify_all()
        with self._changed:
            self.gone = True
            self._changed.notify_all()

    def fork(self, args: list[str], env: dict[str, str], cwd: Path, stdout: str | None,
             stderr: str) -> int:
        """The pid of a new child running `args` (stdout and stderr: files it writes, None
        for the server's own)."""
        request = {"args": args, "env": env, "cwd": str(cwd), "stdout": stdout,
                   "stderr": stderr}
        with self._lock:
            self._socket.sendall((json.dumps(request) + "\n").encode())
            with self._changed:
                if not self._changed.wait_for(lambda: self._pids or self.gone, HANG):
                    raise RuntimeError("the fork server did not answer")
                if not self._pids:
                    raise RuntimeError("the fork server ended")
                return self._pids.pop(0)

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """The exit code of child `pid`, waiting up to `timeout` (None: as long as it takes);
        None if it still runs then."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self.gone, timeout)
            if pid not in self._exits and self.gone:
                raise RuntimeError(f"the fork server ended before its child {pid}")
            return self._exits.get(pid)

    def close(self) -> None:
        """Disconnect (the server kills the children this process left running: none, after a
        clean test run); a server of this process's own is then stopped and waited for, which
        counts its CPU time, and its children's, as this process's."""
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        if self._own is not None:
            zygote.stop(self._own)
            shutil.rmtree(os.path.dirname(self._own.path), ignore_errors=True)


_FORK_SERVERS: dict[str, _ForkServer] = {}


def _fork_server(kind: str, env: dict[str, str]) -> _ForkServer | None:
    """The fork server of `kind` for a child with environment `env`, started (or, in a
    pytest-xdist worker, asked of the controller's `zygote.Launcher`) on first use; None when
    the child should be exec'd (see the module's docstring)."""
    if os.environ.get("AFTERCARE_TESTS_EXEC_BOTS") == "1":
        return None
    base = zygote.server_env(env)
    server = _FORK_SERVERS.get(kind)
    if server is None:
        server = _FORK_SERVERS[kind] = _connect(kind, base)
        atexit.register(server.close)
    return server if server.env == base and not server.gone else None


def _connect(kind: str, env: dict[str, str]) -> _ForkServer:
    """A connection to the run's shared fork server of `kind` (in a pytest-xdist worker: the
    one the first worker to ask had started, with its child's environment `env`), else to one
    this process starts for itself with `env`."""
    launcher = os.environ.get(zygote.Launcher.VARIABLE)
    if launcher:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as asking:
            asking.connect(launcher)
            asking.sendall((json.dumps({"kind": kind, "env": env}) + "\n").encode())
            reply = json.loads(asking.makefile("rb").readline() or b"{}")
        if "path" not in reply:
            raise RuntimeError(f"no shared fork server: {reply.get('error', 'no answer')}")
        return _ForkServer(kind, reply["path"], reply["env"])
    own = zygote.start(kind, env, tempfile.mkdtemp(prefix="aftercare-fork-server-"))
    return _ForkServer(kind, own.path, own.env, own)


class _Forked(subprocess.Popen[str]):
    """A process the fork server forked, with the Popen interface the tests use (pid, poll,
    wait raising `subprocess.TimeoutExpired`, send_signal, terminate, kill, returncode).

    Not this process's child, so its exit code comes from the server (which reaps it), and
    signals go through a pidfd opened as it starts: never to another process that reuses the
    pid after it has ended. No Popen.__init__: nothing is exec'd here.
    """

    def _fork(self, server: _ForkServer, args: list[str], cwd: Path, env: dict[str, str],
              stdout: str | None, stderr: str) -> None:
        self.args = args
        self.stdin = self.stdout = self.stderr = None
        self.returncode: Any = None
        self._child_created = False  # Popen.__del__: nothing of ours to reap
        self._server = server
        self.pid = server.fork(args, env, cwd, stdout, stderr)
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except ProcessLookupError:  # it has ended (and been reaped) already
            self._pidfd = None

    def _ended(self, code: int | None) -> int | None:
        if code is not None and self.returncode is None:
            self.returncode = code
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            return self._ended(self._server.exit_code(self.pid, 0))
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and self._ended(
                self._server.exit_code(self.pid, timeout)) is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return int(self.returncode)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile, as Popen's
                signal.pidfd_send_signal(self._pidfd, sig)

    def __del__(self) -> None:
        if getattr(self, "_pidfd", None) is not None:
            os.close(self._pidfd)  # type: ignore[arg-type]


class ForkedBot(_Forked, BotProcess):
    """An `aftercare run` forked by the bots' fork server; its output goes to files as a
    `BotProcess`'s does."""

    def __init__(self, server: _ForkServer, args: list[str], *, workdir: Path, stdout: int,
                 env: dict[str, str]) -> None:
        fds, self._logs = _log_files(workdir, stdout)
        for fd in fds.values():
            os.close(fd)
        target = {subprocess.PIPE: str(self._logs.get("stdout")), subprocess.DEVNULL: os.devnull,
                  None: None}
        if stdout not in target:
            raise ValueError(f"start_bot: stdout={stdout!r} is not PIPE, DEVNULL or None")
        self._fork(server, args, workdir, env, target[stdout], str(self._logs["stderr"]))


class _ForkedFake(_Forked):
    """``python -m tests.fake_telegram ARGS`` forked by the fakes' fork server; `root` is its
    URL, read from its first line on stdout (a FIFO here, a pipe for an exec'd one)."""

    def __init__(self, server: _ForkServer, args: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="fake-telegram-") as folder:
            fifo = Path(folder) / "stdout"
            os.mkfifo(fifo)
            # read and write: the fake's open for writing does not wait, and a read before
            # it has opened waits instead of seeing the end
            self._out = os.open(fifo, os.O_RDWR | os.O_CLOEXEC)
            self._fork(server, args, REPO_ROOT, dict(os.environ), str(fifo), os.devnull)
            line = self._first_line().split()  # it has opened the FIFO: the folder may go
        if not line or line[0] != "FAKE_TELEGRAM_READY":
            self.kill()
            raise RuntimeError(f"the fake Bot API server did not start: {line}")
        self.root = line[1]

    def _first_line(self) -> str:
        """The fake's first line; what it wrote until it ended, if it ended first."""
        read = b""
        watched = [self._out] if self._pidfd is None else [self._out, self._pidfd]
        while b"\n" not in read:
            ready, _, _ = select.select(watched, [], [], HANG)
            if self._out not in ready:
                break
            read += os.read(self._out, 4096)
        return read.decode(errors="replace")

    def _ended(self, code: int | None) -> int | None:
        if code is not None and self._out >= 0:
            os.close(self._out)
            self._out = -1
        return super()._ended(code)


def _bot_env(root: str, database: Path | str, token: str, extra: dict[str, str]) -> dict[str, str]:
    # no background warm-up (AFTERCARE_WARM_UP; tests/test_warm_up.py is about it) unless
    # `extra` asks for it: an exec'd bot paid about 1.4 s of CPU for it, and a forked one
    # finds everything built already (tests/zygote.py `_load_advisor`)
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(TELEGRAM_BOT_TOKEN=token, AFTERCARE_BOT_API_URL=f"{root}/bot",
               AFTERCARE_DATABASE_URL=url, AFTERCARE_TIMEZONE="UTC", AFTERCARE_HTTP_PORT="0",
               PYTHONPATH=str(REPO_ROOT), AFTERCARE_WARM_UP="false")
    env.update(extra)
    return env


def start_bot(root: str, database: Path | str, workdir: Path, *, token: str = TOKEN,
              stdout: int = subprocess.PIPE, **extra: str) -> BotProcess:
    """`aftercare run` (bot.cli.main's console(), as ``python -m bot.cli.main run`` runs it)
    against the fake server at `root`, forked from the fork server (see the module's
    docstring).

    `database` is a SQLite file or a database URL; `extra` adds or overrides environment
    variables (the ops HTTP port is off unless AFTERCARE_HTTP_PORT is given).
    """
    env = _bot_env(root, database, token, extra)
    server = _fork_server("bot", env)
    if server is None:
        return start_fresh_bot(root, database, workdir, token=token, stdout=stdout, **extra)
    proc = ForkedBot(server, ["run"], workdir=workdir, stdout=stdout, env=env)
    _BOTS.append(proc)
    return proc


def start_fresh_bot(root: str, database: Path | str, workdir: Path, *, token: str = TOKEN,
                    stdout: int = subprocess.PIPE, **extra: str) -> BotProcess:
    """`start_bot`, but a new Python exec'd for the bot: for tests of start-up itself."""
    proc = BotProcess([sys.executable, "-c", _RUN, "run"], workdir=workdir,
                      env=_bot_env(root, database, token, extra), stdout=stdout)
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
        await self._held("wait_settled", lambda idle: idle == 0,
                         "the fake to answer every call in flight", timeout)

    async def sent(self) -> list[dict[str, Any]]:
        """Messages the bot sent to the patient's chat."""
        return list(await self.get("sent_messages", chat_id=self.user))

    async def wait_sent(self, n: int, timeout: float = HANG) -> list[dict[str, Any]]:
        """Wait for the n-th message to the patient (the bound is on a hang: a loaded
        machine may take a while to start `aftercare run`): a long poll at the fake, which
        answers as the message is recorded."""
        return list(await self._held("wait_sent", lambda sent: len(sent) >= n,
                                     f"message {n} to the patient", timeout,
                                     chat_id=self.user, n=n))

    async def until(self, predicate: Callable[[], Awaitable[Any]], what: str,
                    timeout: float = HANG) -> Any:
        """`until` for a predicate over the fake's own records (what was sent, pending,
        faults left): looked at again whenever something changes at the fake (a long poll
        on its count of changes), not every so often. A predicate that also reads state
        elsewhere (a database, another process's endpoint) is for the plain `until`."""
        deadline = time.monotonic() + timeout
        version = await self.get("changed", since=-1)
        while True:
            _check_bots()
            value = await predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            version = await self.get("changed", since=version, timeout=min(1.0, remaining))

    async def _held(self, route: str, enough: Callable[[Any], bool], what: str,
                    timeout: float, **query: Any) -> Any:
        """Ask the long-poll `route` until its answer is `enough`; each poll is held at most
        a second, so a bot that crashed meanwhile fails the wait at once (`_check_bots`)."""
        deadline = time.monotonic() + timeout
        while True:
            _check_bots()
            remaining = deadline - time.monotonic()
            answer = await self.get(route, timeout=max(0.0, min(1.0, remaining)), **query)
            if enough(answer):
                return answer
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")

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
