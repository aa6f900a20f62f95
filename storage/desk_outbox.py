"""The web desk's outbox: messages the desk wrote, waiting for the bot to send them.

The web desk (bot/web/) runs without a bot process, so a staff reply, "taken" notice or
re-opened card it produces is stored here and the bot sends it (bot/telegram/desk_sender.py).
Every SQL statement on ``desk_outbox`` is in this module (`SqlDeskOutbox`); `MemoryDeskOutbox`
is its in-memory twin for tests. A row is claimed with one conditional UPDATE (pending, lease
free), so with several bot replicas exactly one sends it; a sender that dies leaves the lease
to run out and another replica takes the row again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import DeskOutbox, OutboxStatus
from storage.results import affected

MAX_ATTEMPTS = 5
LEASE = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class OutgoingItem:
    """One message to send: the chat, the report it concerns and what to send (JSON-able)."""

    chat_id: int
    payload: dict[str, Any]
    report_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """A claimed row: send it, then call `sent` or `failed` with its id."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    report_id: int | None
    attempts: int


class DeskOutboxStore(Protocol):
    """What the desk and the bot's sender need from the outbox."""

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime) -> list[int]: ...

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]: ...

    async def sent(self, item_id: int, now: dt.datetime) -> None: ...

    async def failed(self, item_id: int, error: str, now: dt.datetime,
                     permanent: bool = False) -> None: ...

    async def pending_count(self, report_id: int | None = None) -> int: ...


class SqlDeskOutbox:
    """`desk_outbox` over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime) -> list[int]:
        """Store the items in order (one transaction); their ids."""
        rows = [DeskOutbox(chat_id=i.chat_id, report_id=i.report_id,
                           payload=json.dumps(i.payload, ensure_ascii=False),
                           status=OutboxStatus.PENDING.value, attempts=0, created_at=now)
                for i in items]
        async with self.sessions.begin() as s:
            s.add_all(rows)
            await s.flush()
            return [r.id for r in rows]

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]:
        """Up to `limit` pending rows, oldest first, each leased to this caller."""
        free = and_(DeskOutbox.status == OutboxStatus.PENDING.value,
                    or_(DeskOutbox.lease_until.is_(None), DeskOutbox.lease_until < now))
        async with self.sessions() as s:
            candidates = list(await s.scalars(select(DeskOutbox).where(free)
                                              .order_by(DeskOutbox.id).limit(limit)))
        claimed = []
        for row in candidates:
            async with self.sessions.begin() as s:
                result = await s.execute(
                    update(DeskOutbox).where(DeskOutbox.id == row.id, free)
                    .values(lease_until=now + lease, attempts=DeskOutbox.attempts + 1))
            if affected(result) == 1:
                claimed.append(ClaimedItem(row.id, row.chat_id, json.loads(row.payload),
                                           row.report_id, row.attempts + 1))
        return claimed

    async def sent(self, item_id: int, now: dt.datetime) -> None:
        """Telegram accepted it."""
        async with self.sessions.begin() as s:
            await s.execute(update(DeskOutbox).where(DeskOutbox.id == item_id)
                            .values(status=OutboxStatus.SENT.value, sent_at=now,
                                    lease_until=None, last_error=None))

    async def failed(self, item_id: int, error: str, now: dt.datetime,
                     permanent: bool = False) -> None:
        """Sending failed: tried again after a short wait, unless permanent or tried too often."""
        async with self.sessions.begin() as s:
            row = await s.get(DeskOutbox, item_id)
            if row is None:
                return
            give_up = permanent or row.attempts >= MAX_ATTEMPTS
            row.status = OutboxStatus.FAILED.value if give_up else OutboxStatus.PENDING.value
            row.lease_until = None if give_up else now + dt.timedelta(seconds=5 * row.attempts)
            row.last_error = error[:500]

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
    status: str = OutboxStatus.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    last_error: str | None = None


@dataclass
class MemoryDeskOutbox:
    """The in-memory twin of `SqlDeskOutbox` (same behaviour, one process)."""

    rows: list[_Row] = field(default_factory=list)

    async def put(self, items: Sequence[OutgoingItem], now: dt.datetime) -> list[int]:
        ids = []
        for item in items:
            self.rows.append(_Row(len(self.rows) + 1, item))
            ids.append(len(self.rows))
        return ids

    def _free(self, row: _Row, now: dt.datetime) -> bool:
        return row.status == OutboxStatus.PENDING.value and (
            row.lease_until is None or row.lease_until < now)

    async def claim(self, now: dt.datetime, limit: int = 20,
                    lease: dt.timedelta = LEASE) -> list[ClaimedItem]:
        claimed = []
        for row in [r for r in self.rows if self._free(r, now)][:limit]:
            row.lease_until, row.attempts = now + lease, row.attempts + 1
            claimed.append(ClaimedItem(row.id, row.item.chat_id, dict(row.item.payload),
                                       row.item.report_id, row.attempts))
        return claimed

    async def sent(self, item_id: int, now: dt.datetime) -> None:
        row = self.rows[item_id - 1]
        row.status, row.lease_until, row.last_error = OutboxStatus.SENT.value, None, None

    async def failed(self, item_id: int, error: str, now: dt.datetime,
                     permanent: bool = False) -> None:
        row = self.rows[item_id - 1]
        give_up = permanent or row.attempts >= MAX_ATTEMPTS
        row.status = OutboxStatus.FAILED.value if give_up else OutboxStatus.PENDING.value
        row.lease_until = None if give_up else now + dt.timedelta(seconds=5 * row.attempts)
        row.last_error = error[:500]

    async def pending_count(self, report_id: int | None = None) -> int:
        return sum(1 for r in self.rows if r.status == OutboxStatus.PENDING.value
                   and (report_id is None or r.item.report_id == report_id))

    def items(self) -> list[OutgoingItem]:
        """Everything put so far (for tests)."""
        return [replace(r.item) for r in self.rows]


__all__ = ["ClaimedItem", "DeskOutboxStore", "MemoryDeskOutbox", "OutgoingItem",
           "SqlDeskOutbox"]
