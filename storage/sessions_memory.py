"""In-memory twin of `storage.sessions.SessionStore`, for fast tests.

`MemorySessionStore` keeps treatment sessions in the `MemoryTables` (storage/memory_tables.py)
it shares with the patients' twin: a session needs a known patient (LookupError otherwise), a
date the patient typed needs their consent (`ConsentRequired`), reads order by date then id
and the latest session is the not-cancelled one with the greatest date. `cancel` and
`set_date` stand in for the check-in manager's changes (scheduler/manager.py moves and
cancels sessions in its own transaction). tests/test_sessions_conformance.py runs the same
tests against both.
"""

from __future__ import annotations

import datetime as dt

from storage.clock import Clock, utcnow
from storage.memory_tables import MemoryTables, PatientRow, SessionRow, utc
from storage.patients import ConsentRequired, aware_now
from storage.sessions import SessionInfo
from storage.states import SessionSource


def session_info(row: SessionRow) -> SessionInfo:
    """The frozen view of a row (as `storage.sessions.session_info`)."""
    return SessionInfo(row.id, row.patient_id, row.session_date, row.source, row.cancelled_at,
                       row.created_at)


def latest_of(tables: MemoryTables, patient_id: int) -> SessionRow | None:
    """The patient's not-cancelled session with the greatest date (then id), or None."""
    rows = [r for r in tables.sessions.values()
            if r.patient_id == patient_id and r.cancelled_at is None]
    return max(rows, key=lambda r: (r.session_date, r.id), default=None)


class MemorySessionStore:
    """Treatment sessions in memory (the interface of `SessionStore`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    async def add(self, session_date: dt.date, source: SessionSource | str, *,
                  telegram_id: int | None = None, patient_id: int | None = None,
                  now: dt.datetime | None = None) -> SessionInfo:
        """Record a treatment for a patient given by telegram or patient id."""
        source = SessionSource(source)
        if (telegram_id is None) == (patient_id is None):
            raise ValueError("pass exactly one of telegram_id, patient_id")
        patient: PatientRow | None
        if telegram_id is not None:
            patient = self.tables.by_telegram(telegram_id)
            if patient is None:
                raise LookupError(f"no patient with telegram id {telegram_id}")
        else:
            patient = self.tables.patients.get(patient_id)  # type: ignore[arg-type]
            if patient is None:
                raise LookupError(f"no patient with id {patient_id}")
        if source is SessionSource.PATIENT and patient.consent_at is None:
            raise ConsentRequired("a patient-entered treatment date needs consent first")
        row = self.tables.add_session(patient.id, session_date, source.value,
                                      aware_now(self.clock, now))
        return session_info(row)

    async def latest(self, patient_id: int) -> SessionInfo | None:
        """The not-cancelled session with the greatest date, or None."""
        row = latest_of(self.tables, patient_id)
        return session_info(row) if row else None

    async def get(self, session_id: int) -> SessionInfo | None:
        """One session by its id (cancelled ones too), or None."""
        row = self.tables.sessions.get(session_id)
        return session_info(row) if row else None

    async def of_patient(self, patient_id: int,
                         include_cancelled: bool = True) -> list[SessionInfo]:
        """The patient's sessions, oldest date first."""
        rows = sorted((r for r in self.tables.sessions.values()
                       if r.patient_id == patient_id
                       and (include_cancelled or r.cancelled_at is None)),
                      key=lambda r: (r.session_date, r.id))
        return [session_info(r) for r in rows]

    def cancel(self, session_id: int, now: dt.datetime) -> bool:
        """Mark the session cancelled (`storage.sessions.cancel`); False if unknown or
        already cancelled."""
        row = self.tables.sessions.get(session_id)
        if row is None or row.cancelled_at is not None:
            return False
        row.cancelled_at = utc(now)
        return True

    def set_date(self, session_id: int, day: dt.date) -> None:
        """Give the session a new date (`storage.sessions.set_date`)."""
        row = self.tables.sessions.get(session_id)
        if row is not None:
            row.session_date = day


__all__ = ["MemorySessionStore", "latest_of", "session_info"]
