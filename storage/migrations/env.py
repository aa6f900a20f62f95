"""Alembic environment for the Aftercare storage package.

The database URL (and optional asyncpg ``connect_args``) come from
``config.attributes`` set by `storage.migrate`, never from an ini file. An already
open connection in ``config.attributes["connection"]`` is used as is.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.engine import make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if not url:
        raise RuntimeError("no database URL: run migrations through storage.migrate")
    return str(url)


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on a synchronous connection (inside an async engine's run_sync)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an async engine for the URL and run the migrations through `run_sync`.

    SQLite foreign keys stay off here: batch migrations rebuild tables, and with
    foreign keys on, dropping the old table would cascade-delete child rows.
    """
    connectable = make_engine(
        _url(), connect_args=config.attributes.get("connect_args"), sqlite_foreign_keys=False
    )
    try:
        async with connectable.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await connectable.dispose()


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the shared connection when given, else connect with the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
