"""In-memory twin of `storage.messages.MessageLog`, for fast tests.

`MemoryMessageLog` logs chat messages into the `MemoryTables` (storage/memory_tables.py) the
other twins share, with the same privacy rule: an entry of a user without a consenting
patient row is dropped, never kept. An unknown direction or outcome is refused (ValueError)
and a naive time too. tests/test_messages_conformance.py runs the same tests against both.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.clock import Clock, utcnow
from storage.memory_tables import MemoryTables, MessageRow, utc
from storage.messages import LogEntry
from storage.patients import aware_now
from storage.states import Direction, Outcome


class MemoryMessageLog:
    """The chat log in memory (the interface of `MessageLog`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    async def log_batch(self, entries: Sequence[LogEntry]) -> int:
        """Log messages of several users at once (all or none); returns how many were kept.
        Entries of users without a consenting patient row are dropped."""
        consenting = {p.telegram_id: p.id for p in self.tables.patients.values()
                      if p.telegram_id is not None and p.consent_at is not None}
        rows = [(consenting[e.telegram_id], Direction(e.direction).value, e.text, e.topic,
                 Outcome(e.outcome).value if e.outcome else None,
                 utc(aware_now(self.clock, e.created_at)))
                for e in entries if e.telegram_id in consenting]
        for values in rows:  # checked first: one bad entry stores none, as one INSERT does
            row = MessageRow(self.tables.next_id("messages"), *values)
            self.tables.messages[row.id] = row
        return len(rows)

    async def count(self, telegram_id: int) -> int:
        """Number of logged messages of this user (0 when unknown)."""
        patient = self.tables.by_telegram(telegram_id)
        if patient is None:
            return 0
        return sum(1 for m in self.tables.messages.values() if m.patient_id == patient.id)


__all__ = ["MemoryMessageLog"]
