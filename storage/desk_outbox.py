"""The desk outbox: messages the staff desk wrote, waiting for the bot to send them.

The web desk (bot/web/) runs without a bot process, so a staff reply, "taken" notice or
re-opened card it produces is stored here and the bot sends it (bot/telegram/desk_sender.py).
A staff action in Telegram (a reply, a button press, a command) goes the same way
(bot/telegram/staff_handlers.py): its messages are stored here first, tagged with the update
that caused them (`put`'s `source`), so one path delivers every staff message, in order per
chat, retried, and exactly once even when the update is handled again after a crash.
Every SQL statement on ``desk_outbox`` is in this module (`SqlDeskOutbox`); `MemoryDeskOutbox`
is its in-memory twin for tests. A row is claimed with one conditional UPDATE (pending, lease
free), so with several bot replicas exactly one sends it; a sender that dies leaves the lease
to run out and another replica takes the row again.

Exactly once, as far as Telegram allows: the claim's `attempts` is its token, so `sent` and
`failed` only count for the latest claim (a sender whose lease ran out and was re-claimed
learns it from `sent` returning False). The one duplicate left is a sender dying between
Telegram accepting a message and `sent` (Telegram has no idempotency key); the alert outbox
has the same window. A transient failure is tried again at the time the sender names (its
back-off: the alert outbox's) until `GIVE_UP_AFTER` after the row was written; the sender may
have a message to a patient audited on its report when it is delivered (``delivered``) or
given up (``undelivered``, with the reason), in the same transaction as the row's new state
(`storage.report_rows.audit`, that table's session-level writer).

Why this is not a kind of row in the alert outbox (``alerts``, storage/alerts.py): an alert
row is an obligation about a report ("show report 12's card", "edit message 345") that the
alert sender renders when it sends, from the report's state at that moment, so a card sent
late is still right and a repost nobody needs any more is dropped; a desk-outbox row is a
finished message (the staff member's words, the taken notice, the resolved notice exactly as
the desk wrote them, with its buttons) to one chat, which must go out as written even if the
report changed since. Merging them means a payload column and a second, render-free send path
inside the alert sender, the code being shared out with the check-in dispatcher and gaining
on-call destinations at the same time; until that settles the two tables keep one writer each
and the same lease, back-off and audit rules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.memory_tables import MemoryTables
from storage.models import DeskOutbox, OutboxStatus, ReportAction
from storage.report_rows import audit
from storage.reports_memory import audit as audit_in_memory
from storage.results import affected

LEASE = dt.timedelta(seconds=60)
GIVE_UP_AFTER = dt.timedelta(days=1)  # a transient failure is retried this long


@dataclass(frozen=True, slots=True)
class OutgoingItem:
    """One message to send: the chat, the report it concerns and what to send (JSON-able)."""

    chat_id: int
    payload: dict[str, Any]
    report_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """A claimed row: send it, then call `sent` or `failed` with it (`attempts` is the
    claim's token)."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    report_id: int | None
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Audit:
    """The audit entry a delivery (or giving up) writes on the item's report."""

    note: str


class DeskOutboxStore(Protocol):
    """What the desk and the bot's sender need from the outbox."""

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime,
                  source: str | None = None) -> list[int]: ...

    async def handled(self, source: str) -> bool: ...

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]: ...

    async def sent(self, item: ClaimedItem, now: dt.datetime,
                   audited: Audit | None = None) -> bool: ...

    async def failed(self, item: ClaimedItem, error: str, now: dt.datetime, *,
                     retry_at: dt.datetime | None = None,
                     audited: Audit | None = None) -> bool | None: ...

    async def pending_count(self, report_id: int | None = None) -> int: ...


class SqlDeskOutbox:
    """`desk_outbox` over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime,
                  source: str | None = None) -> list[int]:
        """Store the items in order (one transaction); their ids. With a `source` (a staff
        action in Telegram, "update:<id>"), nothing is stored when rows of that source
        already are (the update is being handled again after a crash): [] then."""
        rows = [DeskOutbox(chat_id=i.chat_id, report_id=i.report_id,
                           payload=json.dumps(i.payload, ensure_ascii=False),
                           status=OutboxStatus.PENDING.value, attempts=0, created_at=now,
                           source=source)
                for i in items]
        async with self.sessions.begin() as s:
            if source is not None and await s.scalar(self._of(source)) is not None:
                return []
            s.add_all(rows)
            await s.flush()
            return [r.id for r in rows]

    @staticmethod
    def _of(source: str) -> Any:
        return select(DeskOutbox.id).where(DeskOutbox.source == source).limit(1)

    async def handled(self, source: str) -> bool:
        """Were rows of this source stored already?"""
        async with self.sessions() as s:
            return await s.scalar(self._of(source)) is not None

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]:
        """Up to `limit` pending rows, oldest first, each leased to this caller; never a row
        behind an earlier one to the same chat that is being sent or waits for a retry (so
        a patient gets the desk's messages in the order it wrote them)."""
        free = and_(DeskOutbox.status == OutboxStatus.PENDING.value,
                    or_(DeskOutbox.lease_until.is_(None), DeskOutbox.lease_until < now))
        earlier = aliased(DeskOutbox)
        waiting = exists().where(  # an earlier message to the same chat still to go first
            earlier.chat_id == DeskOutbox.chat_id, earlier.id < DeskOutbox.id,
            earlier.status == OutboxStatus.PENDING.value, earlier.lease_until.is_not(None),
            earlier.lease_until >= now)
        async with self.sessions() as s:
            candidates = list(await s.scalars(select(DeskOutbox).where(free, ~waiting)
                                              .order_by(DeskOutbox.id).limit(limit)))
        claimed: list[ClaimedItem] = []
        for row in candidates:
            # checked again as the row is leased: another sender may have leased an earlier
            # message to this chat since the select (only our own earlier claims may wait)
            ahead = exists().where(
                earlier.chat_id == row.chat_id, earlier.id < row.id,
                earlier.status == OutboxStatus.PENDING.value, earlier.lease_until.is_not(None),
                earlier.lease_until >= now,
                earlier.id.not_in([c.id for c in claimed] or [0]))
            async with self.sessions.begin() as s:
                result = await s.execute(
                    update(DeskOutbox).where(DeskOutbox.id == row.id, free, ~ahead)
                    .values(lease_until=now + lease, attempts=DeskOutbox.attempts + 1))
            if affected(result) == 1:
                claimed.append(ClaimedItem(row.id, row.chat_id, json.loads(row.payload),
                                           row.report_id, row.attempts + 1,
                                           _utc(row.created_at)))
        return claimed

    @staticmethod
    def _ours(item: ClaimedItem) -> Any:
        return and_(DeskOutbox.id == item.id, DeskOutbox.attempts == item.attempts,
                    DeskOutbox.status == OutboxStatus.PENDING.value)

    async def sent(self, item: ClaimedItem, now: dt.datetime,
                   audited: Audit | None = None) -> bool:
        """Telegram accepted it (and `audited`: the report's ``delivered`` entry, in the same
        transaction). False when the claim was lost (another sender may have sent it too)."""
        async with self.sessions.begin() as s:
            result = await s.execute(update(DeskOutbox).where(self._ours(item))
                                     .values(status=OutboxStatus.SENT.value, sent_at=now,
                                             lease_until=None, last_error=None))
            if affected(result) != 1:
                return False
            if audited is not None and item.report_id is not None:
                await audit(s, item.report_id, None, ReportAction.DELIVERED, audited.note, now)
        return True

    async def failed(self, item: ClaimedItem, error: str, now: dt.datetime, *,
                     retry_at: dt.datetime | None = None,
                     audited: Audit | None = None) -> bool | None:
        """Sending failed: tried again at `retry_at` (a transient failure) until
        `GIVE_UP_AFTER` after the row was written; otherwise given up (``failed``; with
        `audited`, the report's ``undelivered`` entry in the same transaction). True when it
        was given up, False when it will be tried again, None when the claim was lost."""
        give_up = retry_at is None or retry_at - item.created_at > GIVE_UP_AFTER
        async with self.sessions.begin() as s:
            result = await s.execute(update(DeskOutbox).where(self._ours(item)).values(
                status=OutboxStatus.FAILED.value if give_up else OutboxStatus.PENDING.value,
                lease_until=None if give_up else retry_at, last_error=error[:500]))
            if affected(result) != 1:
                return None
            if give_up and audited is not None and item.report_id is not None:
                await audit(s, item.report_id, None, ReportAction.UNDELIVERED,
                            f"{audited.note}: {error}"[:500], now)
        return give_up

    async def pending_count(self, report_id: int | None = None) -> int:
        """Rows not sent yet (of one report, or all)."""
        query = select(func.count()).select_from(DeskOutbox).where(
            DeskOutbox.status == OutboxStatus.PENDING.value)
        if report_id is not None:
            query = query.where(DeskOutbox.report_id == report_id)
        async with self.sessions() as s:
            return int(await s.scalar(query) or 0)


@dataclass
class _Row:
    id: int
    item: OutgoingItem
    created_at: dt.datetime
    status: str = OutboxStatus.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    last_error: str | None = None
    source: str | None = None


@dataclass
class MemoryDeskOutbox:
    """The in-memory twin of `SqlDeskOutbox` (same behaviour, one process). A delivery's or a
    give-up's audit entry goes to the report's trail in `tables`, as the SQL writes it to
    ``report_actions`` (bot/backends.py `MemoryBackend` hands in the tables its other twins
    share, so the desk reads it)."""

    tables: MemoryTables = field(default_factory=MemoryTables)
    rows: list[_Row] = field(default_factory=list)

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime,
                  source: str | None = None) -> list[int]:
        if source is not None and await self.handled(source):
            return []
        ids = []
        for item in items:
            self.rows.append(_Row(len(self.rows) + 1, item, now, source=source))
            ids.append(len(self.rows))
        return ids

    async def handled(self, source: str) -> bool:
        return any(r.source == source for r in self.rows)

    def _free(self, row: _Row, now: dt.datetime) -> bool:
        return row.status == OutboxStatus.PENDING.value and (
            row.lease_until is None or row.lease_until < now)

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]:
        claimed = []
        held = {r.item.chat_id for r in self.rows if r.status == OutboxStatus.PENDING.value
                and r.lease_until is not None and r.lease_until >= now}
        free = []
        for row in self.rows:
            if row.status != OutboxStatus.PENDING.value:
                continue
            if self._free(row, now) and row.item.chat_id not in held:
                free.append(row)
            else:
                held.add(row.item.chat_id)
        for row in free[:limit]:
            row.lease_until, row.attempts = now + lease, row.attempts + 1
            claimed.append(ClaimedItem(row.id, row.item.chat_id, dict(row.item.payload),
                                       row.item.report_id, row.attempts, row.created_at))
        return claimed

    def _ours(self, item: ClaimedItem) -> _Row | None:
        row = self.rows[item.id - 1]
        ours = row.attempts == item.attempts and row.status == OutboxStatus.PENDING.value
        return row if ours else None

    async def sent(self, item: ClaimedItem, now: dt.datetime,
                   audited: Audit | None = None) -> bool:
        row = self._ours(item)
        if row is None:
            return False
        row.status, row.lease_until, row.last_error = OutboxStatus.SENT.value, None, None
        if audited is not None and item.report_id is not None:
            audit_in_memory(self.tables, item.report_id, None, ReportAction.DELIVERED,
                            audited.note, now)
        return True

    async def failed(self, item: ClaimedItem, error: str, now: dt.datetime, *,
                     retry_at: dt.datetime | None = None,
                     audited: Audit | None = None) -> bool | None:
        row = self._ours(item)
        if row is None:
            return None
        give_up = retry_at is None or retry_at - item.created_at > GIVE_UP_AFTER
        row.status = OutboxStatus.FAILED.value if give_up else OutboxStatus.PENDING.value
        row.lease_until = None if give_up else retry_at
        row.last_error = error[:500]
        if give_up and audited is not None and item.report_id is not None:
            audit_in_memory(self.tables, item.report_id, None, ReportAction.UNDELIVERED,
                            f"{audited.note}: {error}"[:500], now)
        return give_up

    async def pending_count(self, report_id: int | None = None) -> int:
        return sum(1 for r in self.rows if r.status == OutboxStatus.PENDING.value
                   and (report_id is None or r.item.report_id == report_id))

    def items(self) -> list[OutgoingItem]:
        """Everything put so far (for tests)."""
        return [replace(r.item) for r in self.rows]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


__all__ = ["GIVE_UP_AFTER", "Audit", "ClaimedItem", "DeskOutboxStore", "MemoryDeskOutbox",
           "OutgoingItem", "SqlDeskOutbox"]
