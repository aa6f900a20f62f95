"""In-memory twin of `storage.retention.SqlRetention` (the daily data retention), for fast
tests.

`MemoryRetention` deletes, in the `MemoryTables` (storage/memory_tables.py) the other twins
share, the messages and resolved reports (with their audit trails, photos and cards) of every
patient whose last non-cancelled treatment session, or record creation without one, is the
retention period or more ago; it keeps patient rows, sessions and unresolved reports, as the
SQL does, and counts a run that deleted anything as an erasure (as the SQL does).
tests/test_retention_conformance.py runs the same tests against both.
"""

from __future__ import annotations

import datetime as dt

from storage.memory_tables import MemoryTables
from storage.retention import PurgeResult
from storage.states import ReportStatus


class MemoryRetention:
    """`Retention` in memory."""

    def __init__(self, tables: MemoryTables | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()

    def expired_patients(self, days: int, now: dt.datetime) -> list[int]:
        """Ids of patients whose last session (or record creation) is `days` or more days
        ago."""
        cutoff = (now - dt.timedelta(days=days)).date()
        expired = []
        for patient in self.tables.patients.values():
            dates = [s.session_date for s in self.tables.sessions.values()
                     if s.patient_id == patient.id and s.cancelled_at is None]
            reference = max(dates) if dates else patient.created_at.astimezone(dt.UTC).date()
            if reference <= cutoff:
                expired.append(patient.id)
        return expired

    async def purge(self, days: int, now: dt.datetime) -> PurgeResult:
        """Delete messages and resolved reports of patients past the retention period."""
        if days < 1:
            raise ValueError("retention must be at least one day")
        ids = set(self.expired_patients(days, now))
        messages = [k for k, m in self.tables.messages.items() if m.patient_id in ids]
        for key in messages:
            del self.tables.messages[key]
        reports = {k for k, r in self.tables.reports.items()
                   if r.patient_id in ids and r.status == ReportStatus.RESOLVED.value}
        self.tables.delete_reports(reports)
        if messages or reports:
            self.tables.erasures += 1  # as the SQL counts it (storage/erasures.py)
        return PurgeResult(len(ids), len(messages), len(reports))


__all__ = ["MemoryRetention"]
