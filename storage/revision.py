"""Which migration a database is at, and which one this code ships, without importing Alembic.

Every start of the bot opens its database and asks whether a migration is due; almost always
none is. Importing Alembic (and through it Mako) and reading the migration scripts costs about
0.1 s of CPU, so `storage.db.Database.connect` asks here first, with the plain query Alembic
itself makes, and hands over to `storage.migrate` (Alembic) only when the database is not at
`HEAD`: a new database, an older one, or one from a newer release (which Alembic refuses, as
it always did).

`HEAD` is written down by hand; tests/test_storage.py checks it against the scripts in
storage/migrations/versions (a new migration fails that test until `HEAD` names it).
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0014_report_alerted_at"  # the newest script in storage/migrations/versions
VERSION_TABLE = "alembic_version"  # Alembic's default name and column


def read_revision(connection: Connection) -> str | None:
    """The revision the database behind `connection` is at (None: never migrated), read as
    Alembic's ``MigrationContext.get_current_revision`` reads it."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"{VERSION_TABLE} holds more than one revision: {sorted(rows)}")
    return str(rows[0]) if rows else None


async def engine_revision(engine: AsyncEngine) -> str | None:
    """`read_revision` over a connection of `engine` (returned to its pool afterwards)."""
    async with engine.connect() as connection:
        return await connection.run_sync(read_revision)
