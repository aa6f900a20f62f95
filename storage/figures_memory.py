"""In-memory twin of `storage.figures.SqlFigures` (the database figures of /metrics), for the
in-memory composition root (bot/backends.py `MemoryBackend`).

`MemoryFigures` reads the `MemoryTables` (storage/memory_tables.py) the other twins write: the
check-in rows by status and how many pending ones are due, the unresolved reports by urgency
("none" for a report without one) and when the oldest was raised, the staff-chat alerts not
yet delivered, and the (raised, first staff action) pairs of the reports raised in a window
(`MemoryReportStore.first_actions`, the twin of the SQL store's). The same figures as the SQL
for the same rows: tests/test_figures_conformance.py runs the same tests against both.
Writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from storage.alerts import OWED
from storage.figures import Figures
from storage.memory_tables import MemoryTables
from storage.reports_memory import MemoryReportStore
from storage.states import CheckinStatus, ReportStatus


class MemoryFigures:
    """`OpsFigures` over one `MemoryTables`."""

    def __init__(self, tables: MemoryTables | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.reports = MemoryReportStore(self.tables)

    async def read(self, now: dt.datetime, since: dt.datetime) -> Figures:
        t = self.tables
        checkins = list(t.checkins.values())
        unresolved = [r for r in t.reports.values() if r.status != ReportStatus.RESOLVED.value]
        return Figures(
            checkins=dict(Counter(r.status for r in checkins)),
            checkins_due=sum(1 for r in checkins
                             if r.status == CheckinStatus.PENDING.value and r.due_at <= now),
            open_reports=dict(Counter(r.urgency or "none" for r in unresolved)),
            oldest_open=min((r.created_at for r in unresolved), default=None),
            alerts_owed=sum(1 for a in t.alerts.values() if a.status in OWED),
            first_actions=await self.reports.first_actions(since, now))
