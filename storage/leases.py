"""Claim, lease, release: the SQL both outboxes share (check-ins: scheduler/sql.py; alerts
to the staff chat: storage/alerts.py).

An outbox table has ``status`` ("pending", "claimed", ...), ``claimed_by``, ``lease_until``,
``attempts``, ``due_at``, ``updated_at`` and ``last_error``. Claiming is one atomic statement
per backend: ``UPDATE ... WHERE id IN (SELECT id ... ORDER BY due_at LIMIT n) RETURNING``
(SQLite has a single writer, so two claimers never get the same row), with ``FOR UPDATE SKIP
LOCKED`` in the sub-select on PostgreSQL, so concurrent claimers skip each other's rows. Each
claim sets a lease; a row whose lease ran out (a dead sender) goes back to pending before the
next claim. Outcome updates are guarded by `mine`: the row is still this worker's claim.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, Update, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.results import affected

log = logging.getLogger(__name__)

PENDING, CLAIMED = "pending", "claimed"


class LeasedTable:
    """The shared statements over one outbox `table`; `noun` names its rows in the logs."""

    def __init__(self, table: Table, noun: str, *, error_limit: int | None = None) -> None:
        self.t = table
        self.noun = noun
        self.error_limit = error_limit  # longest last_error kept (None: all of it)

    def mine(self, row_id: int, worker: str) -> ColumnElement[bool]:
        """Guard for outcome updates: our claim (even if its lease ran out but nobody
        re-claimed it)."""
        c = self.t.c
        return and_(c.id == row_id, c.claimed_by == worker, c.status.in_((CLAIMED, PENDING)))

    def _due_ids(self, now: dt.datetime, limit: int, skip_locked: bool,
                 conditions: tuple[Any, ...], order_by: tuple[Any, ...]) -> Select[Any]:
        c = self.t.c
        query = (select(c.id).where(c.status == PENDING, c.due_at <= now, *conditions)
                 .order_by(*order_by).limit(limit))
        return query.with_for_update(skip_locked=True) if skip_locked else query

    async def claim(self, s: AsyncSession, now: dt.datetime, limit: int, lease: dt.timedelta,
                    worker: str, *, skip_locked: bool, returning: tuple[Any, ...],
                    conditions: tuple[Any, ...] = (),
                    order_by: tuple[Any, ...] = ()) -> list[Any]:
        """In `s`'s transaction: expired leases back to pending, then up to `limit` due rows
        (`conditions` narrow "due") claimed by `worker` until ``now + lease``; the `returning`
        columns of each claimed row."""
        c = self.t.c
        stale = await s.execute(update(self.t).where(c.status == CLAIMED, c.lease_until <= now)
                                .values(status=PENDING, lease_until=None, updated_at=now))
        if affected(stale):
            log.warning("%d %s lease(s) ran out: back in the queue", affected(stale), self.noun)
        due = self._due_ids(now, limit, skip_locked, conditions, order_by or (c.due_at,))
        claimed: Update = (update(self.t).where(c.id.in_(due))
                           .values(status=CLAIMED, claimed_by=worker, lease_until=now + lease,
                                   attempts=c.attempts + 1, updated_at=now))
        return list((await s.execute(claimed.returning(*returning))).all())

    def error(self, text: str) -> str:
        return text if self.error_limit is None else text[: self.error_limit]

    def release_values(self, now: dt.datetime, *, due_at: dt.datetime | None = None,
                       error: str | None = None, count_attempt: bool = True) -> dict[str, Any]:
        """A claimed row back in the queue (optionally later; an attempt that did not reach
        Telegram, e.g. a 429, uncounted: the claim counted it)."""
        values: dict[str, Any] = {"status": PENDING, "lease_until": None, "updated_at": now}
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = self.error(error)
        if not count_attempt:
            values["attempts"] = self.t.c.attempts - 1
        return values

    def finish_values(self, status: str, error: str | None, now: dt.datetime) -> dict[str, Any]:
        """A claim ended for good (failed, cancelled...), `error` kept as the reason."""
        return {"status": status, "last_error": None if error is None else self.error(error),
                "lease_until": None, "updated_at": now}

    async def update(self, sessions: async_sessionmaker[AsyncSession], *conditions: Any,
                     values: dict[str, Any]) -> int:
        """One UPDATE in its own transaction; rows changed."""
        async with sessions.begin() as s:
            return affected(await s.execute(update(self.t).where(*conditions).values(**values)))

    async def release_all_claims(self, sessions: async_sessionmaker[AsyncSession],
                                 now: dt.datetime) -> int:
        """Every claimed row back to the queue (start-up of the only sender)."""
        count = await self.update(sessions, self.t.c.status == CLAIMED, values={
            "status": PENDING, "lease_until": None, "updated_at": now})
        if count:
            log.warning("%d %s(s) were in flight when the last run stopped: re-queued", count,
                        self.noun)
        return count

    async def next_due(self, sessions: async_sessionmaker[AsyncSession]) -> dt.datetime | None:
        """The earliest due time of a pending row, or None."""
        async with sessions() as s:
            return await s.scalar(select(self.t.c.due_at).where(self.t.c.status == PENDING)
                                  .order_by(self.t.c.due_at).limit(1))


__all__ = ["CLAIMED", "PENDING", "LeasedTable"]
