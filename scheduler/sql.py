"""Every SQL statement of the check-in outbox, kept together (procrastinate-style connector).

`SqlConnector` is what the dispatcher uses: a narrow interface (`claim_due`, `mark_sent`,
`release`, `mark_failed`, `cancel`, `pause`, `deactivate_patient`, `expire_overdue`,
`next_due`). `MemoryConnector` (scheduler/memory.py) is its in-memory twin for fast tests.

Claiming is one atomic statement per backend:
* SQLite: ``UPDATE checkins SET status='claimed', ... WHERE id IN (SELECT id ... ORDER BY
  due_at LIMIT n) RETURNING ...``; SQLite has a single writer, so two claimers never get the
  same row.
* PostgreSQL: the same UPDATE whose sub-select is ``FOR UPDATE SKIP LOCKED``, so concurrent
  claimers skip each other's rows instead of waiting.
Each claim sets a lease; rows whose lease ran out (a crashed worker) go back to pending.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CheckIn, CheckinStatus, Patient
from storage.patients import deactivate
from storage.results import affected

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


def _mine(checkin_id: int, worker: str) -> Any:
    """Guard for outcome updates: our claim, even if the lease ran out but nobody re-claimed."""
    return and_(T.c.id == checkin_id, T.c.claimed_by == worker,
                T.c.status.in_((S.CLAIMED.value, S.PENDING.value)))


def _due_ids(now: dt.datetime, limit: int, skip_locked: bool) -> Select[Any]:
    query = (select(T.c.id)
             .where(T.c.status == S.PENDING.value, T.c.due_at <= now, T.c.deliver_until > now)
             .order_by(T.c.due_at).limit(limit))  # index order: no sort of all due rows
    return query.with_for_update(skip_locked=True) if skip_locked else query


class SqlConnector:
    """The outbox on SQLite or PostgreSQL through SQLAlchemy's async engine."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.skip_locked = sessions.kw["bind"].dialect.name == "postgresql"

    async def _update(self, *conditions: Any, values: dict[str, Any]) -> int:
        async with self.sessions.begin() as s:
            result = await s.execute(update(T).where(*conditions).values(**values))
            return affected(result)

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
            stale = await s.execute(
                update(T).where(T.c.status == S.CLAIMED.value, T.c.lease_until <= now)
                .values(status=S.PENDING.value, lease_until=None, updated_at=now))
            if affected(stale):
                log.warning("%d check-in lease(s) ran out: back in the queue", affected(stale))
            rows = (await s.execute(
                update(T)
                .where(T.c.id.in_(_due_ids(now, limit, self.skip_locked)))
                .values(status=S.CLAIMED.value, claimed_by=worker, lease_until=now + lease,
                        attempts=T.c.attempts + 1, updated_at=now)
                .returning(T.c.id, T.c.session_id, T.c.patient_id, T.c.step, T.c.day_offset,
                           T.c.attempts, T.c.due_at, T.c.deliver_until))).all()
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
        values: dict[str, Any] = {"status": S.PENDING.value, "lease_until": None,
                                  "updated_at": now}
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = error
        if not count_attempt:
            values["attempts"] = T.c.attempts - 1  # the claim counted it
        return bool(await self._update(_mine(checkin_id, worker), values=values))

    async def _finish(self, checkin_id: int, worker: str, status: S, reason: str,
                      now: dt.datetime) -> bool:
        return bool(await self._update(_mine(checkin_id, worker), values={
            "status": status.value, "last_error": reason, "lease_until": None,
            "updated_at": now}))

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
        count = await self._update(T.c.status == S.CLAIMED.value, values={
            "status": S.PENDING.value, "lease_until": None, "updated_at": now})
        if count:
            log.warning("%d check-in(s) were in flight when the last run stopped: re-queued",
                        count)
        return count

    async def next_due(self) -> dt.datetime | None:
        """The earliest due time of a pending row, or None."""
        async with self.sessions.begin() as s:
            return await s.scalar(select(T.c.due_at).where(T.c.status == S.PENDING.value)
                                  .order_by(T.c.due_at).limit(1))


def count_by_status(rows: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Turn (status, count) rows into a dict with every status present."""
    counts = {status.value: 0 for status in S}
    counts.update({status: int(n) for status, n in rows})
    return counts
