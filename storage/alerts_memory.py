"""In-memory twin of `storage.alerts.AlertSql` for fast alert-sender tests.

Same interface and state machine, kept in dicts (one event loop, so every method is atomic);
`add()` plants a row, `cards` collects what `mark_sent` links to reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from storage.alerts import CARD_KINDS, OWED, ClaimedAlert
from storage.models import AlertKind, AlertStatus

S = AlertStatus


@dataclass
class MemoryAlert:
    """One outbox row."""

    id: int
    report_id: int | None
    kind: str
    due_at: dt.datetime
    created_at: dt.datetime
    chat_id: int | None = None
    message_id: int | None = None
    card_kind: str | None = None
    status: str = S.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    sent_message_id: int | None = None
    last_error: str | None = None


class MemoryAlerts:
    """The alert outbox in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, MemoryAlert] = {}
        self.cards: list[tuple[int, int, int, str]] = []  # (report, chat, message, kind)

    def add(self, report_id: int | None, kind: AlertKind, now: dt.datetime,
            **extra: object) -> MemoryAlert:
        """Plant a pending row due now."""
        row = MemoryAlert(len(self.rows) + 1, report_id, kind.value, now, now,
                          **extra)  # type: ignore[arg-type]
        self.rows[row.id] = row
        return row

    def _mine(self, alert_id: int, worker: str) -> MemoryAlert | None:
        row = self.rows.get(alert_id)
        if row is None or row.claimed_by != worker or row.status not in OWED:
            return None
        return row

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedAlert]:
        for row in self.rows.values():
            if row.status == S.CLAIMED.value and row.lease_until and row.lease_until <= now:
                row.status, row.lease_until = S.PENDING.value, None
        due = sorted((r for r in self.rows.values()
                      if r.status == S.PENDING.value and r.due_at <= now),
                     key=lambda r: (r.due_at, r.id))[:limit]
        claimed = []
        for row in due:
            row.status, row.claimed_by = S.CLAIMED.value, worker
            row.lease_until, row.attempts = now + lease, row.attempts + 1
            claimed.append(ClaimedAlert(row.id, row.report_id, row.kind, row.chat_id,
                                        row.message_id, row.card_kind, row.attempts,
                                        row.created_at))
        return claimed

    async def mark_sent(self, alert_id: int, worker: str, chat_id: int | None,
                        message_id: int | None, now: dt.datetime) -> bool:
        row = self._mine(alert_id, worker)
        if row is None:
            return False
        row.status, row.sent_message_id, row.lease_until = S.SENT.value, message_id, None
        if (row.kind in CARD_KINDS and row.report_id is not None and chat_id is not None
                and message_id is not None):
            self.cards.append((row.report_id, chat_id, message_id, row.kind))
        return True

    async def release(self, alert_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool:
        row = self._mine(alert_id, worker)
        if row is None:
            return False
        row.status, row.lease_until = S.PENDING.value, None
        if due_at is not None:
            row.due_at = due_at
        if error is not None:
            row.last_error = error
        if not count_attempt:
            row.attempts -= 1
        return True

    async def mark_failed(self, alert_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool:
        row = self._mine(alert_id, worker)
        if row is None:
            return False
        row.status, row.last_error, row.lease_until = S.FAILED.value, error, None
        return True

    async def release_all_claims(self, now: dt.datetime) -> int:
        count = 0
        for row in self.rows.values():
            if row.status == S.CLAIMED.value:
                row.status, row.lease_until = S.PENDING.value, None
                count += 1
        return count

    async def owed(self) -> int:
        return sum(1 for r in self.rows.values() if r.status in OWED)

    async def next_due(self) -> dt.datetime | None:
        due = [r.due_at for r in self.rows.values() if r.status == S.PENDING.value]
        return min(due) if due else None

    def snapshot(self) -> dict[int, MemoryAlert]:
        """A copy of every row (for assertions)."""
        return {i: replace(r) for i, r in self.rows.items()}
