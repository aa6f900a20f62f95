"""Data retention: delete a patient's chat messages and resolved reports N days after their
last treatment session (``AFTERCARE_RETENTION_DAYS``).

`purge_expired(sessions, days, now)` is idempotent, so every replica may run it daily (the
daily job of bot/telegram/app.py runs it through `SqlRetention`, a `Retention` built by
bot/compose.py). What is
kept: the patient row (Telegram id, name, consent time), treatment dates and check-in rows
(the clinic's treatment record), and reports staff have not resolved yet (an unhandled alarm
must not vanish; it is deleted on the first run after it is resolved). A patient without any
(non-cancelled) session counts from the day their record was created. The deletes themselves
belong to the messages and reports modules (the writers of those tables). A run that deleted
anything counts as an erasure (storage/erasures.py, in the same transaction), so that every
replica, this one included, empties the caches that may still hold the purged words.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.erasures import count_erasure
from storage.messages import delete_messages_of
from storage.models import Patient, TreatmentSession
from storage.report_rows import delete_resolved_reports_of
from storage.results import empty_wal

log = logging.getLogger(__name__)
CHUNK = 500


@dataclass(frozen=True)
class PurgeResult:
    """What one retention run deleted."""

    patients: int = 0
    messages: int = 0
    reports: int = 0


async def expired_patients(s: AsyncSession, days: int, now: dt.datetime) -> list[int]:
    """Ids of patients whose last session (or record creation) is `days` or more days ago."""
    cutoff = (now - dt.timedelta(days=days)).date()
    last_session = (select(TreatmentSession.patient_id,
                           func.max(TreatmentSession.session_date).label("last"))
                    .where(TreatmentSession.cancelled_at.is_(None))
                    .group_by(TreatmentSession.patient_id).subquery())
    rows = await s.execute(select(Patient.id, last_session.c.last, Patient.created_at)
                           .outerjoin(last_session, last_session.c.patient_id == Patient.id))
    expired = []
    for patient_id, last, created_at in rows:
        if isinstance(last, str):  # SQLite returns aggregate dates as text
            last = dt.date.fromisoformat(last)
        reference = last if last is not None else created_at.astimezone(dt.UTC).date()
        if reference <= cutoff:
            expired.append(int(patient_id))
    return expired


async def purge_expired(sessions: async_sessionmaker[AsyncSession], days: int,
                        now: dt.datetime) -> PurgeResult:
    """Delete messages and resolved reports of patients past the retention period."""
    if days < 1:
        raise ValueError("retention must be at least one day")
    messages = reports = 0
    async with sessions.begin() as s:
        ids = await expired_patients(s, days, now)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            messages += await delete_messages_of(s, chunk)
            reports += await delete_resolved_reports_of(s, chunk)
        if messages or reports:
            await count_erasure(s)  # every replica forgets the words it read of them
    result = PurgeResult(len(ids), messages, reports)
    if messages or reports:
        await empty_wal(sessions)  # (SQLite: the write-ahead log kept the rows' old pages)
        log.info("retention (%d days): deleted %d message(s) and %d report(s)", days,
                 messages, reports)
    return result


class Retention(Protocol):
    """Deletes what the retention period has run out for (the daily job's one collaborator)."""

    async def purge(self, days: int, now: dt.datetime) -> PurgeResult: ...


class SqlRetention:
    """`Retention` over the bot's database (`purge_expired`)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def purge(self, days: int, now: dt.datetime) -> PurgeResult:
        return await purge_expired(self.sessions, days, now)
