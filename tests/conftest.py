"""Shared pytest fixtures: storage databases (SQLite and PostgreSQL) and others."""


# --- storage fixtures (database_url, empty_database_url, repo) -------------------------------
# Every storage-backed test runs on SQLite (file in tmp_path) and PostgreSQL at 127.0.0.1:5432.
# `database_url` is migrated: a copy of this process's migrated SQLite template, or this
# process's migrated PostgreSQL schema emptied to what a fresh migration leaves (see
# tests/databases.py). `empty_database_url` is a new file or a fresh schema, never migrated.
# The fixtures below that open a migrated database (`repo`, `backend`, `compose`) open it with
# ``migrate=False``: it is at head already, and Alembic's no-op upgrade (a new engine and a
# connection to read the revision) costs tens of CPU milliseconds per test, hundreds of tests.
# That an upgrade of a migrated database changes nothing is tested in tests/test_storage.py.
import gc as _gc
import os as _os
import secrets as _secrets
import threading as _threading
import time as _time
from collections.abc import AsyncIterator as _AsyncIterator
from collections.abc import Iterator as _Iterator
from pathlib import Path as _Path
from typing import Any as _Any

import pytest as _pytest

from tests.holders import freeze as _freeze
from tests.stores import Stores

_PG_URLS = (
    [_os.environ["AFTERCARE_TEST_PG_URL"]]
    if _os.environ.get("AFTERCARE_TEST_PG_URL")
    else [
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        "postgresql+asyncpg://root@127.0.0.1:5432/test",
    ]
)
_pg_state: dict[str, str] = {}  # "url" once a login worked, "error" once all failed


def _unavailable(reason: str) -> None:
    """No PostgreSQL: skip the test, but fail it under CI (CI=true must test both backends)."""
    if _os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        _pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run)", pytrace=False)
    _pytest.skip(reason)


async def _pg_connect() -> tuple[_Any, str]:
    """An asyncpg admin connection and the SQLAlchemy URL that worked (skips if none does;
    fails under CI)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    if "error" in _pg_state:
        _unavailable(_pg_state["error"])
    errors = []
    for url in [_pg_state["url"]] if "url" in _pg_state else _PG_URLS:
        u = make_url(url)
        try:
            conn = await asyncpg.connect(
                host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                database=u.database, timeout=3,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            errors.append(f"{u.username}: {type(exc).__name__}: {exc}")
            continue
        _pg_state["url"] = url
        return conn, url
    where = f"{u.host}:{u.port or 5432}"
    _pg_state["error"] = f"PostgreSQL at {where} unreachable: " + "; ".join(errors)
    _unavailable(_pg_state["error"])
    raise AssertionError("unreachable")  # _unavailable always raises


async def postgres_schema_url() -> _AsyncIterator[str]:
    """A URL to a fresh PostgreSQL schema (via ?search_path), dropped afterwards."""
    conn, url = await _pg_connect()
    schema = f"aftercare_test_{_secrets.token_hex(6)}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}?search_path={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


@_pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: _pytest.FixtureRequest,
                             tmp_path: _Path) -> _AsyncIterator[str]:
    """A URL to an empty, never migrated database: SQLite file, or a fresh PostgreSQL schema
    (via ?search_path)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'aftercare.db'}"
        return
    async for url in postgres_schema_url():
        yield url


@_pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: _pytest.FixtureRequest, tmp_path: _Path) -> _AsyncIterator[str]:
    """A URL to a migrated database holding only what the migrations insert: a SQLite file, or
    a PostgreSQL schema (via ?search_path) of this test process, emptied for each test."""
    from tests.databases import migrated_sqlite, reset_postgres_schema

    if request.param == "sqlite":
        yield migrated_sqlite(tmp_path / "aftercare.db")
        return
    conn, url = await _pg_connect()
    try:
        yield await reset_postgres_schema(conn, url)
    finally:
        await conn.close()


@_pytest.fixture(params=["sqlite", "postgresql", "memory"])
async def backend(request: _pytest.FixtureRequest, tmp_path: _Path) -> _AsyncIterator[_Any]:
    """The storage aggregates of one backend for the conformance tests (tests/twins.py): the
    SQL stores over a migrated SQLite file or PostgreSQL schema, or their in-memory twins;
    each with a `ManualClock` at `tests.twins.NOW`."""
    from storage.clock import ManualClock
    from storage.db import Database
    from tests.databases import connect_args, migrated_sqlite, reset_postgres_schema
    from tests.twins import NOW, memory_backend, sql_backend

    clock = ManualClock(NOW)
    if request.param == "memory":
        yield memory_backend(clock)
        return
    conn = None
    if request.param == "sqlite":
        url = migrated_sqlite(tmp_path / "twins.db")
    else:
        conn, admin = await _pg_connect()
        url = await reset_postgres_schema(conn, admin)
    db = await Database.connect(url, migrate=False, connect_args=connect_args(url))
    try:
        yield sql_backend(request.param, db, clock)
    finally:
        await db.close()
        if conn is not None:
            await conn.close()


def pytest_sessionfinish(session: _Any) -> None:
    """Remove this process's migrated templates (tests/databases.py)."""
    from tests.databases import drop_postgres_schemas, remove_sqlite_template

    remove_sqlite_template()
    drop_postgres_schemas(_pg_connect)


@_pytest.fixture
async def repo(database_url: str) -> _AsyncIterator[_Any]:
    """A `tests.stores.Stores` over a freshly migrated database (both backends)."""
    from storage.db import Database
    from tests.databases import connect_args

    db = await Database.connect(database_url, migrate=False,
                                connect_args=connect_args(database_url))
    try:
        yield Stores.over(db)
    finally:
        await db.close()


# --- fake Telegram Bot API (fake_telegram) ----------------------------------------------------
# A started tests.fake_telegram.FakeTelegram on a free 127.0.0.1 port. The test fails at
# teardown if any request violated the Bot API spec; tests that send bad requests on purpose
# call `fake_telegram.violations.clear()`.
@_pytest.fixture
async def fake_telegram() -> _AsyncIterator[_Any]:
    """A running fake Telegram server; use `fake_telegram.base_url` as the bot's base_url."""
    from tests.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    if fake.violations:
        _pytest.fail(
            "fake Telegram saw requests real Telegram would refuse:\n"
            + "\n".join(f"  - {v}" for v in fake.violations)
        )


# --- the fake Bot API server as its own process (fake_server) ---------------------------------
@_pytest.fixture
def fake_server() -> _Iterator[str]:
    """A standalone fake Bot API server process (like Telegram); yields its root URL."""
    from tests.processes import start_fake_server

    proc, root = start_fake_server()
    try:
        yield root
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the running bot against the in-process fake server (advisor, bot) -------------------------
@_pytest.fixture(scope="session")
def advisor() -> _Any:
    """The shipped knowledge base, triage and texts, for "Glow Clinic" (loaded once per test
    process: an `Advisor` is not changed by use; a reload builds a new one)."""
    from tests.advisors import shipped
    from tests.bot_harness import CLINIC

    return shipped(CLINIC)


@_pytest.fixture
async def bot(fake_telegram: _Any, tmp_path: _Path, advisor: _Any) -> _AsyncIterator[_Any]:
    """A `tests.bot_harness.BotHarness` over the real Application (see that module)."""
    from tests.bot_harness import running_bot

    async for harness in running_bot(fake_telegram, tmp_path, advisor):
        yield harness


# --- services built by the composition root (compose) ------------------------------------------
@_pytest.fixture
async def compose(advisor: _Any, tmp_path: _Path) -> _AsyncIterator[_Any]:
    """A factory: ``await compose(settings, clock, url=..., **keywords)`` returns the
    `bot.compose.Services` that `build_services` makes over a migrated database (a new SQLite
    file copied from the migrated template unless `url`, already migrated, e.g. the fixture
    `database_url`, is given; no check-in sender), with
    this module's `advisor` unless another is passed. ``url="memory"``: the same services
    over the in-memory twins (`build_memory_services`), no database at all. Every database
    opened is closed after the test."""
    from bot.compose import build_memory_services, build_services
    from storage.db import Database
    from tests.databases import connect_args, migrated_sqlite

    opened: list[_Any] = []
    built: list[_Any] = []

    async def make(settings: _Any, clock: _Any, url: str | None = None,
                   sender: _Any = None, **keywords: _Any) -> _Any:
        keywords.setdefault("advisor", advisor)
        if url == "memory":
            return build_memory_services(settings, sender, clock, **keywords)
        if url is None:
            url = migrated_sqlite(tmp_path / f"compose-{len(opened)}.db")
        db = await Database.connect(url, migrate=False, connect_args=connect_args(url))
        opened.append(db)
        services = build_services(settings, db, sender, clock, **keywords)
        built.append(services)
        return services

    try:
        yield make
    finally:
        # as the bot does at shutdown (bot/telegram/app.py): the message log's background
        # write ends before its database closes (else it opens a connection after the close,
        # one no one closes, whose thread then calls the closed event loop)
        for services in built:
            await services.patient.conversation.log.flush()
        for db in opened:
            await db.close()


@_pytest.fixture(autouse=True)
def _forget_started_bots() -> _Iterator[None]:
    """A bot one test started and left behind is never blamed on the next test's wait."""
    yield
    from tests.processes import _BOTS

    _BOTS.clear()


# --- aiosqlite connections left open -----------------------------------------------------------
# aiosqlite runs each connection on a thread of its own until the connection is closed. One a
# test left open (an engine not disposed, a pool dropped by `engine.dispose()` while its
# connections were in use) was closed by garbage collection during some later test; its thread
# then called the finished test's closed event loop ("Event loop is closed", a warning blamed on
# that later test). The test that leaves one fails instead, and so does one whose connection
# was still at work when its event loop closed (its thread ends with that error at once). A
# connection closed at teardown may still be ending its thread: that thread is waited for (a
# join, no sleep).
_AIOSQLITE_THREAD = "(_connection_worker_thread)"


def _aiosqlite_threads() -> set[_threading.Thread]:
    return {t for t in _threading.enumerate() if t.name.endswith(_AIOSQLITE_THREAD)}


@_pytest.fixture(autouse=True)
def _no_aiosqlite_connection_left() -> _Iterator[None]:
    """Fails the test if an aiosqlite connection it opened is still open after its teardown,
    or if a connection's thread failed (a connection still at work when the test's event loop
    closed: its thread ends with "Event loop is closed", so it is not left open)."""
    before = _aiosqlite_threads()
    failed: list[str] = []
    previous = _threading.excepthook

    def hook(args: _Any) -> None:
        if args.thread is not None and args.thread.name.endswith(_AIOSQLITE_THREAD):
            failed.append(f"{args.exc_type.__name__}: {args.exc_value}")
        previous(args)

    _threading.excepthook = hook
    try:
        yield
        new = _aiosqlite_threads() - before
        deadline = _time.monotonic() + 5
        for thread in new:
            thread.join(max(0.0, deadline - _time.monotonic()))
    finally:
        _threading.excepthook = previous
    left = [t for t in new if t.is_alive()]
    if left:
        _pytest.fail(f"{len(left)} aiosqlite connection(s) left open by this test: close "
                     "every Database, engine and dropped pool it opens", pytrace=False)
    if failed:
        _pytest.fail(f"an aiosqlite connection's thread failed ({'; '.join(failed)}): a "
                     "connection was still at work when the test's event loop closed (a "
                     "background task writing after its database closed?)", pytrace=False)


# --- the order of the run -----------------------------------------------------------------------
# Modules whose tests wait on real processes (`aftercare run`, the fake Bot API server), a
# browser, a throwaway PostgreSQL or a slow fake Telegram (seconds each, mostly waiting) run
# first, the longest first. `make test` hands tests to the pytest-xdist workers one at a time
# (--dist loadgroup), so these overlap with the thousands of sub-second tests instead of
# ending the run on one busy worker while the others have nothing left. Only the order
# changes; every other module keeps pytest's order. The tests of the triage tables (group
# "triage": every triage pattern compiled once, in one worker) are first of all: the longest
# unit a worker is handed, and all CPU, beside processes that mostly wait.
_LONG_FIRST = (
    "test_triage_classes",
    "test_checkin_kill", "test_replicas", "test_polling_failover", "test_staff_outbox_e2e",
    "test_bot_restart", "test_ops", "test_docker", "test_web_demo", "test_alert_outbox_e2e",
    "test_web_browser", "test_startup", "test_fair_handling", "test_demo", "test_checkin_run",
    "test_privacy_e2e", "test_outage", "test_web_desk", "test_erasure_routing",
)
# Before those, the tests that search the whole memory of their process for a patient's words
# (tests/holders.py, after /delete): a search walks every object the process holds, so it
# costs least at the start of a worker, before the other tests have grown its heap (about 1 s
# of CPU a test there, up to 2-3 s late in a run).
_SEARCH_FIRST = (
    "tests/test_conversation.py::test_delete_leaves_none_of_the_patients_words_in_memory",
    "tests/test_erasure_replicas.py::", "tests/test_holders.py::",
)


def pytest_collection_modifyitems(config: _pytest.Config, items: list[_pytest.Item]) -> None:
    """The tests of `_SEARCH_FIRST`, then the modules of `_LONG_FIRST` first, in that order
    (a stable sort); under --dist loadgroup, the tests marked ``xdist_group`` go to one worker
    together."""
    rank = {name: place for place, name in enumerate(_LONG_FIRST)}

    def place(item: _pytest.Item) -> int:
        if item.nodeid.startswith(_SEARCH_FIRST):
            return -1
        return rank.get(item.path.stem, len(rank))

    items.sort(key=place)
    if getattr(config.option, "loadgroup", False):
        for item in items:
            _join_group(item)


# pytest-xdist (3.8) groups the tests of an ``xdist_group`` mark by appending "@group" to each
# test's id in the worker, through `item._nodeid`; pytest 9 keeps the id in `item._id`, so the
# mark did nothing and every test was sent on its own. This does what pytest-xdist means to
# (tests/test_web_browser.py shares one Chromium among the tests of its group).
def _join_group(item: _pytest.Item) -> None:
    groups = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                     for mark in item.iter_markers("xdist_group")})
    if not groups or item.nodeid.rfind("@") > item.nodeid.rfind("]"):
        return  # no group, or pytest-xdist named it already
    nodeid = f"{item.nodeid}@{'_'.join(groups)}"
    if hasattr(item, "_id"):
        try:
            from _pytest.nodeid import coerce_node_id
        except ImportError:  # another pytest: no groups (each grouped module still works
            return  # alone in every worker it lands on, only slower)
        item._id = coerce_node_id(nodeid)
    else:
        item._nodeid = nodeid  # type: ignore[attr-defined]  # pytest 8


# --- garbage collection in the test processes ---------------------------------------------------
# A test process builds a large heap that lives as long as it does (the modules, knowledge
# bases, advisors, SQLAlchemy's and python-telegram-bot's classes), and CPython's collector
# scanned it again and again: about a sixth of a test process's CPU. Young collections run
# every 10,000 net allocations instead of every 700, and what exists once the tests are
# collected is frozen (never scanned again). Only when cyclic garbage is freed changes.
def pytest_configure(config: _pytest.Config) -> None:
    _gc.set_threshold(10_000, 10, 10)
    if _has_workers(config):
        from tests.precompile import precompile

        precompile(config)  # before the fork servers' thread starts
    _share_sqlite_template(config)
    _share_fork_servers(config)


def _has_workers(config: _pytest.Config) -> bool:
    """True in a pytest-xdist controller that starts workers."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return False
    return getattr(config.option, "dist", "no") != "no"


# --- one migrated SQLite template for all pytest-xdist workers (tests/databases.py) ------------
def _share_sqlite_template(config: _pytest.Config) -> None:
    if not _has_workers(config):
        return  # a worker, or no workers: each pytest process migrates its own
    import shutil
    import tempfile

    from tests.databases import SHARED

    folder = tempfile.mkdtemp(prefix="aftercare-template-")
    _os.environ[SHARED] = folder  # before the workers start

    def remove() -> None:
        _os.environ.pop(SHARED, None)
        shutil.rmtree(folder, ignore_errors=True)

    config.add_cleanup(remove)


# --- one fork server of each kind for all pytest-xdist workers ----------------------------------
# The workers' bots and fake Bot API servers are forked from servers the controller starts on a
# worker's first request and stops, and waits for, when the run ends (tests/zygote.py
# `Launcher`; tests/processes.py `_fork_server` asks it): each worker started its own before,
# about 2 s of CPU each.
def _share_fork_servers(config: _pytest.Config) -> None:
    if not _has_workers(config):
        return  # a worker, or no workers: each pytest process has servers of its own
    from tests.zygote import Launcher

    launcher = Launcher()
    _os.environ[Launcher.VARIABLE] = launcher.address  # before the workers start

    def close() -> None:
        _os.environ.pop(Launcher.VARIABLE, None)
        launcher.close()

    config.add_cleanup(close)


def pytest_collection_finish(session: _pytest.Session) -> None:
    _freeze()  # (gc.freeze, listing what it froze for tests/holders.py)
