"""Whether the database answers, and at which migration: what /readyz asks (bot/ops/http.py
`Readiness`). Writes no table.

`DatabaseProbe` is the one question readiness asks; `SqlProbe` holds its SQL (a round trip
and the revision Alembic wrote, read by storage/revision.py without importing Alembic, over
the bot's engine); `MemoryProbe` is what the in-memory tables answer (bot/backends.py
`MemoryBackend`); `FixedProbe` is a stand-in the tests tell what the database answers (down,
or at another migration). bot/compose.py builds the backend's own (``Services.ops.probe``).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.revision import HEAD, read_revision


class DatabaseProbe(Protocol):
    """Asks the database whether it answers, and at which migration it is."""

    async def revision(self) -> str | None:
        """The migration revision the database is at (None: never migrated); raises when the
        database does not answer."""
        ...


class SqlProbe:
    """`DatabaseProbe` over the bot's engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def revision(self) -> str | None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            return await conn.run_sync(read_revision)


class MemoryProbe:
    """`DatabaseProbe` of the in-memory tables (storage/memory_tables.py), truthfully: they
    live in this process, so they answer whenever it does (never down), and their rows are
    this code's own dataclasses, with no migration to run or to lag behind, so they are at
    this code's head, always. /readyz over memory is ready once the other checks pass (the
    bot authorised, nothing spooled or unhandled); a database down or behind cannot happen."""

    async def revision(self) -> str | None:
        return HEAD


class DatabaseDown(ConnectionError):
    """`FixedProbe`'s answer while the database is said to be down."""


class FixedProbe:
    """The in-memory twin of `SqlProbe`: answers the revision it is given (default: this
    code's head), or raises `DatabaseDown` while `down` is set."""

    def __init__(self, revision: str | None = None, *, down: bool = False) -> None:
        self.at = revision if revision is not None else HEAD
        self.down = down

    async def revision(self) -> str | None:
        if self.down:
            raise DatabaseDown("the database is down")
        return self.at
