"""In-memory twin of `storage.context.ContextReader`, the per-message read, for fast tests.

`MemoryContextReader` answers from the `MemoryTables` (storage/memory_tables.py) the patients',
sessions' and chat states' twins write: the user's patient row (with their count of reports
not resolved), their latest not-cancelled session and their unexpired conversation states of
the patient kinds (a user without a patient row still gets their states). There is no cache
to go stale. tests/test_context_conformance.py runs the same tests against both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from storage.chat_state import PATIENT_KINDS
from storage.chat_state_memory import MemoryChatStateStore
from storage.clock import Clock, utcnow
from storage.context import PatientContext
from storage.memory_tables import MemoryTables
from storage.patients import aware_now
from storage.patients_memory import patient_info
from storage.sessions_memory import latest_of, session_info
from storage.states import ReportStatus


class MemoryContextReader:
    """The per-message read in memory (the interface of `ContextReader`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest session and conversation states (at `now`,
        default: the clock)."""
        now = aware_now(self.clock, now)
        states = await MemoryChatStateStore(self.tables).get_many(telegram_id, PATIENT_KINDS,
                                                                  now)
        row = self.tables.by_telegram(telegram_id)
        if row is None:
            return PatientContext(None, None, states)
        open_reports = sum(1 for r in self.tables.reports.values()
                           if r.patient_id == row.id and r.status != ReportStatus.RESOLVED)
        session = latest_of(self.tables, row.id)
        return PatientContext(dataclasses.replace(patient_info(row), open_reports=open_reports),
                              session_info(session) if session else None, states)


__all__ = ["MemoryContextReader"]
