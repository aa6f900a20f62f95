"""The treatment-sessions aggregate: the only module that writes ``treatment_sessions``.

`SessionStore` records and reads sessions. Moving or cancelling a session changes its
check-ins too, so those go through the check-in manager (scheduler/manager.py), which calls
`set_date` / `cancel` here inside its own transaction: a session is cancelled in one place and
its check-ins follow in the same commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.clock import Clock, utcnow
from storage.models import Patient, SessionSource, TreatmentSession
from storage.patients import ConsentRequired, aware_now, require_patient
from storage.results import affected


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A treatment session row."""

    id: int
    patient_id: int
    session_date: dt.date
    source: str
    cancelled_at: dt.datetime | None
    created_at: dt.datetime

    @property
    def cancelled(self) -> bool:
        """True when the session was cancelled."""
        return self.cancelled_at is not None


SESSION_FIELDS = ("id", "patient_id", "session_date", "source", "cancelled_at", "created_at")


def session_info(row: TreatmentSession) -> SessionInfo:
    """The frozen view of an ORM session row."""
    return SessionInfo(**{f: getattr(row, f) for f in SESSION_FIELDS})


def latest_session_query(patient_id: int) -> Select[TreatmentSession]:
    """The patient's not-cancelled session with the greatest date."""
    return (
        select(TreatmentSession)
        .where(TreatmentSession.patient_id == patient_id, TreatmentSession.cancelled_at.is_(None))
        .order_by(TreatmentSession.session_date.desc(), TreatmentSession.id.desc())
        .limit(1)
    )


def new_session(s: AsyncSession, patient_id: int, session_date: dt.date,
                source: SessionSource, now: dt.datetime) -> TreatmentSession:
    """Add a session row to the caller's transaction."""
    row = TreatmentSession(patient_id=patient_id, session_date=session_date,
                           source=source.value, created_at=now)
    s.add(row)
    return row


async def cancel(s: AsyncSession, session_id: int, now: dt.datetime) -> bool:
    """Mark the session cancelled in the caller's transaction; False if unknown or already."""
    result = await s.execute(
        update(TreatmentSession)
        .where(TreatmentSession.id == session_id, TreatmentSession.cancelled_at.is_(None))
        .values(cancelled_at=now))
    return bool(affected(result))


async def set_date(s: AsyncSession, session_id: int, day: dt.date) -> None:
    """Give the session a new date in the caller's transaction."""
    await s.execute(update(TreatmentSession).where(TreatmentSession.id == session_id)
                    .values(session_date=day))


class SessionStore:
    """Async access to treatment sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    async def add(self, session_date: dt.date, source: SessionSource | str, *,
                  telegram_id: int | None = None, patient_id: int | None = None,
                  now: dt.datetime | None = None) -> SessionInfo:
        """Record a treatment on `session_date` for a patient given by telegram or patient id.

        Patient-entered dates (source "patient") need consent: they are health data.
        """
        source = SessionSource(source)
        if (telegram_id is None) == (patient_id is None):
            raise ValueError("pass exactly one of telegram_id, patient_id")
        async with self.sessions.begin() as s:
            if telegram_id is not None:
                patient = await require_patient(s, telegram_id)
            else:
                found = await s.get(Patient, patient_id)
                if found is None:
                    raise LookupError(f"no patient with id {patient_id}")
                patient = found
            if source is SessionSource.PATIENT and patient.consent_at is None:
                raise ConsentRequired("a patient-entered treatment date needs consent first")
            row = new_session(s, patient.id, session_date, source, aware_now(self.clock, now))
            await s.flush()
            return session_info(row)

    async def latest(self, patient_id: int) -> SessionInfo | None:
        """The not-cancelled session with the greatest date, or None."""
        async with self.sessions.begin() as s:
            row = await s.scalar(latest_session_query(patient_id))
            return session_info(row) if row else None

    async def get(self, session_id: int) -> SessionInfo | None:
        """One session by its id (cancelled ones too), or None."""
        async with self.sessions() as s:
            row = await s.get(TreatmentSession, session_id)
            return session_info(row) if row else None

    async def of_patient(self, patient_id: int,
                         include_cancelled: bool = True) -> list[SessionInfo]:
        """The patient's sessions, oldest date first."""
        query = select(TreatmentSession).where(TreatmentSession.patient_id == patient_id)
        if not include_cancelled:
            query = query.where(TreatmentSession.cancelled_at.is_(None))
        query = query.order_by(TreatmentSession.session_date, TreatmentSession.id)
        async with self.sessions.begin() as s:
            return [session_info(r) for r in await s.scalars(query)]


__all__ = ["SessionInfo", "SessionStore", "cancel", "latest_session_query",
           "new_session", "session_info", "set_date"]
