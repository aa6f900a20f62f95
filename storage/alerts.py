"""Every SQL statement of the alert outbox (table ``alerts``), kept together.

The alert outbox is the check-in outbox's design (scheduler/sql.py) applied to what the
clinic must see: a report's card, a re-post of an untaken urgent card, an edit of a card
after the patient repeated themselves, a new message under the card when a repeat or an edit
raised the report's urgency (an edit notifies nobody), and the "[erased]" edit of every
staff-chat message about a patient who asked to be forgotten.

The rows of other tables these transactions touch (a card's ``report_cards`` link, the
re-post claim and its audit entry, a repeat's counter) are written by their own modules'
session-level functions (storage/report_rows.py, storage/chat_state.py).

* `repeat` and `edited` thread the patient's newest words into their open report. At the
  same tier that is an edit of the card only (at most one waiting, so a flood becomes a few
  edits). When they raise the urgency (to an emergency, or from none to urgent) the same
  transaction also owes a raise (`AlertKind.RAISE`): a new message threaded under the card
  in the staff chat and under each on-call copy (the chats the desk names, as new cards of
  that tier reach them), the card edit at once, and the next re-post counted from now
  (storage/report_rows.py `restart_repost_wait`). A report that was taken stays taken.
* `flagged` is the same raise for a red flag written *inside* a report (a message in its
  thread with staff, a /report detail, a follow-up while the alert is open, a check-in
  problem's description): the report's newest alert, and when the urgency rises, the raise
  message (which carries those words, `BY_THREAD`), the card edit at once and the re-post
  wait restarted, in one transaction. Not a repeat: the counter stays, and a same-tier red
  flag there owes nothing (its words reach staff with the patient's other words).

* `owe_card` and `forget_patient` (storage/alert_rows.py) run inside the caller's
  transaction: a report and the card owed for it are committed together, and an erasure
  commits the edits it owes with the deletion, so neither can be half done by a crash.
* `AlertSql` is the sender's narrow connector (claim, mark_sent, release, mark_failed,
  release_all_claims, owed, next_due, owe, owe_repost). `MemoryAlerts`
  (storage/alerts_memory.py) is its in-memory twin for fast tests.

Claims are atomic per backend exactly like check-ins: ``UPDATE ... WHERE id IN (SELECT ...
LIMIT n) RETURNING`` (SQLite, single writer), with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
each claim has a lease, so a dead sender's row comes back. `mark_sent` records the card's
message id in ``report_cards`` in the same transaction, so a staff reply to a card always
finds its report.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alert_rows import OWED, S, T, owe_card, owe_erase
from storage.leases import LeasedTable
from storage.models import AlertKind, Patient, Report, ReportAction, ReportCard
from storage.report_info import URGENCY_RANK
from storage.report_rows import (
    apply_edit,
    audit,
    claim_repost,
    count_repeat,
    flag_report,
    link_card,
    restart_repost_wait,
)

log = logging.getLogger(__name__)

UNREACHABLE = "unreachable: "  # the error of an on-call copy given up (scheduler/alerts.py)
UPDATE_DELAY = dt.timedelta(seconds=10)  # Telegram allows about 20 messages a minute in a group
CARD_KINDS = (AlertKind.CARD.value, AlertKind.REPOST.value)
# rows that post a new message: never given up (scheduler/alerts.py), linked to the report
# once sent (so a staff reply to one reaches the patient, and an erasure edits it)
MESSAGE_KINDS = (*CARD_KINDS, AlertKind.RAISE.value)
# a raise row's card_kind: which words are the newest (a repeat's, an edit's, or those written
# inside the report, which the raise message carries in place of the "💬 wrote" line)
BY_REPEAT, BY_EDIT, BY_THREAD = "repeat", "edit", "thread"


def higher(urgency: str | None, current: str | None) -> bool:
    """True when `urgency` is more urgent than `current` (none is the least)."""
    return urgency is not None and URGENCY_RANK.get(urgency, 9) < URGENCY_RANK.get(
        current or "", 9)


async def _has_card(s: AsyncSession, report_id: int, chat_id: int) -> bool:
    """Whether `chat_id` has a card (or re-post) of the report, delivered or still owed."""
    linked = await s.scalar(select(ReportCard.id).where(
        ReportCard.report_id == report_id, ReportCard.chat_id == chat_id,
        ReportCard.kind.in_(CARD_KINDS)).limit(1))
    if linked is not None:
        return True
    return await s.scalar(select(T.c.id).where(
        T.c.report_id == report_id, T.c.chat_id == chat_id, T.c.kind.in_(CARD_KINDS),
        T.c.status.in_(OWED)).limit(1)) is not None


@dataclass(frozen=True)
class ClaimedAlert:
    """A claimed outbox row: what to show, about which report (or which message to edit)."""

    id: int
    report_id: int | None
    kind: str
    chat_id: int | None
    message_id: int | None
    card_kind: str | None
    attempts: int
    created_at: dt.datetime


class AlertConnector(Protocol):
    """The alert sender's view of the outbox. All times are aware UTC datetimes."""

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedAlert]: ...

    async def mark_sent(self, alert_id: int, worker: str, chat_id: int | None,
                        message_id: int | None, now: dt.datetime,
                        kind: str | None = None) -> bool: ...

    async def release(self, alert_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool: ...

    async def mark_failed(self, alert_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool: ...

    async def release_all_claims(self, now: dt.datetime) -> int: ...

    async def owed(self) -> int: ...

    async def next_due(self) -> dt.datetime | None: ...


class AlertOutbox(AlertConnector, Protocol):
    """What the staff desk also asks of the outbox: owe a card or an edit, claim a re-post."""

    async def owe(self, report_id: int, kind: AlertKind, now: dt.datetime,
                  chats: Sequence[int | None] = (None,)) -> None: ...

    async def owe_repost(self, report_id: int, wait: dt.timedelta, now: dt.datetime,
                         chats: Sequence[int | None] = (None,)) -> bool: ...


# --- the sender's connector -----------------------------------------------------------------
LEASES = LeasedTable(T, "alert", error_limit=500)  # claim, lease, release (storage/leases.py)
_mine = LEASES.mine


class AlertSql:
    """The alert outbox on SQLite or PostgreSQL through SQLAlchemy's async engine."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.skip_locked = sessions.kw["bind"].dialect.name == "postgresql"

    async def _update(self, *conditions: Any, values: dict[str, Any]) -> int:
        return await LEASES.update(self.sessions, *conditions, values=values)

    async def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta,
                        worker: str) -> list[ClaimedAlert]:
        """Atomically take up to `limit` due rows for `worker` until `now + lease`; rows
        whose lease ran out (a dead sender) are due again first."""
        async with self.sessions.begin() as s:
            rows = await LEASES.claim(
                s, now, limit, lease, worker, skip_locked=self.skip_locked,
                order_by=(T.c.due_at, T.c.id),
                returning=(T.c.id, T.c.report_id, T.c.kind, T.c.chat_id, T.c.message_id,
                           T.c.card_kind, T.c.attempts, T.c.created_at))
        return sorted((ClaimedAlert(*row) for row in rows), key=lambda a: a.id)

    async def mark_sent(self, alert_id: int, worker: str, chat_id: int | None,
                        message_id: int | None, now: dt.datetime,
                        kind: str | None = None) -> bool:
        """Record delivery; a card's message is linked to its report in the same transaction
        (and a re-post audited). False when the row is no longer this worker's claim: lost to
        another worker (a possible duplicate card, linked to its report all the same), or
        gone with its report because the patient was erased while the message was being
        sent; then the message delivered (`kind`, the claimed row's kind) is owed an
        "[erased]" edit, as the erasure owes its linked cards (storage/alert_rows.py
        `forget_patient`)."""
        async with self.sessions.begin() as s:
            # The report first (PostgreSQL): an erasure under way is waited for, so its
            # deletion of this row is seen below, and one that starts now waits for the link.
            await s.execute(select(Report.id).where(
                Report.id == select(T.c.report_id).where(T.c.id == alert_id).scalar_subquery())
                .with_for_update(key_share=True))
            row = (await s.execute(
                update(T).where(_mine(alert_id, worker))
                .values(status=S.SENT.value, sent_message_id=message_id, sent_at=now,
                        lease_until=None, last_error=None, updated_at=now)
                .returning(T.c.report_id, T.c.kind))).first()
            if row is None:
                lost = (await s.execute(select(T.c.report_id, T.c.kind)
                                        .where(T.c.id == alert_id))).first()
                if lost is not None:
                    log.warning("alert %d was sent but its claim was lost: possible duplicate",
                                alert_id)
                    # The duplicate is still a card of the report: linked, it is edited with
                    # the others, a staff reply to it reaches the patient, and an erasure
                    # owes it "[erased]" like any other card.
                    if (lost.kind in MESSAGE_KINDS and lost.report_id is not None
                            and chat_id is not None and message_id is not None):
                        await link_card(s, lost.report_id, chat_id, message_id, lost.kind, now)
                elif (chat_id is not None and message_id is not None
                      and kind != AlertKind.ERASE.value):
                    log.warning("alert %d was sent after its report was erased: "
                                "its message is owed an erased edit", alert_id)
                    await owe_erase(s, chat_id, message_id, kind or AlertKind.CARD.value, now)
                return False
            report_id, kind = row
            if (kind in MESSAGE_KINDS and report_id is not None and chat_id is not None
                    and message_id is not None):
                await link_card(s, report_id, chat_id, message_id, kind, now)
                if kind == AlertKind.REPOST.value:
                    await audit(s, report_id, None, ReportAction.REPOSTED, None, now)
        return True

    async def release(self, alert_id: int, worker: str, now: dt.datetime, *,
                      due_at: dt.datetime | None = None, error: str | None = None,
                      count_attempt: bool = True) -> bool:
        """Put a claimed row back in the queue (optionally later, optionally uncounted)."""
        values = LEASES.release_values(now, due_at=due_at, error=error,
                                       count_attempt=count_attempt)
        return bool(await self._update(_mine(alert_id, worker), values=values))

    async def mark_failed(self, alert_id: int, worker: str, error: str,
                          now: dt.datetime) -> bool:
        """Give up on an edit Telegram refused for good (cards are never given up)."""
        log.error("alert %d failed: %s", alert_id, error)
        return bool(await self._update(_mine(alert_id, worker),
                                       values=LEASES.finish_values(S.FAILED.value, error, now)))

    async def release_all_claims(self, now: dt.datetime) -> int:
        """Every claimed row back to the queue (start-up of the only sender)."""
        return await LEASES.release_all_claims(self.sessions, now)

    async def owed(self) -> int:
        """Alerts not yet delivered (pending or being sent)."""
        async with self.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(T)
                                      .where(T.c.status.in_(OWED))) or 0)

    async def next_due(self) -> dt.datetime | None:
        """The earliest due time of a pending row, or None."""
        return await LEASES.next_due(self.sessions)

    async def owe(self, report_id: int, kind: AlertKind, now: dt.datetime,
                  chats: Sequence[int | None] = (None,)) -> None:
        """Each of `chats` (None: the staff chat; else an on-call staff member's private
        chat) is owed `kind` (a reopened report's card, a card edit), in one transaction."""
        async with self.sessions.begin() as s:
            for chat in chats:
                await owe_card(s, report_id, now, kind, chat_id=chat)

    async def owe_repost(self, report_id: int, wait: dt.timedelta, now: dt.datetime,
                         chats: Sequence[int | None] = (None,)) -> bool:
        """Claim the re-post of an untaken card and owe it to each of `chats` (None: the
        staff chat; else an on-call staff member's private chat), in one transaction: True
        for exactly one caller however many replicas check at once (still open, not
        re-posted within `wait`)."""
        async with self.sessions.begin() as s:
            if not await claim_repost(s, report_id, wait, now):
                return False
            for chat in chats:
                await owe_card(s, report_id, now, AlertKind.REPOST, chat_id=chat)
            return True

    async def owe_copy_edits(self, report_id: int, staff_chat: int | None,
                             now: dt.datetime) -> int:
        """The report was taken, resolved, reopened or added to: owe an edit of every copy of
        its card outside the staff chat (on-call private chats), so each shows the new state;
        a copy that already has an edit waiting gets no second one. Returns how many."""
        async with self.sessions.begin() as s:
            copies = (await s.execute(
                select(ReportCard.chat_id, ReportCard.message_id).where(
                    ReportCard.report_id == report_id, ReportCard.kind.in_(CARD_KINDS),
                    ReportCard.chat_id != (staff_chat if staff_chat is not None else 0)))).all()
            owed = set((await s.execute(
                select(T.c.chat_id, T.c.message_id).where(
                    T.c.report_id == report_id, T.c.kind == AlertKind.UPDATE.value,
                    T.c.message_id.is_not(None), T.c.status == S.PENDING.value))).all())
            fresh = [(chat_id, message_id) for chat_id, message_id in copies
                     if (chat_id, message_id) not in owed]  # a pending edit shows the newest
            for chat_id, message_id in fresh:
                await owe_card(s, report_id, now, AlertKind.UPDATE, chat_id=chat_id,
                               message_id=message_id)
            return len(fresh)

    async def repeat(self, report_id: int, text: str, urgency: str | None, actor: int,
                     now: dt.datetime, oncall: Sequence[int] = ()) -> bool:
        """The patient wrote about the same open problem again: count it, keep the newest
        words (and the higher urgency), audit it, and owe an edit of the card, all in one
        transaction. At most one edit is owed at a time (it shows the newest state when it
        goes out). When `urgency` is higher than the report's, staff are alerted again
        (`_raised`; `oncall`: the on-call private chats owed it too). False when the report
        was resolved meanwhile."""
        async with self.sessions.begin() as s:
            before = await count_repeat(s, report_id, text, urgency, now)
            if before is None:
                return False
            await audit(s, report_id, actor, ReportAction.PATIENT, text, now)
            raised = higher(urgency, before)
            if raised:
                await self._raised(s, report_id, before, urgency, now, oncall, BY_REPEAT)
            await self._owe_edit(s, report_id, now, at_once=raised)
            return True

    async def edited(self, telegram_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None, now: dt.datetime,
                     oncall: Sequence[int] = ()) -> tuple[int, str] | None:
        """The patient edited the message that raised one of their open reports: the report
        takes the new words (and the higher urgency), the edit is audited, and an edit of its
        card is owed, all in one transaction; an edit that raised the urgency alerts staff
        again, as a repeat does. Returns (report id, urgency before the edit, "" for none);
        None when no open report of this user came from that message."""
        async with self.sessions.begin() as s:
            report_id = await s.scalar(
                select(Report.id).join(Patient, Patient.id == Report.patient_id).where(
                    Report.source_chat_id == chat_id, Report.source_message_id == message_id,
                    Patient.telegram_id == telegram_id).order_by(Report.id.desc()).limit(1))
            if report_id is None:
                return None
            before = await apply_edit(s, report_id, text, urgency, now)
            if before is None:
                return None
            await audit(s, report_id, telegram_id, ReportAction.PATIENT, f"[edited] {text}",
                        now)
            raised = higher(urgency, before)
            if raised:
                await self._raised(s, report_id, before, urgency, now, oncall, BY_EDIT)
            await self._owe_edit(s, report_id, now, at_once=raised)
            return report_id, before

    async def flagged(self, report_id: int, text: str, urgency: str, now: dt.datetime,
                      oncall: Sequence[int] = ()) -> bool:
        """A red flag in words the patient added to this open report (`flag_report`): the
        report's newest alert; when it raised the urgency, staff are alerted again as for a
        raising repeat (`_raised`, the raise carrying `text`) and the card edit is due now,
        all in one transaction. True when it raised the urgency."""
        async with self.sessions.begin() as s:
            before = await flag_report(s, report_id, text, urgency, now)
            if before is None or not higher(urgency, before):
                return False
            await self._raised(s, report_id, before, urgency, now, oncall, BY_THREAD)
            await self._owe_edit(s, report_id, now, at_once=True)
            return True

    @staticmethod
    async def _raised(s: AsyncSession, report_id: int, before: str, urgency: str | None,
                      now: dt.datetime, oncall: Sequence[int], by: str) -> None:
        """In the repeat's or edit's transaction: the report's urgency rose, so the staff chat
        and each of `oncall` are owed a new message under the card (an edit notifies nobody),
        and its next re-post waits the new tier's time from now. An on-call chat without a
        copy of the card (raised by day, risen at night) is owed the card first."""
        for chat in (None, *oncall):
            if chat is not None and not await _has_card(s, report_id, chat):
                await owe_card(s, report_id, now, AlertKind.CARD, chat_id=chat)
            await owe_card(s, report_id, now, AlertKind.RAISE, chat_id=chat, card_kind=by)
        await restart_repost_wait(s, report_id, now)
        log.warning("report %d: urgency raised from %s to %s (%s); staff alerted again",
                    report_id, before or "none", urgency, by)

    @staticmethod
    async def _owe_edit(s: AsyncSession, report_id: int, now: dt.datetime,
                        at_once: bool) -> None:
        """Owe an edit of the staff chat's card, unless one is waiting already: it waits a
        little (a flood becomes a few edits), or with `at_once` (a raise) is due now."""
        owed = await s.scalar(select(T.c.id).where(
            T.c.report_id == report_id, T.c.kind == AlertKind.UPDATE.value,
            T.c.message_id.is_(None), T.c.status == S.PENDING.value).limit(1))
        if owed is None:
            await owe_card(s, report_id, now, AlertKind.UPDATE,
                           None if at_once else UPDATE_DELAY)
        elif at_once:
            await s.execute(update(T).where(T.c.id == owed, T.c.due_at > now)
                            .values(due_at=now, updated_at=now))

    async def unreachable(self) -> list[tuple[int, int]]:
        """On-call staff whose private chat the bot cannot write to: (chat id, how many
        cards and re-posts were given up there since the last one that reached them)."""
        later = T.alias("later")
        reached = select(func.max(later.c.sent_at)).where(
            later.c.chat_id == T.c.chat_id, later.c.status == S.SENT.value).scalar_subquery()
        query = (select(T.c.chat_id, func.count())
                 .where(T.c.status == S.FAILED.value, T.c.chat_id > 0,
                        T.c.kind.in_(CARD_KINDS), T.c.last_error.like(f"{UNREACHABLE}%"),
                        or_(reached.is_(None), T.c.updated_at > reached))
                 .group_by(T.c.chat_id).order_by(T.c.chat_id))
        async with self.sessions() as s:
            return [(int(chat), int(count)) for chat, count in await s.execute(query)]

    async def pending_cards(self) -> set[int]:
        """Reports whose card (or re-post) is still owed."""
        async with self.sessions() as s:
            return set(await s.scalars(select(T.c.report_id).where(
                T.c.status.in_(OWED), T.c.kind.in_(CARD_KINDS), T.c.report_id.is_not(None))))
