"""Rows of the alert outbox written inside another module's transaction (storage/alerts.py
holds the rest of the outbox's SQL: the sender's connector).

`owe_card` runs in the transaction that stores a report (storage/reports.py), so a report and
the card owed for it are committed together; `forget_patient` runs in the erasure's
transaction (storage/patients.py), so the "[erased]" edits it owes are committed with the
deletion; `owe_erase` also serves a card delivered just after its report was erased (the
alert sender's `mark_sent`, the desk's `card_sent`), which the erasure could not know of.
Kept apart from storage/alerts.py so that those modules can call them without an
import cycle (storage/alerts.py uses the reports' row functions, storage/report_rows.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chat_state import drop_staff_states_naming
from storage.models import Alert, AlertKind, AlertStatus, Report, ReportCard

log = logging.getLogger(__name__)

T = Alert.__table__
S = AlertStatus
OWED = (S.PENDING.value, S.CLAIMED.value)


class CardCopies(Protocol):
    """Who besides the staff chat is owed a new report's card (the on-call staff outside
    opening hours: scheduler/clinic_hours.py `OnCall`); private chat ids, maybe none."""

    def chats(self, urgency: str | None, at: dt.datetime) -> Sequence[int]: ...


async def owe_card(s: AsyncSession, report_id: int, now: dt.datetime,
                   kind: AlertKind = AlertKind.CARD, delay: dt.timedelta | None = None,
                   chat_id: int | None = None, message_id: int | None = None,
                   card_kind: str | None = None) -> None:
    """In the caller's transaction: the staff chat (or, with `chat_id`, that chat: an on-call
    staff member's private chat) is owed `kind` for this report (due now, or after `delay`).
    An update with `message_id` edits that one copy of the card; a raise's `card_kind` says
    what raised it ("repeat" or "edit": which of the report's words are the newest)."""
    due = now + delay if delay is not None else now
    await s.execute(insert(T).values(report_id=report_id, kind=kind.value, chat_id=chat_id,
                                     message_id=message_id, card_kind=card_kind,
                                     status=S.PENDING.value, attempts=0, due_at=due,
                                     created_at=now, updated_at=now))


async def owe_erase(s: AsyncSession, chat_id: int, message_id: int, card_kind: str | None,
                    now: dt.datetime) -> None:
    """In the caller's transaction: message `message_id` of `chat_id` (a card of kind
    `card_kind`) is owed an "[erased]" edit, due now; it names no report."""
    await s.execute(insert(T).values(
        report_id=None, kind=AlertKind.ERASE.value, chat_id=chat_id, message_id=message_id,
        card_kind=card_kind, status=S.PENDING.value, attempts=0, due_at=now,
        created_at=now, updated_at=now))


async def forget_patient(s: AsyncSession, patient_id: int, now: dt.datetime) -> list[int]:
    """In the erasure's transaction (before the patient row goes): owe an "[erased]" edit
    of every staff-chat message about the patient's reports, and drop every staff member's
    pending Reply / Resolve that names one of them. Returns the report ids."""
    # The reports are locked first (PostgreSQL; SQLite has one writer): a card being linked
    # to one of them now (its FK check) is either committed before, and then edited below,
    # or finds its report gone afterwards, and then owes its own "[erased]" edit.
    report_ids = list(await s.scalars(select(Report.id).where(Report.patient_id == patient_id)
                                      .with_for_update()))
    if not report_ids:
        return []
    cards = (await s.execute(select(ReportCard.chat_id, ReportCard.message_id, ReportCard.kind)
                             .where(ReportCard.report_id.in_(report_ids)))).all()
    for chat_id, message_id, card_kind in cards:
        await owe_erase(s, chat_id, message_id, card_kind, now)
    await drop_staff_states_naming(s, report_ids)
    log.info("erasure: %d staff-chat message(s) to edit", len(cards))
    return report_ids
