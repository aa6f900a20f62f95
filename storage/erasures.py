"""How many erasures the database has seen (``erasure_epoch``): how every replica learns that
a patient's words must be forgotten.

Replicas share nothing but the database. A patient's words pass through each replica's
in-process caches (the advisor's folded texts, tokens, spellings and language scores, the
per-message read of storage/context_cache.py, the questions kept without consent), and /delete
is handled by one replica only. So the erasure raises ``epoch`` in its own transaction
(`count_erasure`, called by storage/patients.py `PatientStore.erase` and by the retention
purge, storage/retention.py, when it deleted anything: the count commits with the erasure or
not at all), and every replica reads it (`ErasureSql.epoch`, one primary-key
read) before it handles an update and every few seconds, and empties its caches when it has
changed (bot/core/forgetting.py). The row holds a number only: no patient's id, no words.

The only writer of ``erasure_epoch``. `ErasureSql` works on SQLite and PostgreSQL;
`MemoryErasures` (storage/erasures_memory.py) is its in-memory twin over the `MemoryTables`
whose erasures it counts, proven equal by tests/test_erasures_conformance.py. What the core
needs of either is the `Erasures` Protocol of bot/core/ports.py.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.context_cache import CACHE_KEY
from storage.models import ErasureEpoch

ROW = 1  # the one row


async def count_erasure(s: AsyncSession) -> None:
    """Raise the epoch inside the caller's transaction (an erasure's), writing the row if it
    is the first erasure (an upsert: two first erasures at once both count)."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await s.execute(insert(ErasureEpoch).values(id=ROW, epoch=1).on_conflict_do_update(
        index_elements=["id"], set_={"epoch": ErasureEpoch.epoch + 1}))


class ErasureSql:
    """The erasure count on the database (bot/core/ports.py `Erasures`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def epoch(self) -> int:
        """How many erasures there have been (0 before the first)."""
        async with self.sessions() as s:
            found = await s.scalar(select(ErasureEpoch.epoch).where(ErasureEpoch.id == ROW))
        return int(found or 0)

    def forget_cached(self) -> None:
        """Empty this process's cache of the per-message read (storage/context_cache.py): it
        may hold an erased patient's conversation states, their words among them, which this
        process's own writes would have dropped and another replica's do not."""
        cache = self.sessions.kw.get("info", {}).get(CACHE_KEY)
        if cache is not None:
            cache.clear()


__all__ = ["ErasureSql", "count_erasure"]
