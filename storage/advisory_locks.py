"""One replica at a time inside a block, on PostgreSQL: a session-level advisory lock held on
a connection of its own (`registration_lock`). Writes no table.

``aftercare run`` and ``aftercare desk`` migrate under `migration_lock`, and webhook
registration runs under ``registration_lock(url, "webhook")`` (bot/telegram/app.py); on SQLite
(one process) both are no-ops. The lock's key is a hash of the block's name and the
database's ``search_path``, so replicas of different schemas on one server do not wait for
each other.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.engine import is_sqlite, make_engine


def lock_key(name: str, database_url: str) -> int:
    """A signed 64-bit advisory lock key for `name` in the database's schema."""
    search_path = make_url(database_url).query.get("search_path", "")
    digest = hashlib.sha256(f"aftercare-polling:{name}:{search_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """On PostgreSQL, let one replica at a time run the migrations (others wait for it)."""
    async with registration_lock(database_url, "migrations"):
        yield


@contextlib.asynccontextmanager
async def registration_lock(database_url: str, name: str) -> AsyncIterator[None]:
    """On PostgreSQL, one replica at a time inside (others wait): migrations, webhook
    registration. A no-op on SQLite (one process)."""
    if is_sqlite(database_url):
        yield
        return
    engine = make_engine(database_url)
    key = lock_key(name, database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()
    finally:
        await engine.dispose()
