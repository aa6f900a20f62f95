"""The message log: the only module that writes ``messages``.

Chat messages are logged in batches (bot/core/logbook.py flushes them), with one multi-row
INSERT. The privacy rule lives on this, the production path: messages of a user without a
consenting patient row are dropped, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock, utcnow
from storage.models import Direction, Message, Outcome, Patient
from storage.patients import aware_now
from storage.results import affected


class LogEntry(NamedTuple):
    """One chat message to log (see `MessageLog.log_batch`)."""

    telegram_id: int
    direction: str
    text: str
    topic: str | None
    outcome: str | None
    created_at: dt.datetime


async def delete_messages_of(s: AsyncSession, patient_ids: Sequence[int]) -> int:
    """Delete these patients' logged messages in the caller's transaction (retention)."""
    return affected(await s.execute(delete(Message).where(Message.patient_id.in_(patient_ids))))


class MessageLog:
    """Writes and counts logged chat messages."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def log_batch(self, entries: Sequence[LogEntry]) -> int:
        """Log messages of several users in one transaction; returns how many were stored.

        Entries of users without a consenting patient row are dropped (privacy rule).
        Uses one multi-row INSERT (no ORM objects): this runs for every chat message.
        """
        ids = {entry.telegram_id for entry in entries}
        if not ids:
            return 0
        patients = Patient.__table__
        async with self.sessions.kw["bind"].begin() as conn:  # Core: no ORM bulk machinery
            rows = await conn.execute(
                select(patients.c.telegram_id, patients.c.id).where(
                    patients.c.telegram_id.in_(ids), patients.c.consent_at.is_not(None)))
            patient_ids = {telegram_id: patient_id for telegram_id, patient_id in rows}
            values = [
                {
                    "patient_id": patient_ids[entry.telegram_id],
                    "direction": Direction(entry.direction).value,
                    "text": entry.text,
                    "topic": entry.topic,
                    "outcome": Outcome(entry.outcome).value if entry.outcome else None,
                    "created_at": aware_now(self.clock, entry.created_at),
                }
                for entry in entries
                if entry.telegram_id in patient_ids
            ]
            if values:
                await conn.execute(insert(Message.__table__), values)
            return len(values)

    async def count(self, telegram_id: int) -> int:
        """Number of logged messages for this user (0 when unknown)."""
        async with self.sessions.begin() as s:
            return int(await s.scalar(
                select(func.count(Message.id))
                .join(Patient, Patient.id == Message.patient_id)
                .where(Patient.telegram_id == telegram_id)) or 0)


__all__ = ["LogEntry", "MessageLog", "delete_messages_of"]
