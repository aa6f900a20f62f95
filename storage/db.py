"""The `Database` handle the application keeps open: engine, session factory, migrations.

Engines and session factories are built in storage/engine.py (which storage/migrate.py uses
too, so the two do not import each other); the names are re-exported here. Whether a migration
is due is asked with a plain query (storage/revision.py); Alembic (storage/migrate.py) is
imported only when one is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.context_cache import PatientContextCache
from storage.engine import is_memory_sqlite, is_sqlite, make_engine, make_sessionmaker
from storage.revision import HEAD, engine_revision

log = logging.getLogger(__name__)


class Database:
    """The open database: engine plus session factory. Create with `Database.connect`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.patient_cache = PatientContextCache()
        self.sessions = make_sessionmaker(engine, self.patient_cache)

    @classmethod
    async def connect(
        cls,
        url: str,
        migrate: bool = True,
        *,
        connect_args: Mapping[str, Any] | None = None,
    ) -> Database:
        """Open the database at `url`; apply pending migrations first unless `migrate` is False."""
        engine = make_engine(url, connect_args=connect_args)
        if migrate:
            try:
                await _migrate(url, engine, connect_args)
            except Exception:
                await engine.dispose()
                raise
        log.info("database connected: %s", make_url(url).render_as_string(hide_password=True))
        return cls(engine)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _migrate(url: str, engine: AsyncEngine,
                   connect_args: Mapping[str, Any] | None) -> None:
    """Bring the database to this code's migration head, through Alembic unless it is there
    already (a new database, an older one, or one from a newer release: Alembic migrates the
    first two and refuses the third)."""
    if is_memory_sqlite(url):
        from storage.migrate import upgrade_engine

        await upgrade_engine(engine)  # a second engine would see another empty database
        return
    if await engine_revision(engine) == HEAD:
        log.info("database at revision %s", HEAD)
        return
    await engine.dispose()  # the migration opens its own engine: no idle connection of ours
    from storage.migrate import upgrade_database

    await upgrade_database(url, connect_args=connect_args)


__all__ = ["Database", "is_memory_sqlite", "is_sqlite", "make_engine", "make_sessionmaker"]
