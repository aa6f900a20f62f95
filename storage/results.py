"""Typed access to what a DML statement did.

`AsyncSession.execute` is typed to return a plain `Result`; for INSERT/UPDATE/DELETE the object
is a `CursorResult`, which carries `rowcount`. `affected()` is the one place that says so.

`write_alone()` runs one write statement as its own transaction. On SQLite it autocommits:
the file's single write lock is taken and let go inside that one statement's call in the
driver thread, never held while the event loop runs something else between the statement
and a COMMIT. A process frozen (SIGSTOP, a stalled host) inside an open write transaction
keeps every other process of the file from writing until it wakes; the polling lease's and
the handled-update log's periodic writes use this so that their window is as short as it
can be (tests/test_polling_failover.py froze the leader there).

`empty_wal()` runs after a deletion of patients' words (/delete, the retention purge): on
SQLite a deleted row is gone from the tables, but the write-ahead log (``<file>-wal``, WAL
mode: storage/engine.py) still holds the page versions written before the delete, the
patient's words in them, until a checkpoint copies the newer pages into the file and the log
is overwritten, which may be long after (the log is reused from its start, never shrunk).
A ``wal_checkpoint(TRUNCATE)`` copies them now and empties the log file; the pages it copies
were written with ``secure_delete`` (storage/engine.py: freed space zeroed), so neither file
keeps the words.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from sqlalchemy import text
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable

log = logging.getLogger(__name__)


def affected(result: Result[Any]) -> int:
    """Number of rows an UPDATE or DELETE matched (0 when the driver cannot tell)."""
    count = cast(CursorResult[Any], result).rowcount
    return max(int(count or 0), 0)


def is_sqlite_sessions(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when `sessions` work on a SQLite file."""
    return bool(sessions.kw["bind"].dialect.name == "sqlite")


async def write_alone(sessions: async_sessionmaker[AsyncSession], statement: Executable) -> int:
    """SQLite: run one INSERT/UPDATE/DELETE in autocommit mode (see the module docstring) and
    return the rows it matched."""
    async with sessions.kw["bind"].connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return affected(await conn.execute(statement))


async def empty_wal(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """SQLite: checkpoint the write-ahead log and truncate it (see the module docstring), so
    that rows just deleted survive in neither file; False (logged) if a reader or writer of
    another connection kept it from completing within the busy timeout (the log then keeps
    the old pages until a later checkpoint). Nothing to do on PostgreSQL: True."""
    if not is_sqlite_sessions(sessions):
        return True
    async with sessions.kw["bind"].connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        busy = (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).scalar()
    if busy:
        log.warning("the SQLite write-ahead log could not be emptied after a deletion (busy):"
                    " it keeps the deleted rows' old pages until a later checkpoint")
    return not busy
