"""In-memory twin of `storage.stats.Stats` (what /mydata shows, rows per patient, the count
of patients), for fast tests.

`MemoryStats` reads the `MemoryTables` (storage/memory_tables.py) the other twins write and
writes nothing. tests/test_stats_conformance.py runs the same tests against both.
"""

from __future__ import annotations

from typing import Any

from storage.memory_tables import MemoryTables


class MemoryStats:
    """Counts and summaries in memory (the interface of `Stats`)."""

    def __init__(self, tables: MemoryTables | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()

    async def data_summary(self, telegram_id: int) -> dict[str, Any]:
        """What is stored about this user, for /mydata (counts and dates, no texts)."""
        patient = self.tables.by_telegram(telegram_id)
        if patient is None:
            return {"exists": False}
        dates = sorted(s.session_date for s in self.tables.sessions.values()
                       if s.patient_id == patient.id and s.cancelled_at is None)
        times = [m.created_at for m in self.tables.messages.values()
                 if m.patient_id == patient.id]
        return {
            "exists": True,
            "name": patient.name,
            "timezone": patient.timezone,
            "consent_at": patient.consent_at,
            "created_at": patient.created_at,
            "active": patient.active,
            "checkins_paused": patient.checkins_paused,
            "sessions": len(dates),
            "session_dates": dates,
            "messages": len(times),
            "first_message_at": min(times, default=None),
            "last_message_at": max(times, default=None),
            "reports": sum(1 for r in self.tables.reports.values()
                           if r.patient_id == patient.id),
        }

    async def count_rows(self, patient_id: int) -> dict[str, int]:
        """Rows per table belonging to a patient (used to verify erasure)."""
        tables = self.tables
        return {
            "patients": int(patient_id in tables.patients),
            "treatment_sessions": sum(1 for s in tables.sessions.values()
                                      if s.patient_id == patient_id),
            "invites": sum(1 for i in tables.invites.values() if i.patient_id == patient_id),
            "messages": sum(1 for m in tables.messages.values() if m.patient_id == patient_id),
            "reports": sum(1 for r in tables.reports.values() if r.patient_id == patient_id),
        }

    async def count_patients(self) -> int:
        """Number of patient rows (linked or not)."""
        return len(self.tables.patients)


__all__ = ["MemoryStats"]
