"""Migrated test databases without migrating each time: a SQLite file copied from a template,
a PostgreSQL schema emptied between tests.

Running every Alembic migration costs a few tenths of a CPU second on SQLite and more on
PostgreSQL (where the server works too); the suite opens hundreds of databases on a 2-core
machine. Each test process (pytest-xdist worker) therefore migrates once:

- SQLite: one template file, migrated by ``storage.migrate``; `migrated_sqlite` copies it.
- PostgreSQL: one schema per process, migrated once; `reset_postgres_schema` empties every table
  (sequences restarted) and puts back the rows the migrations themselves insert, so each test
  sees what a fresh migration leaves. It deletes the rows (children before the tables their
  foreign keys point at) rather than TRUNCATE: a TRUNCATE of every table makes new files for
  each table and index and took 0.4 s a test; the deletes of a test's few rows take
  milliseconds.

The fixtures open these databases with ``Database.connect(url, migrate=False,
connect_args=connect_args(url))``: no (empty) upgrade, and on PostgreSQL
``synchronous_commit = off`` for the test's connections: a commit no longer waits for the
server to flush its write-ahead log to disk (about half of the time of a test that writes a
few hundred rows on this machine). Nothing a test sees changes: a commit is visible to every
other connection at once either way; only a crash of the server could lose the last commits.
The migrations themselves are tested on empty databases (tests/test_storage.py, fixture
``empty_database_url``) and by every ``aftercare run`` started on a new file.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

_sqlite_template: Path | None = None
_sqlite_lock = threading.Lock()


def _in_thread(coro: Any) -> None:
    """Run a coroutine to completion on its own loop in another thread (callers may be inside
    a running loop)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def sqlite_template() -> Path:
    """This process's migrated SQLite file (made on first use; never opened by a test): the
    run's one template when the pytest-xdist controller made a folder for it (`SHARED`)."""
    global _sqlite_template
    with _sqlite_lock:
        if _sqlite_template is None:
            shared = os.environ.get(SHARED)
            _sqlite_template = (_shared_template(Path(shared)) if shared else
                                _migrate(Path(tempfile.mkdtemp(prefix="aftercare-template-"))))
        return _sqlite_template


# The pytest-xdist controller makes a folder for its workers' one SQLite template and names it
# here before they start (tests/conftest.py); the first worker to need it migrates it, under a
# lock, and the others copy the same file: each worker migrated its own before, about 0.5 s of
# CPU each, the same migrations to the same file.
SHARED = "AFTERCARE_TESTS_SQLITE_TEMPLATE"


def _migrate(folder: Path) -> Path:
    from storage.migrate import upgrade_database  # (Alembic: not imported by the controller)

    path = folder / "template.db"
    _in_thread(upgrade_database(f"sqlite+aiosqlite:///{path}"))
    return path


def _shared_template(folder: Path) -> Path:
    with (folder / "template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "migrated"
        if not done.exists():
            for leftover in folder.glob("template.db*"):  # a migration that failed half-way
                leftover.unlink()
            _migrate(folder)
            done.touch()
    return folder / "template.db"


def connect_args(url: str) -> dict[str, Any] | None:
    """``Database.connect``'s `connect_args` for a test database at `url`: on PostgreSQL,
    commits that do not wait for the write-ahead log to reach the disk."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    return {"server_settings": {"synchronous_commit": "off"}}


def migrated_sqlite(path: Path) -> str:
    """Copy the migrated template to `path` (which must not exist yet); its SQLAlchemy URL."""
    if path.exists():
        raise FileExistsError(path)
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite+aiosqlite:///{path}"


async def columns_holding(engine: AsyncEngine, word: str) -> list[str]:
    """The columns ("table.column") of the rows that hold `word` (any case), once each: every
    column of every table of the database (its current schema on PostgreSQL), read as text."""
    found: dict[str, None] = {}
    word = word.lower()
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in sorted(tables):
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    shown = (bytes(value).decode(errors="replace")
                             if isinstance(value, bytes | bytearray | memoryview) else str(value))
                    if word in shown.lower():
                        found[f"{table}.{column}"] = None
    return list(found)


def sqlite_files_holding(url: str | URL, word: str) -> list[str]:
    """The files of the SQLite database at `url` (the file, its write-ahead log, shared
    memory index and rollback journal) whose bytes hold `word` (any case, UTF-8): deleted
    rows may stay in them; [] for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return []
    needle = word.lower().encode()
    return [path.name for path in (Path(parsed.database + suffix)
                                   for suffix in ("", "-wal", "-shm", "-journal"))
            if path.exists() and needle in path.read_bytes().lower()]


def remove_sqlite_template() -> None:
    """Remove this process's template (the run's shared one is the controller's to remove)."""
    if _sqlite_template is not None and not os.environ.get(SHARED):
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)


# --- PostgreSQL: one migrated schema per process -------------------------------------------
class _PgTemplate:
    """This process's migrated schema and the rows the migrations left in it."""

    def __init__(self, url: str, schema: str, tables: list[str], sequences: dict[str, int],
                 seeds: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
        self.url = url
        self.schema = schema
        self.tables = tables  # in an order to delete from: referencing tables first
        self.sequences = sequences  # name -> start value
        self.seeds = seeds


_pg: _PgTemplate | None = None
_pg_schemas: list[str] = []  # every schema this process made, dropped at the end


async def _tables(conn: Any, schema: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'",
        schema)
    return sorted(r["table_name"] for r in rows)


async def _deletion_order(conn: Any, schema: str, tables: list[str]) -> list[str]:
    """`tables` ordered so that each comes before every table its foreign keys point at."""
    rows = await conn.fetch(
        "SELECT child.relname AS child, parent.relname AS parent FROM pg_constraint c "
        "JOIN pg_class child ON child.oid = c.conrelid "
        "JOIN pg_class parent ON parent.oid = c.confrelid "
        "JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE c.contype = 'f' AND n.nspname = $1", schema)
    referenced_by: dict[str, set[str]] = {table: set() for table in tables}
    for row in rows:
        if row["child"] != row["parent"] and row["parent"] in referenced_by:
            referenced_by[row["parent"]].add(row["child"])
    order: list[str] = []
    while referenced_by:
        free = sorted(t for t, children in referenced_by.items() if not children - set(order))
        if not free:
            raise RuntimeError(f"foreign keys in a cycle: {sorted(referenced_by)}")
        order += free
        for table in free:
            del referenced_by[table]
    return order


async def _build_pg(conn: Any, url: str) -> _PgTemplate:
    schema = f"aftercare_test_{os.getpid()}_{secrets.token_hex(4)}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    _pg_schemas.append(schema)
    schema_url = f"{url}?search_path={schema}"
    from storage.migrate import upgrade_database

    await upgrade_database(schema_url)
    tables = await _deletion_order(conn, schema, await _tables(conn, schema))
    sequences = {r["sequencename"]: r["start_value"] for r in await conn.fetch(
        "SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = $1", schema)}
    seeds: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table in reversed(tables):  # put back in this order: referenced tables first
        rows = await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')
        if rows:
            seeds[table] = (list(rows[0].keys()), [tuple(r.values()) for r in rows])
    return _PgTemplate(url, schema, tables, sequences, seeds)


async def reset_postgres_schema(conn: Any, url: str) -> str:
    """A URL to this process's migrated schema, emptied to what a fresh migration leaves.

    `conn` is an admin asyncpg connection for `url`. If the schema cannot be emptied within a
    few seconds (a lock still held), a new one is migrated instead."""
    global _pg
    if _pg is None or _pg.url != url:
        _pg = await _build_pg(conn, url)
    template = _pg
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '5s'")
            await conn.execute("SET LOCAL synchronous_commit = off")
            schema = template.schema
            await conn.execute("; ".join(f'DELETE FROM "{schema}"."{t}"'
                                         for t in template.tables))
            if template.sequences:  # as RESTART IDENTITY would
                await conn.execute("SELECT " + ", ".join(
                    f"setval('\"{schema}\".\"{name}\"', {start}, false)"
                    for name, start in template.sequences.items()))
            for table, (columns, records) in template.seeds.items():
                await conn.copy_records_to_table(table, records=records, columns=columns,
                                                 schema_name=template.schema)
    except Exception:  # noqa: BLE001 - a lock still held: migrate a new schema instead
        _pg = template = await _build_pg(conn, url)
    return f"{url}?search_path={template.schema}"


async def _drop_pg(connect: Any) -> None:
    conn, _ = await connect()
    try:
        for schema in _pg_schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def drop_postgres_schemas(connect: Any) -> None:
    """Drop this process's schemas (at the end of the session; `connect` as in conftest)."""
    if _pg_schemas:
        asyncio.run(_drop_pg(connect))
