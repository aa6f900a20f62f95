"""In-memory twin of `storage.alerts.AlertSql` (the alert outbox), for fast tests.

`MemoryAlerts` keeps the outbox's rows in a `MemoryTables` (storage/memory_tables.py), the one
the other aggregates' twins share when it is handed one: a new report's card is owed by the
reports' twin there, a card sent is linked to its report there (and a re-post audited), an
erasure's "[erased]" edits are owed by the patients' twin there. Both views have the same
interface and state machine as the SQL: the alert sender's (claim, lease, mark sent, release,
give up: `AlertConnector`) and the staff desk's (owe a card or an edit, claim a re-post,
thread a repeat, apply an edit, mark a red flag written inside a report, alert staff again
when any of them raised the urgency,
unreachable on-call chats: the core's `CardOutbox`).
One event loop, so every method is atomic. `add()` plants a row; `cards` collects what
`mark_sent` links to reports (also when the report itself was never planted); a row gone
with its erased report (the patient erased while its card was being sent) owes an "[erased]"
edit of the message delivered, as the SQL does.
tests/test_alerts_conformance.py runs the desk's view against both; tests/test_alert_sender.py
runs the sender on the twin.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from storage.alerts import (
    BY_EDIT,
    BY_REPEAT,
    BY_THREAD,
    CARD_KINDS,
    MESSAGE_KINDS,
    OWED,
    UNREACHABLE,
    UPDATE_DELAY,
    ClaimedAlert,
    higher,
)
from storage.memory_tables import AlertRow, CardRow, MemoryTables, ReportRow, utc
from storage.report_info import URGENCY_RANK
from storage.reports_memory import audit, claim_repost
from storage.states import AlertKind, AlertStatus, ReportAction, ReportStatus

S = AlertStatus
MemoryAlert = AlertRow  # one outbox row (the name the sender's tests use)


class MemoryAlerts:
    """The alert outbox in memory."""

    def __init__(self, tables: MemoryTables | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.cards: list[tuple[int, int, int, str]] = []  # (report, chat, message, kind)

    @property
    def rows(self) -> dict[int, AlertRow]:
        """Every outbox row by id."""
        return self.tables.alerts

    def add(self, report_id: int | None, kind: AlertKind, now: dt.datetime,
            **extra: object) -> AlertRow:
        """Plant a pending row due now."""
        row = AlertRow(self.tables.next_id("alerts"), report_id, kind.value, now, now,
                       **extra)  # type: ignore[arg-type]
        self.rows[row.id] = row
        return row

    def _mine(self, alert_id: int, worker: str) -> AlertRow | None:
        row = self.rows.get(alert_id)
        if row is None or row.claimed_by != worker or row.status not in OWED:
            return None
        return row

    # --- the sender's view --------------------------------------------------------------
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
            row.updated_at = now
            claimed.append(ClaimedAlert(row.id, row.report_id, row.kind, row.chat_id,
                                        row.message_id, row.card_kind, row.attempts,
                                        row.created_at))
        return claimed

    async def mark_sent(self, alert_id: int, worker: str, chat_id: int | None,
                        message_id: int | None, now: dt.datetime,
                        kind: str | None = None) -> bool:
        row = self._mine(alert_id, worker)
        lost = self.rows.get(alert_id) if row is None else None
        if lost is not None:  # lost to another worker: a duplicate card, linked all the same
            if (lost.kind in MESSAGE_KINDS and lost.report_id in self.tables.reports
                    and chat_id is not None and message_id is not None):
                self._link(lost.report_id, chat_id, message_id, lost.kind, now)
            return False
        if row is None:  # a row gone with its erased report: its message is owed "[erased]"
            if (alert_id not in self.rows and chat_id is not None and message_id is not None
                    and kind != AlertKind.ERASE.value):
                self.tables.owe_alert(None, now, AlertKind.ERASE, chat_id=chat_id,
                                      message_id=message_id,
                                      card_kind=kind or AlertKind.CARD.value)
            return False
        row.status, row.sent_message_id, row.lease_until = S.SENT.value, message_id, None
        row.sent_at, row.last_error, row.updated_at = now, None, now
        if (row.kind in MESSAGE_KINDS and row.report_id is not None and chat_id is not None
                and message_id is not None):
            self.cards.append((row.report_id, chat_id, message_id, row.kind))
            if row.report_id in self.tables.reports:  # linked, as report_cards is
                self._link(row.report_id, chat_id, message_id, row.kind, now)
                if row.kind == AlertKind.REPOST.value:
                    audit(self.tables, row.report_id, None, ReportAction.REPOSTED, None, now)
        return True

    def _link(self, report_id: int, chat_id: int, message_id: int, kind: str,
              now: dt.datetime) -> None:
        """Message `message_id` is a card of the report (as storage/report_rows.py
        `link_card`)."""
        card = CardRow(self.tables.next_id("cards"), report_id, chat_id, message_id, kind,
                       utc(now))
        self.tables.cards[card.id] = card

    async def release(self, alert_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool:
        row = self._mine(alert_id, worker)
        if row is None:
            return False
        row.status, row.lease_until, row.updated_at = S.PENDING.value, None, now
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
        row.updated_at = now
        return True

    async def release_all_claims(self, now: dt.datetime) -> int:
        count = 0
        for row in self.rows.values():
            if row.status == S.CLAIMED.value:
                row.status, row.lease_until, row.updated_at = S.PENDING.value, None, now
                count += 1
        return count

    async def owed(self) -> int:
        return sum(1 for r in self.rows.values() if r.status in OWED)

    async def next_due(self) -> dt.datetime | None:
        due = [r.due_at for r in self.rows.values() if r.status == S.PENDING.value]
        return min(due) if due else None

    def snapshot(self) -> dict[int, AlertRow]:
        """A copy of every row (for assertions)."""
        return {i: replace(r) for i, r in self.rows.items()}

    # --- the desk's view ----------------------------------------------------------------
    async def owe(self, report_id: int, kind: AlertKind, now: dt.datetime,
                  chats: Sequence[int | None] = (None,)) -> None:
        """Each of `chats` (None: the staff chat) is owed `kind` for the report."""
        for chat in chats:
            self.tables.owe_alert(report_id, now, kind, chat_id=chat)

    async def owe_repost(self, report_id: int, wait: dt.timedelta, now: dt.datetime,
                         chats: Sequence[int | None] = (None,)) -> bool:
        """Claim the re-post of an untaken card and owe it to each of `chats`; True for
        exactly one caller per `wait`."""
        if not claim_repost(self.tables, report_id, wait, utc(now)):
            return False
        for chat in chats:
            self.tables.owe_alert(report_id, now, AlertKind.REPOST, chat_id=chat)
        return True

    def _pending_edit(self, report_id: int, *, of_copy: bool) -> list[AlertRow]:
        return [r for r in self.rows.values()
                if r.report_id == report_id and r.kind == AlertKind.UPDATE.value
                and r.status == S.PENDING.value and (r.message_id is not None) == of_copy]

    async def owe_copy_edits(self, report_id: int, staff_chat: int | None,
                             now: dt.datetime) -> int:
        """Owe an edit of every copy of the report's card outside the staff chat that has
        none waiting; how many."""
        outside = staff_chat if staff_chat is not None else 0
        copies = [(c.chat_id, c.message_id) for _, c in sorted(self.tables.cards.items())
                  if c.report_id == report_id and c.kind in CARD_KINDS and c.chat_id != outside]
        owed = {(r.chat_id, r.message_id) for r in self._pending_edit(report_id, of_copy=True)}
        fresh = [copy for copy in copies if copy not in owed]
        for chat_id, message_id in fresh:
            self.tables.owe_alert(report_id, now, AlertKind.UPDATE, chat_id=chat_id,
                                  message_id=message_id)
        return len(fresh)

    def _owe_edit(self, report_id: int, now: dt.datetime, at_once: bool) -> None:
        """One waiting edit of the staff chat's card at a time, due a little later, or now
        after a raise."""
        waiting = self._pending_edit(report_id, of_copy=False)
        if not waiting:
            self.tables.owe_alert(report_id, now, AlertKind.UPDATE,
                                  None if at_once else UPDATE_DELAY)
        elif at_once:
            for row in waiting:
                if row.due_at > utc(now):
                    row.due_at, row.updated_at = utc(now), utc(now)

    def _has_card(self, report_id: int, chat_id: int) -> bool:
        """Whether `chat_id` has a card (or re-post) of the report, delivered or owed."""
        return any(c.report_id == report_id and c.chat_id == chat_id and c.kind in CARD_KINDS
                   for c in self.tables.cards.values()) or any(
            r.report_id == report_id and r.chat_id == chat_id and r.kind in CARD_KINDS
            and r.status in OWED for r in self.rows.values())

    def _raised(self, report_id: int, now: dt.datetime, oncall: Sequence[int],
                by: str) -> None:
        """The report's urgency rose: a new message under the card is owed to the staff chat
        and each of `oncall` (an on-call chat without a copy of the card gets the card first),
        and the next re-post waits the new tier's time from now."""
        for chat in (None, *oncall):
            if chat is not None and not self._has_card(report_id, chat):
                self.tables.owe_alert(report_id, now, AlertKind.CARD, chat_id=chat)
            self.tables.owe_alert(report_id, now, AlertKind.RAISE, chat_id=chat, card_kind=by)
        self.tables.reports[report_id].reposted_at = utc(now)

    def _open(self, report_id: int) -> ReportRow | None:
        row = self.tables.reports.get(report_id)
        return row if row is not None and row.status != ReportStatus.RESOLVED.value else None

    async def repeat(self, report_id: int, text: str, urgency: str | None, actor: int,
                     now: dt.datetime, oncall: Sequence[int] = ()) -> bool:
        """The patient wrote about the same open problem again: count it, keep the newest
        words (and the higher urgency: staff alerted again, `oncall` too), audit it, owe an
        edit of the card. False when the report is resolved or gone."""
        row = self._open(report_id)
        if row is None:
            return False
        row.repeats, row.latest_text = row.repeats + 1, text
        raised = higher(urgency, row.urgency)
        if raised:
            row.urgency = urgency
        if urgency is not None:  # a red flag: the report's newest alert
            row.alerted_at = utc(now)
        audit(self.tables, report_id, actor, ReportAction.PATIENT, text, utc(now))
        if raised:
            self._raised(report_id, now, oncall, BY_REPEAT)
        self._owe_edit(report_id, now, at_once=raised)
        return True

    async def edited(self, telegram_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None, now: dt.datetime,
                     oncall: Sequence[int] = ()) -> tuple[int, str] | None:
        """The patient edited the message that raised one of their open reports: it takes
        the new words (and the higher urgency: staff alerted again, `oncall` too), audited,
        with an edit of its card owed. (report id, urgency before, "" for none), or None."""
        patient = self.tables.by_telegram(telegram_id)
        found = max((r.id for r in self.tables.reports.values()
                     if patient is not None and r.patient_id == patient.id
                     and (r.source_chat_id, r.source_message_id) == (chat_id, message_id)),
                    default=None)
        row = self._open(found) if found is not None else None
        if row is None:
            return None
        before = row.urgency or ""
        row.text = text
        raised = higher(urgency, before)
        if raised:
            row.urgency = urgency
            row.alerted_at = utc(now)
        audit(self.tables, row.id, telegram_id, ReportAction.PATIENT, f"[edited] {text}",
              utc(now))
        if raised:
            self._raised(row.id, now, oncall, BY_EDIT)
        self._owe_edit(row.id, now, at_once=raised)
        return row.id, before

    async def flagged(self, report_id: int, text: str, urgency: str, now: dt.datetime,
                      oncall: Sequence[int] = ()) -> bool:
        """A red flag in words the patient added to this open report: its newest alert; when
        it raised the urgency (the words then its newest), staff are alerted again (`oncall`
        too) and the card edit is due now. True when it raised the urgency."""
        rank = URGENCY_RANK[urgency]
        row = self._open(report_id)
        if row is None:
            return False
        row.alerted_at = utc(now)
        if rank >= URGENCY_RANK.get(row.urgency or "", 9):
            return False
        row.urgency, row.latest_text = urgency, text
        self._raised(report_id, now, oncall, BY_THREAD)
        self._owe_edit(report_id, now, at_once=True)
        return True

    async def unreachable(self) -> list[tuple[int, int]]:
        """On-call chats the bot cannot write to: (chat id, cards given up there since the
        last one that reached them), by chat id."""
        reached: dict[int, dt.datetime] = {}
        for row in self.rows.values():
            if row.status == S.SENT.value and row.chat_id is not None and row.sent_at:
                reached[row.chat_id] = max(row.sent_at, reached.get(row.chat_id, row.sent_at))
        given_up = Counter(
            r.chat_id for r in self.rows.values()
            if r.status == S.FAILED.value and r.chat_id is not None and r.chat_id > 0
            and r.kind in CARD_KINDS and (r.last_error or "").startswith(UNREACHABLE)
            and (r.chat_id not in reached
                 or (r.updated_at is not None and r.updated_at > reached[r.chat_id])))
        return sorted(given_up.items())

    async def pending_cards(self) -> set[int]:
        """Reports whose card (or re-post) is still owed."""
        return {r.report_id for r in self.rows.values()
                if r.status in OWED and r.kind in CARD_KINDS and r.report_id is not None}


__all__ = ["MemoryAlert", "MemoryAlerts"]
