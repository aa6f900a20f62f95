"""Engines and session factories (no knowledge of migrations or repositories).

URLs: ``sqlite+aiosqlite:///relative.db``, ``sqlite+aiosqlite:////abs/path.db`` or
``postgresql+asyncpg://user@host:5432/db``. A PostgreSQL URL may carry
``?search_path=schema`` to place every table in that schema (used by tests, also
handy to share one database between deployments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage.context_cache import CACHE_KEY, PatientContextCache, TrackedSession


def is_sqlite(url: str | URL) -> bool:
    """True when the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def is_memory_sqlite(url: str | URL) -> bool:
    """True for an in-memory SQLite URL (a database that lives only as long as its engine)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _split_search_path(url: URL, connect_args: dict[str, Any]) -> URL:
    """Move a ``search_path`` query parameter of a PostgreSQL URL into asyncpg server settings."""
    search_path = url.query.get("search_path")
    if search_path is None or url.get_backend_name() != "postgresql":
        return url
    settings = dict(connect_args.get("server_settings", {}))
    settings["search_path"] = str(search_path)
    connect_args["server_settings"] = settings
    return url.difference_update_query(["search_path"])


def _enable_sqlite_pragmas(engine: AsyncEngine, foreign_keys: bool) -> None:
    """Turn on foreign keys (needed for ON DELETE CASCADE), WAL journalling and secure_delete
    per connection. secure_delete: what a DELETE frees (a row's bytes in its page, pages left
    empty) is overwritten with zeros, so an erased patient's words do not stay readable in the
    file (many builds, Debian's among them, have it on by default; others do not); after an
    erasure the write-ahead log is emptied as well (`storage.results.empty_wal`)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def make_engine(
    url: str | URL,
    *,
    connect_args: Mapping[str, Any] | None = None,
    sqlite_foreign_keys: bool = True,
) -> AsyncEngine:
    """Create an async engine.

    SQLite gets foreign keys, WAL and secure_delete, PostgreSQL an optional search_path.
    """
    args: dict[str, Any] = dict(connect_args or {})
    parsed = _split_search_path(make_url(url), args)
    # hide_parameters: a failed statement's error and log line never carry a patient's words
    engine = create_async_engine(parsed, connect_args=args, pool_pre_ping=not is_sqlite(parsed),
                                 hide_parameters=True)
    if is_sqlite(parsed):
        _enable_sqlite_pragmas(engine, sqlite_foreign_keys)
    return engine


def make_sessionmaker(
    engine: AsyncEngine, cache: PatientContextCache | None = None
) -> async_sessionmaker[AsyncSession]:
    """Session factory whose objects stay readable after commit. With a ``cache``, commits
    that change patients or sessions empty it (see storage/context_cache.py)."""
    info = {CACHE_KEY: cache} if cache is not None else {}
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TrackedSession,
                              info=info)


__all__ = ["is_memory_sqlite", "is_sqlite", "make_engine", "make_sessionmaker"]
