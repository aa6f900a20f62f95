"""A fork server for the tests' `aftercare run` processes (tests/processes.py `start_bot`).

One per test run, started on the first bot (`Launcher`, below: the pytest-xdist controller
starts it for all its workers; a pytest process without workers starts its own): it imports
the modules an `aftercare run` imports (about 1 s of CPU that every exec'd bot paid again) and
reads the packaged data files once (`_load_advisor`: most of the 1 s more a bot's start took),
then forks one child per bot. The child is a separate OS process like an exec'd bot: it takes
the bot's environment, working folder, stdout and stderr, closes every other file, and runs
the same entry point with the same arguments (`bot.cli.main.console()`,
``sys.argv == ['aftercare', 'run', ...]``); signals reach it directly (its pid is the bot's),
and its exit status is the bot's.

The server never runs a thread (it checks before serving), so a fork copies a whole,
consistent interpreter. Nothing it imports reads the bot's configuration (bot/config.py
reads it when `aftercare run` asks for it); what an import writes into the environment
(bot/telegram sets ``PTB_TIMEDELTA`` when not set) is written into each child's environment
the same way.

Protocol, one JSON object a line, on a Unix socket the server listens on (the first argument;
each pytest process connects once): requests ``{"args", "env", "cwd", "stdout", "stderr"}``
(stdout and stderr a file to write, or null to keep the server's); replies ``{"pid": N}`` per
request, and ``{"exit": N, "code": C}`` when that client's child N ended (C as
`subprocess.Popen.returncode`: -signal when killed). When a client's connection ends (its
pytest process is done, or gone), the children it started and left running are killed. The
second argument is one end of a socket pair held by the process that started the server (its
owner): ``{"ready": true}`` is written there once imported, and when the owner closes it the
server kills the children still running, reaps them and exits, so their CPU time is counted
in its own, and the owner's, once it is waited for (`stop`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# A folder to write each child's CPU to when it is reaped (tests/cpu_profile.py, opt-in: a
# forked bot is the server's child, so no test process's getrusage counts it).
CPU_PROFILE = "TESTS_CPU_PROFILE"

# What `aftercare run` imports to answer /start and a message (`bot.cli.main` and the
# modules its `run` reaches, the HTTP client's stack, fastText's module but not its model):
# 1,190 modules with the third-party ones (SQLAlchemy, python-telegram-bot, pydantic, httpx,
# tornado, apscheduler, ...).
BOT = (
    "bot.cli.main", "bot.cli.commands", "bot.cli.checkins", "bot.cli.desk", "bot.cli.sessions",
    "bot.cli.settings", "bot.cli.staff", "bot.config", "bot.compose", "bot.datafiles",
    "bot.ops.http", "bot.ops.logs", "bot.ops.startup", "bot.telegram.app",
    "bot.telegram.kb_reload", "bot.telegram.polling.elected", "bot.telegram.polling.poller",
    "knowledge.advisor", "knowledge.triage", "knowledge.multilingual", "scheduler.guard",
    "scheduler.service", "storage", "storage.advisory_locks", "storage.engine", "aiosqlite",
    "apscheduler.triggers.interval", "anyio._backends._asyncio", "certifi", "english_words",
    "fasttext", "h11", "httpcore", "sniffio",
)
# The fake Bot API server (``python -m tests.fake_telegram``): aiohttp and the fake.
FAKE = ("tests.fake_telegram.__main__",)


def _preload(kind: str) -> dict[str, str]:
    """Import the modules of `kind` ("bot": BOT, "fake": FAKE) as the exec'd process would
    (a bot as tests/processes.py `_RUN` starts it: trio hidden, console()'s collector
    thresholds); the environment variables the imports added."""
    if kind == "bot":
        sys.modules["trio"] = None  # type: ignore[assignment]
        gc.set_threshold(10_000, 10, 10)
    before = dict(os.environ)
    for name in BOT if kind == "bot" else FAKE:
        importlib.import_module(name)
    if kind == "bot":
        _load_advisor()
    threads = len(os.listdir("/proc/self/task"))
    if threading.active_count() != 1 or threads != 1:
        raise RuntimeError(f"the imports started threads ({threads}): no fork from here")
    if logging.getLogger().handlers:
        raise RuntimeError("the imports configured logging: a child would not")
    gc.collect()
    gc.freeze()  # the imported modules are never garbage: no child's collector walks them
    return {key: value for key, value in os.environ.items() if key not in before}


def _load_advisor() -> None:
    """Read the packaged data files as an `aftercare run` with no data-file settings does at
    start (bot/telegram/app.py `serve`: `Advisor.load` with the default second detector and
    every language file, the care plan, the text catalogues). What that parses, a process
    parses once for the same file and text (the triage rules, the scope guard, the n-gram
    detector, the language packs, the knowledge base's collisions, each data file's YAML:
    `knowledge.triage.parser._parsed`, `knowledge.guards._parse_scope`,
    `knowledge.detectors._banked`, `knowledge.multilingual.loading.read_pack`,
    `knowledge.collisions._collisions`, `knowledge.yamlfile.parse_yaml`), so a child's own
    start over the packaged files takes them from here (about 0.8 of its 1 s of CPU for the
    advisor, and 0.1 s more for the rest), and a bot whose test gave it other files reads
    those as before. The child still builds its own advisor, knowledge base, catalogues and
    care plan from them. The advisor is warmed up here too (`Advisor.warm_up`, in the same
    shared objects), so a child's background warm-up finds everything built."""
    from bot.cli.texts import TEXTS as CLI_TEXTS
    from bot.config import TEXTS as CONFIG_TEXTS
    from bot.core.messages import PACKAGED_MESSAGES
    from bot.datafiles import WEB_TEXTS
    from bot.ops.texts import TEXTS as OPS_TEXTS
    from knowledge.advisor import Advisor
    from knowledge.catalogue import Catalogue
    from scheduler.careplan import load_careplan
    from scheduler.texts import TEXTS as SCHEDULER_TEXTS

    advisor = Advisor.load()
    if advisor.languages is not None:
        advisor.languages.load_all()
    # what a bot's background warm-up builds (bot/warmup.py: every triage pattern compiled,
    # about 1.5 s of CPU), built once here for every bot (the objects are shared as above)
    advisor.warm_up()
    load_careplan(None, advisor.kb)
    for texts in (PACKAGED_MESSAGES, CLI_TEXTS, OPS_TEXTS, CONFIG_TEXTS, SCHEDULER_TEXTS,
                  WEB_TEXTS):
        Catalogue.load(texts)


def _record_forked(pid: int, usage: Any) -> None:
    """Child `pid` ended having used `usage` (`os.wait4`): one line in the CPU profile."""
    with open(Path(os.environ[CPU_PROFILE]) / f"forked-{os.getpid()}.jsonl", "a",
              encoding="utf-8") as out:
        out.write(json.dumps({"pid": pid, "cpu": usage.ru_utime + usage.ru_stime}) + "\n")


def _tell(client: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # a client gone meanwhile: nobody to tell
        client.sendall((json.dumps(message) + "\n").encode())


def _serve(listener: socket.socket, owner: socket.socket) -> dict[str, Any] | None:
    """Fork a child per request of each client and report each child's end to the client
    that asked for it, until the owner closes its end (then None); in a child, return its
    request."""
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(owner, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}  # pid -> the client that asked for it
    profiled = bool(os.environ.get(CPU_PROFILE))  # (tests/cpu_profile.py, opt-in)
    pending: dict[socket.socket, bytes] = {}  # each connected client's unfinished line

    def reap() -> None:
        while children:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                return
            if profiled:
                _record_forked(pid, usage)
            client = children.pop(pid)
            if client in pending:
                _tell(client, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def drop(client: socket.socket) -> None:
        """The client's pytest process is done (or gone): none of its children outlives it."""
        selector.unregister(client)
        del pending[client]
        client.close()
        for pid, asked_by in children.items():
            if asked_by is client:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    _tell(owner, {"ready": True})
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                reap()
                continue
            if key.fileobj is listener:
                client, _ = listener.accept()
                pending[client] = b""
                selector.register(client, selectors.EVENT_READ, client)
                continue
            if key.fileobj is owner:
                if owner.recv(512):
                    continue
                for pid in children:  # the run is over: no child outlives it
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                while children:
                    pid, _, usage = os.wait4(-1, 0)
                    children.pop(pid, None)
                    if profiled:
                        _record_forked(pid, usage)
                return None
            client = key.data  # (registered with itself as its data)
            chunk = client.recv(65536)
            if not chunk:
                drop(client)
                continue
            pending[client] += chunk
            while b"\n" in pending[client]:
                line, pending[client] = pending[client].split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # the bot: none of the server's signal handling or files
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    for held in (listener, owner, *pending):  # their files are closed with
                        held.detach()  # the others (_become), never later by these objects
                    return dict(request)
                children[pid] = client
                _tell(client, {"pid": pid})
            reap()  # a child that ended before its pid was written is reported after it


def _become(request: dict[str, Any], added: dict[str, str], program: str) -> None:
    """Take the bot's working folder, environment, output files and arguments; close every
    other file (as `subprocess.Popen`'s close_fds does)."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in added.items():
        os.environ.setdefault(key, value)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        if path is not None:
            opened = os.open(path, os.O_WRONLY)
            os.dup2(opened, fd)
            os.close(opened)
    for name in os.listdir("/proc/self/fd"):
        if int(name) > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor, closed already
                os.close(int(name))
    sys.argv = [program, *request["args"]]


def main() -> None:
    """``python -c 'from tests.zygote import main; main()' SOCKET OWNER KIND``."""
    path, owner, kind = sys.argv[1], socket.socket(fileno=int(sys.argv[2])), sys.argv[3]
    added = _preload(kind)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    request = _serve(listener, owner)
    if request is None:
        return
    if kind == "bot":
        _become(request, added, "aftercare")
        from bot.cli.main import console

        console()
    import tests.fake_telegram.__main__ as fake

    _become(request, added, str(fake.__file__))  # sys.argv[0] of ``python -m``
    fake.main()


# --- starting a server, and the run's servers -------------------------------------------------
def server_env(env: dict[str, str]) -> dict[str, str]:
    """What of a child's environment a server must share for the child to be forked from it:
    all but the bot's own settings (``AFTERCARE_*``, ``TELEGRAM_BOT_TOKEN``) and pytest's
    names of the test running and of the worker (``PYTEST_CURRENT_TEST``,
    ``PYTEST_XDIST_*``), which no import reads."""
    return {key: value for key, value in env.items()
            if not key.startswith(("AFTERCARE_", "PYTEST_XDIST_"))
            and key not in ("TELEGRAM_BOT_TOKEN", "PYTEST_CURRENT_TEST")}


@dataclass
class Server:
    """A started fork server: its process, the owner's end of its socket pair, the path it
    listens on, and the environment it was started with."""

    proc: subprocess.Popen[bytes]
    owner: socket.socket
    path: str
    env: dict[str, str]


def start(kind: str, env: dict[str, str], folder: str) -> Server:
    """A fork server of `kind` ("bot" or "fake") with environment `env`, listening in
    `folder`, ready (imported and loaded) when this returns."""
    path = os.path.join(folder, f"{kind}.sock")
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tests.zygote import main; main()", path,
         str(theirs.fileno()), kind], cwd=REPO_ROOT, env=env, pass_fds=(theirs.fileno(),))
    theirs.close()
    line = b""
    while not line.endswith(b"\n"):
        chunk = ours.recv(512)
        if not chunk:
            break
        line += chunk
    if json.loads(line or b"{}").get("ready") is not True:
        ours.close()
        proc.wait()
        raise RuntimeError("the fork server (tests/zygote.py) did not start")
    return Server(proc, ours, path, dict(env))


def stop(server: Server) -> None:
    """End the server: it kills the children still running (none, after a clean test run),
    reaps them and exits; waiting for it counts their CPU time as this process's."""
    server.owner.close()
    server.proc.wait(timeout=60)


class Launcher:
    """The fork servers of a pytest-xdist run, started by the controller on a worker's first
    request for one (tests/conftest.py), shared by all the workers, and stopped, and waited
    for, when the run ends (`close`): each worker paid about 2 s of CPU for servers of its own.

    Its address is put in ``AFTERCARE_TESTS_FORK_SERVERS`` before the workers start; a
    worker sends ``{"kind", "env"}``, one line (the kind it needs and, should it be the first
    to ask, the environment to start it with: its child's, `server_env`), and gets
    ``{"path", "env"}`` back: where that server listens and the environment it runs with
    (tests/processes.py `_fork_server` forks a child there only when they match)."""

    VARIABLE = "AFTERCARE_TESTS_FORK_SERVERS"

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="aftercare-fork-servers-")
        self.address = os.path.join(self.folder, "launcher.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen(64)
        self._servers: dict[str, Server] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="fork-server-launcher",
                                        daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the run is over
                return
            with client:
                try:
                    asked = json.loads(client.makefile("rb").readline())
                    kind, env = str(asked["kind"]), dict(asked["env"])
                    with self._lock:
                        server = self._servers.get(kind)
                        if server is None:
                            server = self._servers[kind] = start(kind, env, self.folder)
                    reply: dict[str, Any] = {"path": server.path, "env": server.env}
                except Exception as exc:  # noqa: BLE001 - told to the worker, which execs
                    reply = {"error": f"{type(exc).__name__}: {exc}"}
                with contextlib.suppress(OSError):
                    client.sendall((json.dumps(reply) + "\n").encode())

    def close(self) -> None:
        """Stop accepting, then stop every server started (and wait for it)."""
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=10)
        with self._lock:
            for server in self._servers.values():
                stop(server)
            self._servers.clear()
        for name in os.listdir(self.folder):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.folder, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
