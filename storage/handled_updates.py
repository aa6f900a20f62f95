"""Telegram updates the polling leader has handled (``handled_update``), so that a leader
taking over does not handle them again.

The polling leader confirms a batch to Telegram only once all of it is handled; a leader
frozen (SIGSTOP) or killed in the middle of a batch leaves the handled part unconfirmed,
and the next leader gets it again. The leader records the updates it handled here after
each poll (`record`, one statement), and checks what a poll brings against it before
handling (`handled`, one query), so only updates being handled at that moment (or handled
since the last poll) can be handled twice. Rows are
kept two days (`purge`); Telegram keeps an unconfirmed update for one.

The only writer of ``handled_update``. `HandledSql` works on SQLite and PostgreSQL;
`MemoryHandled` (storage/handled_updates_memory.py) is its in-memory twin, proven equal by
tests/test_polling_rows_conformance.py. What the leader needs of either is the
`HandledUpdates` Protocol of bot/telegram/polling/ports.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import HandledUpdate
from storage.results import affected, is_sqlite_sessions, write_alone

KEEP = dt.timedelta(days=2)


class HandledSql:
    """The handled updates on the database (bot/telegram/polling/ports.py `HandledUpdates`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def handled(self, bot: str, update_ids: Sequence[int]) -> set[int]:
        if not update_ids:
            return set()
        async with self.sessions() as s:
            found = await s.scalars(select(HandledUpdate.update_id).where(
                HandledUpdate.bot == bot, HandledUpdate.update_id.in_(list(update_ids))))
            return set(found)

    async def record(self, bot: str, update_ids: Sequence[int], now: dt.datetime) -> None:
        if not update_ids:
            return
        rows = [{"bot": bot, "update_id": i, "handled_at": now} for i in update_ids]
        if is_sqlite_sessions(self.sessions):  # one statement, no write lock held between calls
            await write_alone(self.sessions, sqlite.insert(HandledUpdate).values(rows)
                              .on_conflict_do_nothing(index_elements=["bot", "update_id"]))
            return
        async with self.sessions.begin() as s:
            await s.execute(postgresql.insert(HandledUpdate).values(rows)
                            .on_conflict_do_nothing(index_elements=["bot", "update_id"]))

    async def purge(self, now: dt.datetime) -> int:
        statement = delete(HandledUpdate).where(HandledUpdate.handled_at < now - KEEP)
        if is_sqlite_sessions(self.sessions):
            return await write_alone(self.sessions, statement)
        async with self.sessions.begin() as s:
            return affected(await s.execute(statement))
