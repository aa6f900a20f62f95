"""Read-only figures about what is stored: a patient's own summary (/mydata), row counts per
table (to verify erasure) and patient counts. Writes no table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Invite, Message, Patient, Report, TreatmentSession
from storage.patients import by_telegram


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """Aggregates (min/max) bypass the column type on SQLite: mark naive values as UTC."""
    if isinstance(value, str):  # SQLite returns aggregate datetimes as text
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class Stats:
    """Counts and summaries over the application's session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def data_summary(self, telegram_id: int) -> dict[str, Any]:
        """What is stored about this user, for /mydata (counts and dates, no texts)."""
        async with self.sessions.begin() as s:
            patient = await s.scalar(by_telegram(telegram_id))
            if patient is None:
                return {"exists": False}
            sessions = list(await s.scalars(
                select(TreatmentSession.session_date)
                .where(TreatmentSession.patient_id == patient.id,
                       TreatmentSession.cancelled_at.is_(None))
                .order_by(TreatmentSession.session_date)))
            msg_count, first_msg, last_msg = (await s.execute(
                select(func.count(Message.id), func.min(Message.created_at),
                       func.max(Message.created_at)).where(Message.patient_id == patient.id)
            )).one()
            report_count = await s.scalar(
                select(func.count(Report.id)).where(Report.patient_id == patient.id))
            return {
                "exists": True,
                "name": patient.name,
                "timezone": patient.timezone,
                "consent_at": patient.consent_at,
                "created_at": patient.created_at,
                "active": patient.active,
                "checkins_paused": patient.checkins_paused,
                "sessions": len(sessions),
                "session_dates": sessions,
                "messages": int(msg_count or 0),
                "first_message_at": _aware(first_msg),
                "last_message_at": _aware(last_msg),
                "reports": int(report_count or 0),
            }

    async def count_rows(self, patient_id: int) -> dict[str, int]:
        """Rows per table belonging to a patient (used to verify erasure)."""
        counts: dict[str, int] = {}
        async with self.sessions.begin() as s:
            counts["patients"] = int(await s.scalar(
                select(func.count()).select_from(Patient).where(Patient.id == patient_id)) or 0)
            for model in (TreatmentSession, Invite, Message, Report):
                query = (select(func.count()).select_from(model)
                         .where(model.patient_id == patient_id))
                counts[model.__tablename__] = int(await s.scalar(query) or 0)
        return counts

    async def count_patients(self) -> int:
        """Number of patient rows (linked or not)."""
        async with self.sessions.begin() as s:
            return int(await s.scalar(select(func.count()).select_from(Patient)) or 0)


__all__ = ["Stats"]
