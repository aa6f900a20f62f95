"""Rows of the reports aggregate read or written inside another module's transaction.

The alert outbox (storage/alerts.py) links a sent card to its report (`link_card`), claims
a re-post (`claim_repost`), threads a repeated red flag (`count_repeat`), applies a
patient's edit (`apply_edit`), marks a red flag written inside a report (its thread, /report
details, a check-in description: `flag_report`) and, when any of them raised the urgency,
restarts the re-post wait (`restart_repost_wait`) in the same commit as its own row; the desk outbox
(storage/desk_outbox.py) audits a delivery (`audit`) with its row's new state; retention
(storage/retention.py) deletes resolved reports (`delete_resolved_reports_of`). The read
helpers (`select_reports`, `staff_report`, `action_info`, `UNRESOLVED`) build the one report
view for this module's callers, storage/reports.py and the web desk's pages
(storage/desk_views.py). Together with storage/reports.py these are the only writers of
``reports``, ``report_actions`` and ``report_cards``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, delete, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Patient,
    Report,
    ReportAction,
    ReportActionRow,
    ReportCard,
    ReportStatus,
    TreatmentSession,
)
from storage.report_info import URGENCY_RANK, ActionInfo, ReportInfo
from storage.results import affected


async def link_card(s: AsyncSession, report_id: int, chat_id: int, message_id: int, kind: str,
                    now: dt.datetime) -> None:
    """Staff-chat message `message_id` is a card (or re-post) of the report."""
    s.add(ReportCard(report_id=report_id, chat_id=chat_id, message_id=message_id, kind=kind,
                     created_at=now))


async def audit(s: AsyncSession, report_id: int | None, actor: int | None,
                action: ReportAction, note: str | None, now: dt.datetime) -> None:
    """One audit entry."""
    s.add(ReportActionRow(report_id=report_id, actor_telegram_id=actor, action=action.value,
                          note=note, created_at=now))


async def claim_repost(s: AsyncSession, report_id: int, wait: dt.timedelta,
                       now: dt.datetime) -> bool:
    """Claim the re-post of an untaken card (still open, not re-posted within `wait`):
    one conditional UPDATE, True for exactly one caller."""
    result = await s.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == ReportStatus.OPEN.value,
               or_(Report.reposted_at.is_(None), Report.reposted_at <= now - wait))
        .values(reposted_at=now))
    return affected(result) == 1


async def restart_repost_wait(s: AsyncSession, report_id: int, now: dt.datetime) -> None:
    """The report's urgency just rose and staff were alerted again (storage/alerts.py
    `repeat`, `edited`): its next re-post waits its new tier's time from `now`, as after a
    re-post (`claim_repost` counts from ``reposted_at``)."""
    await s.execute(update(Report).where(Report.id == report_id).values(reposted_at=now))


def _unresolved(report_id: int) -> ColumnElement[bool]:
    """The report `report_id`, while it is not resolved."""
    return and_(Report.id == report_id, Report.status != ReportStatus.RESOLVED.value)


async def _locked_urgency(s: AsyncSession, open_report: ColumnElement[bool]) -> str | None:
    """The urgency of the (still open) report, its row locked for the rest of the
    transaction (PostgreSQL: two raises at once cannot both find the lower urgency); the
    empty string for none, None when the report is resolved or gone."""
    found = (await s.execute(select(Report.urgency).where(open_report)
                             .with_for_update())).first()
    return None if found is None else (found[0] or "")


async def count_repeat(s: AsyncSession, report_id: int, text: str,
                       urgency: str | None, now: dt.datetime | None = None) -> str | None:
    """Another message about the report's (still open) problem: count it, keep the newest
    words, raise the urgency if it is higher; a red flag (`urgency`) is the report's newest
    alert at `now` (`alerted_at`). Returns the urgency before (the empty string for none), or
    None when the report is resolved or gone. The row is locked first (PostgreSQL), so two
    repeats at once cannot both find the lower urgency and both raise it."""
    open_report = _unresolved(report_id)
    current = await _locked_urgency(s, open_report)
    if current is None:
        return None
    values: dict[str, object] = {"repeats": Report.repeats + 1, "latest_text": text}
    if urgency is not None and now is not None:
        values["alerted_at"] = now
    if urgency is not None and URGENCY_RANK.get(urgency, 9) < URGENCY_RANK.get(current, 9):
        values["urgency"] = urgency
    if affected(await s.execute(update(Report).where(open_report).values(**values))) != 1:
        return None
    return current


async def apply_edit(s: AsyncSession, report_id: int, text: str,
                     urgency: str | None, now: dt.datetime | None = None) -> str | None:
    """The patient edited the message that raised this (still open) report: its words become
    the edited ones, its urgency rises if the edit's is higher (the report's newest alert, at
    `now`). Returns the urgency before
    (the empty string for none), or None when the report is resolved or gone."""
    open_report = _unresolved(report_id)
    current = await _locked_urgency(s, open_report)
    if current is None:
        return None
    values: dict[str, object] = {"text": text}
    if urgency is not None and URGENCY_RANK.get(urgency, 9) < URGENCY_RANK.get(current, 9):
        values["urgency"] = urgency
        if now is not None:
            values["alerted_at"] = now
    await s.execute(update(Report).where(open_report).values(**values))
    return current


async def flag_report(s: AsyncSession, report_id: int, text: str, urgency: str,
                      now: dt.datetime) -> str | None:
    """A red flag in words the patient added to this (still open) report (a message in its
    thread, a /report detail, a check-in description; the words themselves are audited by
    the caller): it is the report's newest alert at `now` (``alerted_at``); when `urgency`
    is higher than the report's, the urgency rises and `text` become its newest red-flag
    words (``latest_text``, which the raise shows). Returns the urgency before (the empty
    string for none), or None when the report is resolved or gone. The row is locked first
    (PostgreSQL), so two raises at once cannot both find the lower urgency."""
    rank = URGENCY_RANK[urgency]  # an unknown urgency is a caller's bug
    open_report = _unresolved(report_id)
    current = await _locked_urgency(s, open_report)
    if current is None:
        return None
    values: dict[str, object] = {"alerted_at": now}
    if rank < URGENCY_RANK.get(current, 9):
        values.update(urgency=urgency, latest_text=text)
    await s.execute(update(Report).where(open_report).values(**values))
    return current


# Open or taken, with the statuses as literals so that SQLite (and PostgreSQL's generic plans)
# can use the partial index ix_reports_unresolved (storage/models.py `UNRESOLVED_SQL`).
UNRESOLVED = Report.status.in_([literal_column(f"'{ReportStatus.OPEN.value}'"),
                                literal_column(f"'{ReportStatus.TAKEN.value}'")])


def utc_aggregate(value: dt.datetime | str) -> dt.datetime:
    """An aggregate's datetime (text or naive on SQLite) as aware UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def select_reports() -> Select[Report, Patient, dt.date | None]:
    return (select(Report, Patient, TreatmentSession.session_date)
            .join(Patient, Patient.id == Report.patient_id)
            .outerjoin(TreatmentSession, TreatmentSession.id == Report.session_id))


def staff_report(row: Report, patient: Patient, session_date: dt.date | None) -> ReportInfo:
    return ReportInfo(
        id=row.id, patient_id=row.patient_id, session_id=row.session_id, kind=row.kind,
        status=row.status,
        urgency=row.urgency, day=row.day, text=row.text, reason=row.reason,
        created_at=row.created_at, resolved_at=row.resolved_at, taken_by=row.taken_by,
        taken_at=row.taken_at, resolved_by=row.resolved_by,
        resolution_note=row.resolution_note, patient_name=patient.name,
        telegram_id=patient.telegram_id, chat_id=patient.chat_id, session_date=session_date,
        repeats=row.repeats or 0, latest_text=row.latest_text, alerted_at=row.alerted_at)


def action_info(row: ReportActionRow) -> ActionInfo:
    return ActionInfo(row.id, row.report_id, row.actor_telegram_id, row.action, row.note,
                      row.created_at)


async def delete_resolved_reports_of(s: AsyncSession, patient_ids: Sequence[int]) -> int:
    """Delete these patients' resolved reports in the caller's transaction (retention)."""
    return affected(await s.execute(
        delete(Report).where(Report.patient_id.in_(patient_ids),
                             Report.status == ReportStatus.RESOLVED.value)))


__all__ = ["UNRESOLVED", "action_info", "apply_edit", "audit", "claim_repost", "count_repeat",
           "delete_resolved_reports_of", "flag_report", "link_card", "restart_repost_wait",
           "select_reports", "staff_report", "utc_aggregate"]
