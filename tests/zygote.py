"""A fork server for the tests' `aftercare run` processes (tests/processes.py `start_bot`).

One per pytest process, started on its first bot: it imports the modules an `aftercare run`
imports (about 1 s of CPU that every exec'd bot paid again) and loads the packaged advisor once
(`_load_advisor`: most of the 1 s more a bot's `Advisor.load` took), then forks one child per
bot. The
child is a separate OS process like an exec'd bot: it takes the bot's environment, working
folder, stdout and stderr, closes every other file, and runs the same entry point with the
same arguments (`bot.cli.main.console()`, ``sys.argv == ['aftercare', 'run', ...]``); signals
reach it directly (its pid is the bot's), and its exit status is the bot's.

The server never runs a thread (it checks before serving), so a fork copies a whole,
consistent interpreter. Nothing it imports reads the bot's configuration (bot/config.py
reads it when `aftercare run` asks for it); what an import writes into the environment
(bot/telegram sets ``PTB_TIMEDELTA`` when not set) is written into each child's environment
the same way.

Protocol, one JSON object a line: requests on the file descriptor given as the first argument
(``{"args", "env", "cwd", "stdout", "stderr"}``: stdout and stderr a file to write, or null
to keep the server's, which are the pytest process's as an exec'd bot's would be); replies on
the second: ``{"ready": true}`` once imported, ``{"pid": N}`` per request, and ``{"exit": N,
"code": C}`` when child N ended (C as `subprocess.Popen.returncode`: -signal when killed). At
the end of the requests it kills the children still running, reaps them and exits, so their
CPU time is counted in its own, and the pytest process's, once it is waited for.
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
import sys
import threading
from typing import Any

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
    care plan from them."""
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
    load_careplan(None, advisor.kb)
    for texts in (PACKAGED_MESSAGES, CLI_TEXTS, OPS_TEXTS, CONFIG_TEXTS, SCHEDULER_TEXTS,
                  WEB_TEXTS):
        Catalogue.load(texts)


def _write(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def _serve(requests: int, replies: int) -> dict[str, Any] | None:
    """Fork a child per request and report children's ends until the requests end (then
    None); in a child, return its request."""
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(requests, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    pending = b""

    def reap() -> None:
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            children.discard(pid)
            _write(replies, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    _write(replies, {"ready": True})
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                reap()
                continue
            chunk = os.read(requests, 65536)
            if not chunk:  # the pytest process is done (or gone): no bot outlives it
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
                while children:
                    pid, status = os.waitpid(-1, 0)
                    children.discard(pid)
                return None
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # the bot: none of the server's signal handling or files
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    return dict(request)
                children.add(pid)
                _write(replies, {"pid": pid})
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
    """``python -c 'from tests.zygote import main; main()' REQUESTS REPLIES KIND``."""
    requests, replies, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    added = _preload(kind)
    request = _serve(requests, replies)
    if request is None:
        return
    if kind == "bot":
        _become(request, added, "aftercare")
        from bot.cli.main import console

        console()
    import tests.fake_telegram.__main__ as fake

    _become(request, added, str(fake.__file__))  # sys.argv[0] of ``python -m``
    fake.main()
