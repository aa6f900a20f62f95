"""In-memory twins of the outbox connectors in scheduler/sql.py, for fast tests.

`MemoryConnector` twins `SqlConnector` (the dispatcher's view) and `MemoryPlanStore` twins
`SqlPlanStore` (the check-in manager's); `MemorySharedPause` twins `SharedPause`
(scheduler/pause.py, the 429 pause every sender of every replica reads). The first two keep
their rows in a `MemoryTables` (storage/memory_tables.py: `checkins`) and read and write the
patients and sessions there, so over the same tables as the storage twins
(storage/patients_memory.py, sessions_memory.py...) they see the same patients and sessions,
as the SQL stores share one database: a patient paused or made inactive there is paused or
inactive here, and erasing a patient takes their check-ins. Two over one `MemoryTables` share
one outbox. Same interfaces and the same state machine; `add()` / `add_patient()` /
`add_session()` plant rows directly (with the ids given). The same tests run against the
twins and the SQL (tests/test_dispatch.py, tests/test_manager_connectors.py,
tests/test_checkin_outbox_conformance.py, tests/test_shared_pause_conformance.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from scheduler.sql import (
    CheckinInfo,
    ClaimedCheckin,
    NewRow,
    PlanPatient,
    PlanRow,
    PlanSession,
    PlanTx,
    RowMove,
    Scope,
    count_by_status,
)
from storage.clock import Clock, utcnow
from storage.memory_tables import CheckinRow, MemoryTables, PatientRow, SessionRow, utc
from storage.models import CheckinStatus
from storage.states import SessionSource

S = CheckinStatus
MemoryRow = CheckinRow  # one outbox row (storage/memory_tables.py)


class MemoryConnector:
    """The outbox in memory (single event loop, so every method is atomic)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock  # only the planted patients' creation time

    @property
    def rows(self) -> dict[int, CheckinRow]:
        """The outbox rows by id."""
        return self.tables.checkins

    @property
    def patients(self) -> dict[int, PatientRow]:
        """The patient rows by id (shared with the storage twins)."""
        return self.tables.patients

    def add(self, row: CheckinRow, chat_id: int | None = None) -> CheckinRow:
        """Plant a row (and its patient if unknown, chat id defaulting to the patient id)."""
        self.tables.checkins[row.id] = row
        self.tables.used_id("checkins", row.id)
        if row.patient_id not in self.tables.patients:
            self.tables.patients[row.patient_id] = PatientRow(
                row.patient_id, None, chat_id if chat_id is not None else row.patient_id, None,
                utc(self.clock()))
            self.tables.used_id("patients", row.patient_id)
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
            row.updated_at = now
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
            patient = self.patients.get(row.patient_id)
            claimed.append(ClaimedCheckin(  # no patient row: unreachable (as the SQL join)
                row.id, row.session_id, row.patient_id, row.step, row.day_offset,
                row.attempts, row.due_at, row.deliver_until,
                patient.chat_id if patient else None, patient.active if patient else False,
                patient.checkins_paused if patient else False))
        return claimed

    async def mark_sent(self, checkin_id: int, worker: str, message_id: int,
                        now: dt.datetime) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.telegram_message_id, row.lease_until = S.SENT.value, message_id, None
        row.sent_at = now
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

    async def _finish(self, checkin_id: int, worker: str, status: S, reason: str,
                      now: dt.datetime) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.last_error, row.lease_until = status.value, reason, None
        row.updated_at = now
        return True

    async def mark_failed(self, checkin_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool:
        return await self._finish(checkin_id, worker, S.FAILED, error, now)

    async def cancel(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        return await self._finish(checkin_id, worker, S.CANCELLED, reason, now)

    async def pause(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        row = self._mine(checkin_id, worker)
        if row is None:
            return False
        row.status, row.paused_reason, row.lease_until = S.PAUSED.value, reason, None
        row.attempts -= 1
        return True

    async def deactivate_patient(self, patient_id: int, reason: str, now: dt.datetime) -> int:
        patient = self.patients.get(patient_id)
        if patient is not None:
            patient.active, patient.inactive_reason = False, reason
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


OPEN = (S.PENDING.value, S.PAUSED.value)


def _plan_row(row: CheckinRow) -> PlanRow:
    return PlanRow(row.id, row.session_id, row.patient_id, row.step, row.status, row.due_at,
                   row.deliver_until, row.tz, row.paused_reason, row.last_error, row.answer)


class MemoryPlanTx:
    """`PlanTx` over the dicts of a `MemoryPlanStore`."""

    def __init__(self, store: MemoryPlanStore) -> None:
        self.store = store
        self.outbox = store.outbox
        self.tables = store.tables

    async def session(self, session_id: int) -> PlanSession | None:
        found = self.tables.sessions.get(session_id)
        return self.store.plan_session(found) if found else None

    async def patient(self, patient_id: int) -> PlanPatient | None:
        found = self.tables.patients.get(patient_id)
        return (PlanPatient(patient_id, found.telegram_id, found.timezone,
                            found.checkins_paused) if found else None)

    async def open_sessions(self, patient_id: int) -> list[PlanSession]:
        return [self.store.plan_session(s) for s in self.tables.sessions.values()
                if s.patient_id == patient_id and s.cancelled_at is None]

    async def rows(self, session_id: int) -> list[PlanRow]:
        return [_plan_row(r) for r in self.outbox.rows.values() if r.session_id == session_id]

    async def row(self, checkin_id: int) -> PlanRow | None:
        found = self.outbox.rows.get(checkin_id)
        return _plan_row(found) if found else None

    async def insert(self, rows: Sequence[NewRow], now: dt.datetime) -> None:
        taken = {(r.session_id, r.step) for r in self.outbox.rows.values()}
        for new in rows:
            if (new.session_id, new.step) in taken:
                continue  # unique per (session, step): ON CONFLICT DO NOTHING
            taken.add((new.session_id, new.step))
            row_id = self.tables.next_id("checkins")
            self.outbox.rows[row_id] = CheckinRow(
                id=row_id, patient_id=new.patient_id, step=new.step, due_at=new.due_at,
                deliver_until=new.deliver_until, session_id=new.session_id,
                day_offset=new.day_offset, status=new.status, paused_reason=new.paused_reason,
                local_date=new.local_date, tz=new.tz, updated_at=now)

    async def move(self, moves: Sequence[RowMove], now: dt.datetime) -> None:
        for m in moves:
            row = self.outbox.rows[m.id]
            row.local_date, row.due_at, row.deliver_until, row.tz = (
                m.local_date, m.due_at, m.deliver_until, m.tz)
            row.status, row.last_error, row.paused_reason = m.status, m.last_error, m.paused_reason
            row.updated_at = now

    async def set_session_date(self, session_id: int, day: dt.date) -> None:
        if session_id in self.tables.sessions:
            self.tables.sessions[session_id].session_date = day

    async def cancel_session(self, session_id: int, now: dt.datetime) -> None:
        found = self.tables.sessions.get(session_id)
        if found is not None and found.cancelled_at is None:
            found.cancelled_at = utc(now)

    async def set_patient_paused(self, patient_id: int, paused: bool) -> None:
        if patient_id in self.tables.patients:
            self.tables.patients[patient_id].checkins_paused = paused

    async def cancel_open(self, session_ids: Sequence[int], steps: Sequence[str] | None,
                          reason: str, now: dt.datetime) -> int:
        hit = [r for r in self.outbox.rows.values() if r.session_id in session_ids
               and r.status in OPEN and (steps is None or r.step in steps)]
        for row in hit:
            row.status, row.last_error, row.updated_at = S.CANCELLED.value, reason, now
        return len(hit)

    async def older_sessions(self, session: PlanSession) -> list[int]:
        return [s.id for s in self.tables.sessions.values()
                if s.patient_id == session.patient_id and s.id != session.id
                and s.session_date <= session.session_date]

    def _in(self, scope: Scope, row: CheckinRow) -> bool:
        if scope.patient_id is not None:
            return row.patient_id == scope.patient_id
        if scope.session_id is not None:
            return row.session_id == scope.session_id
        return row.paused_reason == scope.reason

    async def hold(self, scope: Scope, reason: str, now: dt.datetime) -> int:
        hit = [r for r in self.outbox.rows.values()
               if self._in(scope, r) and r.status == S.PENDING]
        for row in hit:
            row.status, row.paused_reason, row.updated_at = S.PAUSED.value, reason, now
        return len(hit)

    async def unhold(self, scope: Scope, reason: str, late: str, now: dt.datetime) -> int:
        held = [r for r in self.outbox.rows.values() if self._in(scope, r)
                and r.status == S.PAUSED and r.paused_reason == reason]
        back = 0
        for row in held:
            if row.deliver_until <= now:
                row.status, row.last_error = S.CANCELLED.value, late
            else:
                row.status = S.PENDING.value
                back += 1
            row.paused_reason, row.updated_at = None, now
        return back

    async def hand_to_patient_pause(self, reason: str, patient_reason: str,
                                    now: dt.datetime) -> None:
        for row in self.outbox.rows.values():
            patient = self.tables.patients.get(row.patient_id)
            if (row.paused_reason == reason and patient is not None
                    and patient.checkins_paused):
                row.paused_reason, row.updated_at = patient_reason, now

    async def record_answer(self, checkin_id: int, label: str, now: dt.datetime) -> None:
        row = self.outbox.rows[checkin_id]
        row.answer, row.answered_at, row.updated_at = label, now, now


class MemoryPlanStore:
    """The check-in manager's outbox in memory, over `tables` (see the module docstring). A
    transaction that raises leaves nothing behind (every table is restored), like a
    rolled-back database transaction."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.outbox = MemoryConnector(self.tables, clock)
        self.clock = clock  # only the planted rows' creation time

    @property
    def sessions(self) -> dict[int, SessionRow]:
        """The treatment sessions by id (shared with the storage twins)."""
        return self.tables.sessions

    @staticmethod
    def plan_session(found: SessionRow) -> PlanSession:
        return PlanSession(found.id, found.patient_id, found.session_date,
                           found.cancelled_at is not None)

    def add_patient(self, patient_id: int, *, telegram_id: int | None = None,
                    chat_id: int | None = None, timezone: str | None = None,
                    name: str | None = None, paused: bool = False) -> PatientRow:
        """Plant a consenting patient (Telegram and chat id default to the patient id)."""
        now = utc(self.clock())
        patient = PatientRow(patient_id,
                             telegram_id if telegram_id is not None else patient_id,
                             chat_id if chat_id is not None else patient_id, name, now,
                             timezone=timezone, consent_at=now, checkins_paused=paused)
        self.tables.patients[patient_id] = patient
        self.tables.used_id("patients", patient_id)
        return patient

    def add_session(self, patient_id: int, session_date: dt.date) -> SessionRow:
        """Plant a treatment session (entered by staff) for a planted patient."""
        return self.tables.add_session(patient_id, session_date, SessionSource.STAFF.value,
                                       self.clock())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PlanTx]:
        saved = self.tables.snapshot()
        try:
            yield MemoryPlanTx(self)
        except BaseException:
            self.tables.restore(saved)
            raise

    async def sessions_without_rows(self, since: dt.date) -> list[int]:
        with_rows = {r.session_id for r in self.outbox.rows.values()}
        return [s.id for s in self.tables.sessions.values() if s.cancelled_at is None
                and s.session_date >= since and s.id not in with_rows]

    def _info(self, row: CheckinRow) -> CheckinInfo:
        patient = self.outbox.patients.get(row.patient_id)
        return CheckinInfo(row.id, row.session_id, row.patient_id,
                           patient.name if patient else None, row.step, row.day_offset, row.tz,
                           row.due_at, row.deliver_until, row.status, row.paused_reason,
                           row.attempts, row.telegram_message_id, row.sent_at, row.answer,
                           row.last_error)

    async def listing(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                      due_before: dt.datetime | None = None,
                      limit: int = 200) -> list[CheckinInfo]:
        rows = [r for r in self.outbox.rows.values()
                if r.patient_id in self.outbox.patients
                and (not statuses or r.status in statuses)
                and (patient_id is None or r.patient_id == patient_id)
                and (due_before is None or r.due_at < due_before)]
        rows.sort(key=lambda r: (r.due_at, r.id))
        return [self._info(r) for r in rows[:limit]]

    async def counts(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                     due_before: dt.datetime | None = None) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.outbox.rows.values():
            if ((statuses and row.status not in statuses)
                    or (patient_id is not None and row.patient_id != patient_id)
                    or (due_before is not None and row.due_at >= due_before)):
                continue
            found[row.status] = found.get(row.status, 0) + 1
        return count_by_status(list(found.items()))

    async def attention(self, since: dt.datetime, silent_from: dt.datetime,
                        silent_until: dt.datetime) -> tuple[list[CheckinInfo],
                                                            list[CheckinInfo]]:
        bad = sorted((r for r in self.outbox.rows.values()
                      if r.status in (S.FAILED, S.EXPIRED) and r.updated_at is not None
                      and r.updated_at >= since), key=lambda r: r.updated_at or since)
        silent = sorted((r for r in self.outbox.rows.values()
                         if r.status == S.SENT and r.answer is None and r.sent_at is not None
                         and silent_from <= r.sent_at < silent_until),
                        key=lambda r: r.sent_at or since)
        return [self._info(r) for r in bad], [self._info(r) for r in silent]


class MemorySharedPause:
    """The shared 429 pause in memory (the interface of `scheduler.pause.SharedPause`): one
    value every sender built with it reads, moved only later, never earlier."""

    def __init__(self) -> None:
        self.paused_until: dt.datetime | None = None
        self.updated_at: dt.datetime | None = None

    async def until(self) -> dt.datetime | None:
        """When sending may resume (None or a past time: now)."""
        return self.paused_until

    async def extend(self, until: dt.datetime, now: dt.datetime) -> None:
        """Pause every sender until `until`, unless a later pause is already set."""
        until = utc(until)
        if self.paused_until is None or self.paused_until < until:
            self.paused_until, self.updated_at = until, utc(now)
