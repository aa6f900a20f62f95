"""Leader leases: the heartbeat row that says which replica polls Telegram (``leader_lease``).

The only writer of ``leader_lease``. Every change of a row (taken, renewed, released) raises
its ``beat``; taking a row over is a compare-and-set on the ``beat`` the taker last saw, so
of several standbys only one wins, and a holder that was frozen and wakes up finds its
renewal refused (the row names someone else). Whether a holder is gone is decided by the
caller watching ``beat`` stand still on its own monotonic clock (bot/telegram/polling/lease.py), so
no two hosts' clocks are ever compared; ``renewed_at``/``expires_at`` are the holder's clock,
kept for people reading the table.

`LeaseSql` works on SQLite and PostgreSQL; `MemoryLeases` (storage/leader_lease_memory.py) is
its in-memory twin, proven equal by tests/test_polling_rows_conformance.py. What the election
needs of either is the `Leases` Protocol of bot/telegram/polling/ports.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Update, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import LeaderLease
from storage.results import affected, is_sqlite_sessions, write_alone


@dataclass(frozen=True, slots=True)
class Lease:
    """One lease row as read (`beat` 0 and no holder: there is no row yet)."""

    holder: str | None
    beat: int
    expires_at: dt.datetime | None = None


NO_LEASE = Lease(None, 0)


async def _bounded(s: AsyncSession) -> None:
    """PostgreSQL: a lease write never waits long for a row lock, and a holder frozen in the
    middle of one (SIGSTOP between UPDATE and COMMIT) has its session ended by the server, so
    its row lock cannot keep the standbys out."""
    if s.get_bind().dialect.name == "postgresql":
        await s.execute(text("SET LOCAL lock_timeout = '2s'"))
        await s.execute(text("SET LOCAL idle_in_transaction_session_timeout = '2s'"))


class LeaseSql:
    """The lease rows on the database (bot/telegram/polling/ports.py `Leases`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def _write(self, statement: Update) -> int:
        """One lease UPDATE as its own transaction; the rows it matched. SQLite: autocommit,
        so no write lock is held across the event loop (storage/results.py `write_alone`);
        PostgreSQL: bounded waits (`_bounded`)."""
        if is_sqlite_sessions(self.sessions):
            return await write_alone(self.sessions, statement)
        async with self.sessions.begin() as s:
            await _bounded(s)
            return affected(await s.execute(statement))

    async def read(self, name: str) -> Lease:
        async with self.sessions() as s:
            row = (await s.execute(
                select(LeaderLease.holder, LeaderLease.beat, LeaderLease.expires_at)
                .where(LeaderLease.name == name))).first()
        return NO_LEASE if row is None else Lease(row.holder, int(row.beat), row.expires_at)

    async def take(self, name: str, holder: str, seen_beat: int, now: dt.datetime,
                   expires_at: dt.datetime) -> bool:
        if await self._write(
                update(LeaderLease)
                .where(LeaderLease.name == name, LeaderLease.beat == seen_beat)
                .values(holder=holder, beat=LeaderLease.beat + 1, renewed_at=now,
                        expires_at=expires_at)):
            return True
        if seen_beat != 0:
            return False
        try:  # no row yet: the first insert wins
            async with self.sessions.begin() as s:
                await s.execute(insert(LeaderLease).values(
                    name=name, holder=holder, beat=1, renewed_at=now, expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    async def renew(self, name: str, holder: str, now: dt.datetime,
                    expires_at: dt.datetime) -> bool:
        return await self._write(
            update(LeaderLease)
            .where(LeaderLease.name == name, LeaderLease.holder == holder)
            .values(beat=LeaderLease.beat + 1, renewed_at=now, expires_at=expires_at)) == 1

    async def release(self, name: str, holder: str, now: dt.datetime) -> bool:
        return await self._write(
            update(LeaderLease)
            .where(LeaderLease.name == name, LeaderLease.holder == holder)
            .values(holder=None, beat=LeaderLease.beat + 1, renewed_at=now,
                    expires_at=None)) == 1
