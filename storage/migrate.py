"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed).

`upgrade_database(url)` is what the application calls at start-up; the Alembic
configuration is built in code with the package's ``migrations`` folder, so it
works from any working directory and from an installed wheel. New revisions can
be generated with ``alembic.command.revision(make_config(url), autogenerate=True, message=...)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import make_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_config(url: str | None = None, connect_args: Mapping[str, Any] | None = None) -> Config:
    """Alembic config pointing at the packaged migrations; the URL travels in `attributes`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    config.attributes["connect_args"] = dict(connect_args or {})
    return config


def head_revision() -> str:
    """Newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(make_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade_database(url: str, *, connect_args: Mapping[str, Any] | None = None) -> None:
    """Apply every pending migration to the database at `url` (no-op when already at head).

    Alembic's command API is synchronous and ``env.py`` runs its own event loop, so
    the upgrade runs in a worker thread.
    """
    config = make_config(url, connect_args)
    await asyncio.to_thread(command.upgrade, config, "head")
    log.info("database at revision %s", head_revision())


async def upgrade_engine(engine: AsyncEngine) -> None:
    """Apply pending migrations through an existing engine (needed for in-memory SQLite)."""
    config = make_config()

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(
    url: str, *, connect_args: Mapping[str, Any] | None = None
) -> str | None:
    """Revision the database at `url` is at, or None when it was never migrated."""
    engine = make_engine(url, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_read_revision)
    finally:
        await engine.dispose()
