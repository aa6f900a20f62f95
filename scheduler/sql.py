"""Every SQL statement of the check-in outbox, kept together (procrastinate-style connectors).

Two narrow interfaces, each with an in-memory twin in scheduler/memory.py:
* `Connector` / `SqlConnector` is what the dispatcher uses (`claim_due`, `mark_sent`,
  `release`, `mark_failed`, `cancel`, `pause`, `deactivate_patient`, `expire_overdue`,
  `next_due`); twin `MemoryConnector`.
* `PlanStore` / `SqlPlanStore` is what the check-in manager uses: `transaction()` gives a
  `PlanTx` (read a session, its patient and rows; insert, move, hold, release, cancel rows),
  plus read-only listings; twin `MemoryPlanStore`.
Rows of other tables change only through their storage modules (storage.patients,
storage.sessions), called inside the same transaction.

Claiming, leases and releases are the statements the alert outbox uses too
(storage/leases.py `LeasedTable`): one atomic ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)
RETURNING`` per claim (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); rows whose lease ran out (a
crashed worker) go back to pending.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.leases import LeasedTable
from storage.models import CheckIn, CheckinStatus, Patient, TreatmentSession
from storage.patients import deactivate, set_paused
from storage.results import affected
from storage.sessions import cancel as cancel_session_row
from storage.sessions import set_date as set_session_date

log = logging.getLogger(__name__)

T = CheckIn.__table__
S = CheckinStatus
OPEN_STATUSES = (S.PENDING.value, S.PAUSED.value)


@dataclass(frozen=True)
class ClaimedCheckin:
    """A claimed row plus what the dispatcher needs to know about its patient."""

    id: int
    session_id: int
    patient_id: int
    step: str
    day_offset: int
    attempts: int
    due_at: dt.datetime
    deliver_until: dt.datetime
    chat_id: int | None = None
    patient_active: bool = True
    patient_paused: bool = False


class Connector(Protocol):
    """The dispatcher's view of the outbox. All times are aware UTC datetimes."""

    async def expire_overdue(self, now: dt.datetime) -> int: ...

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedCheckin]: ...

    async def mark_sent(self, checkin_id: int, worker: str, message_id: int,
                        now: dt.datetime) -> bool: ...

    async def release(self, checkin_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool: ...

    async def mark_failed(self, checkin_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool: ...

    async def cancel(self, checkin_id: int, worker: str, reason: str,
                     now: dt.datetime) -> bool: ...

    async def pause(self, checkin_id: int, worker: str, reason: str,
                    now: dt.datetime) -> bool: ...

    async def deactivate_patient(self, patient_id: int, reason: str, now: dt.datetime) -> int: ...

    async def release_all_claims(self, now: dt.datetime) -> int: ...

    async def next_due(self) -> dt.datetime | None: ...


LEASES = LeasedTable(T, "check-in")
_mine = LEASES.mine


class SqlConnector:
    """The outbox on SQLite or PostgreSQL through SQLAlchemy's async engine."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.skip_locked = sessions.kw["bind"].dialect.name == "postgresql"

    async def _update(self, *conditions: Any, values: dict[str, Any]) -> int:
        return await LEASES.update(self.sessions, *conditions, values=values)

    async def expire_overdue(self, now: dt.datetime) -> int:
        """Pending rows past their delivery window become expired (never sent late)."""
        count = await self._update(
            T.c.status == S.PENDING.value, T.c.deliver_until <= now,
            values={"status": S.EXPIRED.value, "updated_at": now,
                    "last_error": "not sent within its delivery window"})
        if count:
            log.warning("%d check-in(s) expired unsent", count)
        return count

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedCheckin]:
        """Atomically take up to `limit` due rows for `worker` until `now + lease`."""
        async with self.sessions.begin() as s:
            rows = await LEASES.claim(
                s, now, limit, lease, worker, skip_locked=self.skip_locked,
                conditions=(T.c.deliver_until > now,),  # never sent after its window
                returning=(T.c.id, T.c.session_id, T.c.patient_id, T.c.step, T.c.day_offset,
                           T.c.attempts, T.c.due_at, T.c.deliver_until))
            patients = await self._patients(s, {r.patient_id for r in rows})
        claimed = []
        for row in rows:
            chat_id, active, paused = patients.get(row.patient_id, (None, False, False))
            claimed.append(ClaimedCheckin(
                id=row.id, session_id=row.session_id, patient_id=row.patient_id, step=row.step,
                day_offset=row.day_offset, attempts=row.attempts, due_at=row.due_at,
                deliver_until=row.deliver_until, chat_id=chat_id, patient_active=active,
                patient_paused=paused))
        return sorted(claimed, key=lambda c: (c.due_at, c.id))

    @staticmethod
    async def _patients(s: AsyncSession, ids: set[int]) -> dict[int, tuple[int | None, bool,
                                                                          bool]]:
        if not ids:
            return {}
        found = await s.execute(select(Patient.id, Patient.chat_id, Patient.active,
                                       Patient.checkins_paused).where(Patient.id.in_(ids)))
        return {pid: (chat, active, paused) for pid, chat, active, paused in found}

    async def mark_sent(self, checkin_id: int, worker: str, message_id: int,
                        now: dt.datetime) -> bool:
        """Record delivery; False when the claim was lost (another worker may have sent it)."""
        changed = await self._update(_mine(checkin_id, worker), values={
            "status": S.SENT.value, "telegram_message_id": message_id, "sent_at": now,
            "lease_until": None, "last_error": None, "updated_at": now})
        if not changed:
            log.warning("check-in %d was sent but its claim was lost: possible duplicate",
                        checkin_id)
        return bool(changed)

    async def release(self, checkin_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool:
        """Put a claimed row back in the queue (optionally later, optionally uncounted)."""
        values = LEASES.release_values(now, due_at=due_at, error=error,
                                       count_attempt=count_attempt)
        return bool(await self._update(_mine(checkin_id, worker), values=values))

    async def _finish(self, checkin_id: int, worker: str, status: S, reason: str,
                      now: dt.datetime) -> bool:
        return bool(await self._update(_mine(checkin_id, worker),
                                       values=LEASES.finish_values(status.value, reason, now)))

    async def mark_failed(self, checkin_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool:
        """Give up on a row; it stays visible to staff as failed."""
        log.error("check-in %d failed: %s", checkin_id, error)
        return await self._finish(checkin_id, worker, S.FAILED, error, now)

    async def cancel(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        """Drop a claimed row that must not be sent (patient unreachable, step removed)."""
        return await self._finish(checkin_id, worker, S.CANCELLED, reason, now)

    async def pause(self, checkin_id: int, worker: str, reason: str, now: dt.datetime) -> bool:
        """Hold a claimed row (the patient paused check-ins meanwhile)."""
        async with self.sessions.begin() as s:
            result = await s.execute(update(T).where(_mine(checkin_id, worker)).values(
                status=S.PAUSED.value, paused_reason=reason, lease_until=None, updated_at=now,
                attempts=T.c.attempts - 1))
            return bool(affected(result))

    async def deactivate_patient(self, patient_id: int, reason: str, now: dt.datetime) -> int:
        """Mark the patient inactive and cancel their open check-ins; returns rows cancelled."""
        async with self.sessions.begin() as s:
            await deactivate(s, patient_id, reason)
            result = await s.execute(
                update(T).where(T.c.patient_id == patient_id, T.c.status.in_(OPEN_STATUSES))
                .values(status=S.CANCELLED.value, last_error=f"patient unreachable: {reason}",
                        updated_at=now))
        log.warning("patient %d unreachable (%s): %d check-in(s) cancelled", patient_id, reason,
                    affected(result))
        return affected(result)

    async def release_all_claims(self, now: dt.datetime) -> int:
        """Return every claimed row to the queue (start-up of the only dispatcher)."""
        return await LEASES.release_all_claims(self.sessions, now)

    async def next_due(self) -> dt.datetime | None:
        """The earliest due time of a pending row, or None."""
        return await LEASES.next_due(self.sessions)


def count_by_status(rows: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Turn (status, count) rows into a dict with every status present."""
    counts = {status.value: 0 for status in S}
    counts.update({status: int(n) for status, n in rows})
    return counts


# --- the manager's statements --------------------------------------------------------------
# The check-in manager (scheduler/manager.py) decides which rows a session needs and when;
# these are the reads and writes it does, one `PlanTx` per transaction. `MemoryPlanStore`
# (scheduler/memory.py) is the in-memory twin.


@dataclass(frozen=True)
class PlanSession:
    """A treatment session as the planner sees it."""

    id: int
    patient_id: int
    session_date: dt.date
    cancelled: bool


@dataclass(frozen=True)
class PlanPatient:
    """A patient as the planner sees it."""

    id: int
    telegram_id: int | None
    timezone: str | None
    paused: bool


@dataclass(frozen=True)
class PlanRow:
    """An existing outbox row as the planner sees it."""

    id: int
    session_id: int
    patient_id: int
    step: str
    status: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    tz: str
    paused_reason: str | None
    last_error: str | None
    answer: str | None


@dataclass(frozen=True)
class NewRow:
    """A row to insert (skipped when the session already has a row for the step)."""

    session_id: int
    patient_id: int
    step: str
    day_offset: int
    local_date: dt.date
    tz: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    status: str
    paused_reason: str | None


@dataclass(frozen=True)
class RowMove:
    """New timing (and possibly status) for an existing row."""

    id: int
    local_date: dt.date
    due_at: dt.datetime
    deliver_until: dt.datetime
    tz: str
    status: str
    last_error: str | None
    paused_reason: str | None


@dataclass(frozen=True)
class CheckinInfo:
    """A check-in row for listings and staff summaries."""

    id: int
    session_id: int
    patient_id: int
    patient_name: str | None
    step: str
    day_offset: int
    tz: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    status: str
    paused_reason: str | None
    attempts: int
    telegram_message_id: int | None
    sent_at: dt.datetime | None
    answer: str | None
    last_error: str | None


@dataclass(frozen=True)
class Scope:
    """Which rows a hold or release touches: one patient's, one session's, or those held
    with one reason (exactly one is set)."""

    patient_id: int | None = None
    session_id: int | None = None
    reason: str | None = None


class PlanTx(Protocol):
    """The planner's reads and writes inside one transaction."""

    async def session(self, session_id: int) -> PlanSession | None: ...

    async def patient(self, patient_id: int) -> PlanPatient | None: ...

    async def open_sessions(self, patient_id: int) -> list[PlanSession]: ...

    async def rows(self, session_id: int) -> list[PlanRow]: ...

    async def row(self, checkin_id: int) -> PlanRow | None: ...

    async def insert(self, rows: Sequence[NewRow], now: dt.datetime) -> None: ...

    async def move(self, moves: Sequence[RowMove], now: dt.datetime) -> None: ...

    async def set_session_date(self, session_id: int, day: dt.date) -> None: ...

    async def cancel_session(self, session_id: int, now: dt.datetime) -> None: ...

    async def set_patient_paused(self, patient_id: int, paused: bool) -> None: ...

    async def cancel_open(self, session_ids: Sequence[int], steps: Sequence[str] | None,
                          reason: str, now: dt.datetime) -> int: ...

    async def older_sessions(self, session: PlanSession) -> list[int]: ...

    async def hold(self, scope: Scope, reason: str, now: dt.datetime) -> int: ...

    async def unhold(self, scope: Scope, reason: str, late: str, now: dt.datetime) -> int: ...

    async def hand_to_patient_pause(self, reason: str, patient_reason: str,
                                    now: dt.datetime) -> None: ...

    async def record_answer(self, checkin_id: int, label: str, now: dt.datetime) -> None: ...


class PlanStore(Protocol):
    """The manager's view of the outbox: transactions plus read-only listings."""

    def transaction(self) -> AbstractAsyncContextManager[PlanTx]: ...

    async def sessions_without_rows(self, since: dt.date) -> list[int]: ...

    async def listing(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                      due_before: dt.datetime | None = None,
                      limit: int = 200) -> list[CheckinInfo]: ...

    async def counts(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                     due_before: dt.datetime | None = None) -> dict[str, int]: ...

    async def attention(self, since: dt.datetime, silent_from: dt.datetime,
                        silent_until: dt.datetime) -> tuple[list[CheckinInfo],
                                                            list[CheckinInfo]]: ...


def _plan_row(row: CheckIn) -> PlanRow:
    return PlanRow(row.id, row.session_id, row.patient_id, row.step, row.status, row.due_at,
                   row.deliver_until, row.tz, row.paused_reason, row.last_error, row.answer)


def _plan_session(row: TreatmentSession) -> PlanSession:
    return PlanSession(row.id, row.patient_id, row.session_date, row.cancelled_at is not None)


def _info(row: CheckIn, name: str | None) -> CheckinInfo:
    return CheckinInfo(row.id, row.session_id, row.patient_id, name, row.step, row.day_offset,
                       row.tz, row.due_at, row.deliver_until, row.status, row.paused_reason,
                       row.attempts, row.telegram_message_id, row.sent_at, row.answer,
                       row.last_error)


def _scope(scope: Scope) -> ColumnElement[bool]:
    if scope.patient_id is not None:
        return CheckIn.patient_id == scope.patient_id
    if scope.session_id is not None:
        return CheckIn.session_id == scope.session_id
    return CheckIn.paused_reason == scope.reason


class SqlPlanTx:
    """`PlanTx` over one SQLAlchemy session (its transaction is the caller's)."""

    def __init__(self, s: AsyncSession) -> None:
        self.s = s
        self.dialect = s.get_bind().dialect.name

    async def session(self, session_id: int) -> PlanSession | None:
        row = await self.s.get(TreatmentSession, session_id)
        return _plan_session(row) if row else None

    async def patient(self, patient_id: int) -> PlanPatient | None:
        row = await self.s.get(Patient, patient_id)
        return (PlanPatient(row.id, row.telegram_id, row.timezone, row.checkins_paused)
                if row else None)

    async def open_sessions(self, patient_id: int) -> list[PlanSession]:
        rows = await self.s.scalars(select(TreatmentSession).where(
            TreatmentSession.patient_id == patient_id, TreatmentSession.cancelled_at.is_(None)))
        return [_plan_session(r) for r in rows]

    async def rows(self, session_id: int) -> list[PlanRow]:
        found = await self.s.scalars(select(CheckIn).where(CheckIn.session_id == session_id))
        return [_plan_row(r) for r in found]

    async def row(self, checkin_id: int) -> PlanRow | None:
        found = await self.s.get(CheckIn, checkin_id)
        return _plan_row(found) if found else None

    async def insert(self, rows: Sequence[NewRow], now: dt.datetime) -> None:
        if not rows:
            return
        values = [{**asdict(r), "attempts": 0, "created_at": now, "updated_at": now}
                  for r in rows]
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        await self.s.execute(dialect.insert(CheckIn).values(values).on_conflict_do_nothing(
            index_elements=["session_id", "step"]))

    async def move(self, moves: Sequence[RowMove], now: dt.datetime) -> None:
        for m in moves:
            await self.s.execute(update(CheckIn).where(CheckIn.id == m.id).values(
                local_date=m.local_date, due_at=m.due_at, deliver_until=m.deliver_until,
                tz=m.tz, status=m.status, last_error=m.last_error,
                paused_reason=m.paused_reason, updated_at=now))

    async def set_session_date(self, session_id: int, day: dt.date) -> None:
        await set_session_date(self.s, session_id, day)

    async def cancel_session(self, session_id: int, now: dt.datetime) -> None:
        await cancel_session_row(self.s, session_id, now)

    async def set_patient_paused(self, patient_id: int, paused: bool) -> None:
        await set_paused(self.s, patient_id, paused)

    async def cancel_open(self, session_ids: Sequence[int], steps: Sequence[str] | None,
                          reason: str, now: dt.datetime) -> int:
        if not session_ids:
            return 0
        condition = and_(CheckIn.session_id.in_(session_ids), CheckIn.status.in_(OPEN_STATUSES))
        if steps is not None:
            condition = and_(condition, CheckIn.step.in_(steps))
        return affected(await self.s.execute(update(CheckIn).where(condition).values(
            status=S.CANCELLED.value, last_error=reason, updated_at=now)))

    async def older_sessions(self, session: PlanSession) -> list[int]:
        return list(await self.s.scalars(select(TreatmentSession.id).where(
            TreatmentSession.patient_id == session.patient_id,
            TreatmentSession.id != session.id,
            TreatmentSession.session_date <= session.session_date)))

    async def hold(self, scope: Scope, reason: str, now: dt.datetime) -> int:
        return affected(await self.s.execute(update(CheckIn).where(
            _scope(scope), CheckIn.status == S.PENDING.value)
            .values(status=S.PAUSED.value, paused_reason=reason, updated_at=now)))

    async def unhold(self, scope: Scope, reason: str, late: str, now: dt.datetime) -> int:
        held = and_(_scope(scope), CheckIn.status == S.PAUSED.value,
                    CheckIn.paused_reason == reason)
        await self.s.execute(update(CheckIn).where(held, CheckIn.deliver_until <= now).values(
            status=S.CANCELLED.value, last_error=late, paused_reason=None, updated_at=now))
        return affected(await self.s.execute(update(CheckIn).where(held).values(
            status=S.PENDING.value, paused_reason=None, updated_at=now)))

    async def hand_to_patient_pause(self, reason: str, patient_reason: str,
                                    now: dt.datetime) -> None:
        stopped = select(Patient.id).where(Patient.checkins_paused.is_(True))
        await self.s.execute(update(CheckIn).where(
            CheckIn.paused_reason == reason, CheckIn.patient_id.in_(stopped))
            .values(paused_reason=patient_reason, updated_at=now))

    async def record_answer(self, checkin_id: int, label: str, now: dt.datetime) -> None:
        await self.s.execute(update(CheckIn).where(CheckIn.id == checkin_id).values(
            answer=label, answered_at=now, updated_at=now))


class SqlPlanStore:
    """The manager's outbox on SQLite or PostgreSQL."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PlanTx]:
        async with self.sessions.begin() as s:
            yield SqlPlanTx(s)

    async def sessions_without_rows(self, since: dt.date) -> list[int]:
        has_rows = select(CheckIn.id).where(CheckIn.session_id == TreatmentSession.id).exists()
        async with self.sessions.begin() as s:
            return list(await s.scalars(select(TreatmentSession.id).where(
                TreatmentSession.cancelled_at.is_(None), TreatmentSession.session_date >= since,
                ~has_rows)))

    async def listing(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                      due_before: dt.datetime | None = None,
                      limit: int = 200) -> list[CheckinInfo]:
        query = select(CheckIn, Patient.name).join(Patient, Patient.id == CheckIn.patient_id)
        if statuses:
            query = query.where(CheckIn.status.in_(statuses))
        if patient_id is not None:
            query = query.where(CheckIn.patient_id == patient_id)
        if due_before is not None:
            query = query.where(CheckIn.due_at < due_before)
        query = query.order_by(CheckIn.due_at, CheckIn.id).limit(limit)
        async with self.sessions.begin() as s:
            return [_info(row, name) for row, name in await s.execute(query)]

    async def counts(self, *, statuses: Sequence[str] = (), patient_id: int | None = None,
                     due_before: dt.datetime | None = None) -> dict[str, int]:
        query = select(CheckIn.status, func.count())
        if statuses:
            query = query.where(CheckIn.status.in_(statuses))
        if patient_id is not None:
            query = query.where(CheckIn.patient_id == patient_id)
        if due_before is not None:
            query = query.where(CheckIn.due_at < due_before)
        async with self.sessions.begin() as s:
            rows = await s.execute(query.group_by(CheckIn.status))
            return count_by_status([(str(status), int(n)) for status, n in rows])

    async def attention(self, since: dt.datetime, silent_from: dt.datetime,
                        silent_until: dt.datetime) -> tuple[list[CheckinInfo],
                                                            list[CheckinInfo]]:
        base = select(CheckIn, Patient.name).join(Patient, Patient.id == CheckIn.patient_id)
        async with self.sessions.begin() as s:
            bad = await s.execute(base.where(
                CheckIn.status.in_((S.FAILED.value, S.EXPIRED.value)),
                CheckIn.updated_at >= since).order_by(CheckIn.updated_at))
            silent = await s.execute(base.where(
                CheckIn.status == S.SENT.value, CheckIn.answer.is_(None),
                CheckIn.sent_at >= silent_from, CheckIn.sent_at < silent_until)
                .order_by(CheckIn.sent_at))
            return ([_info(r, n) for r, n in bad], [_info(r, n) for r, n in silent])
