"""In-memory twin of `scheduler.sql.SqlConnector` for fast dispatcher tests.

Same interface and the same state machine, kept in dicts; `add()` plants rows directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from scheduler.sql import ClaimedCheckin
from storage.models import CheckinStatus

S = CheckinStatus


@dataclass
class MemoryRow:
    """One outbox row."""

    id: int
    patient_id: int
    step: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    session_id: int = 1
    day_offset: int = 1
    status: str = S.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    telegram_message_id: int | None = None
    last_error: str | None = None
    paused_reason: str | None = None


@dataclass
class MemoryPatient:
    """What the dispatcher needs to know about a patient."""

    chat_id: int | None
    active: bool = True
    paused: bool = False
    inactive_reason: str | None = None


class MemoryConnector:
    """The outbox in memory (single event loop, so every method is atomic)."""

    def __init__(self) -> None:
        self.rows: dict[int, MemoryRow] = {}
        self.patients: dict[int, MemoryPatient] = {}

    def add(self, row: MemoryRow, chat_id: int | None = None) -> MemoryRow:
        """Plant a row (and its patient, chat id defaulting to the patient id)."""
        self.rows[row.id] = row
        self.patients.setdefault(row.patient_id, MemoryPatient(
            chat_id if chat_id is not None else row.patient_id))
        return row

    def _mine(self, checkin_id: int, worker: str) -> MemoryRow | None:
        row = self.rows.get(checkin_id)
        if row and row.claimed_by == worker and row.status in (S.CLAIMED, S.PENDING):
            return row
        return None

    async def expire_overdue(self, now: dt.datetime) -> int:
        """Pending rows past their window become expired."""
        late = [r for r in self.rows.values()
                if r.status == S.PENDING and r.deliver_until <= now]
        for row in late:
            row.status, row.last_error = S.EXPIRED.value, "not sent within its delivery window"
        return len(late)

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedCheckin]:
        """Take up to `limit` due rows, after re-queueing rows whose lease ran out."""
        for row in self.rows.values():
            if row.status == S.CLAIMED and row.lease_until and row.lease_until <= now:
                row.status, row.lease_until = S.PENDING.value, None
        due = sorted((r for r in self.rows.values() if r.status == S.PENDING
                      and r.due_at <= now < r.deliver_until), key=lambda r: (r.due_at, r.id))
        claimed = []
        for row in due[:limit]:
            row.status, row.claimed_by, row.lease_until = S.CLAIMED.value, worker, now + lease
            row.attempts += 1
            patient = self.patients.get(row.patient_id, MemoryPatient(None))
            claimed.append(ClaimedCheckin(row.id, row.session_id, row.patient_id, row.step,
                                          row.day_offset, row.attempts, row.due_at,
                                          row.deliver_until, patient.chat_id, patient.active,
                                          patient.paused))
        return claimed

    async def mark_sent(self, checkin_id: int, worker: str, message_id: int,
                        now: dt.datetime) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.telegram_message_id, row.lease_until = S.SENT.value, message_id, None
        return True

    async def release(self, checkin_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.lease_until = S.PENDING.value, None
        row.due_at = due_at or row.due_at
        row.last_error = error or row.last_error
        if not count_attempt:
            row.attempts -= 1
        return True

    async def _finish(self, checkin_id: int, worker: str, status: S, reason: str) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.last_error, row.lease_until = status.value, reason, None
        return True

    async def mark_failed(self, checkin_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool:
        return await self._finish(checkin_id, worker, S.FAILED, error)

    async def cancel(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        return await self._finish(checkin_id, worker, S.CANCELLED, reason)

    async def pause(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.paused_reason, row.lease_until = S.PAUSED.value, reason, None
        row.attempts -= 1
        return True

    async def deactivate_patient(self, patient_id: int, reason: str, now: dt.datetime) -> int:
        patient = self.patients.setdefault(patient_id, MemoryPatient(None))
        self.patients[patient_id] = replace(patient, active=False, inactive_reason=reason)
        open_rows = [r for r in self.rows.values() if r.patient_id == patient_id
                     and r.status in (S.PENDING, S.PAUSED)]
        for row in open_rows:
            row.status, row.last_error = S.CANCELLED.value, f"patient unreachable: {reason}"
        return len(open_rows)

    async def release_all_claims(self, now: dt.datetime) -> int:
        claimed = [r for r in self.rows.values() if r.status == S.CLAIMED]
        for row in claimed:
            row.status, row.lease_until = S.PENDING.value, None
        return len(claimed)

    async def next_due(self) -> dt.datetime | None:
        due = [r.due_at for r in self.rows.values() if r.status == S.PENDING]
        return min(due, default=None)
