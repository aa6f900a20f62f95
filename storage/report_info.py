"""The one view of a report that every reader gets (patient side, staff cards, the desk, the
export): `ReportInfo`, and the other frozen results of the reports aggregate (`ActionInfo`,
`Transition`, `CardInfo`, `PatientOverview`), with the queue's order (`queue_order`:
most urgent, then oldest, first).

Plain values, no SQLAlchemy: the SQL store (storage/reports.py), its row functions
(storage/report_rows.py), its in-memory twin (storage/reports_memory.py) and the core all
read the same types. `storage.reports` re-exports every name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from storage.states import ReportStatus, Urgency

CARD_KINDS = ("card", "repost")  # messages that carry the buttons
URGENCY_RANK = {Urgency.EMERGENCY.value: 0, Urgency.URGENT.value: 1}
ALERT_URGENCIES = tuple(URGENCY_RANK)  # a red flag's: emergency, urgent


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A report with who it is about and where it stands: the one report view."""

    id: int
    patient_id: int
    session_id: int | None
    kind: str
    status: str
    urgency: str | None
    day: int | None
    text: str
    reason: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    taken_by: int | None
    taken_at: dt.datetime | None
    resolved_by: int | None
    resolution_note: str | None
    patient_name: str | None  # None before consent
    telegram_id: int | None
    chat_id: int | None
    session_date: dt.date | None
    repeats: int = 0  # further red flags about the same open problem threaded into it
    latest_text: str | None = None  # the newest of them
    alerted_at: dt.datetime | None = None  # the newest red flag after the first (see below)

    @property
    def alerted(self) -> dt.datetime:
        """When the newest red flag about it came: the one that raised it, or a later one
        threaded into it (a repeat, a red flag in its thread, a check-in description)."""
        return self.alerted_at if self.alerted_at is not None else self.created_at

    @property
    def closed(self) -> bool:
        """True once resolved."""
        return self.status == ReportStatus.RESOLVED.value


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One audit entry."""

    id: int
    report_id: int | None
    actor_telegram_id: int | None
    action: str
    note: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """Outcome of a conditional status change: `ok` when this caller made it."""

    ok: bool
    report: ReportInfo | None


@dataclass(frozen=True, slots=True)
class CardInfo:
    """A staff-chat message linked to a report."""

    report_id: int
    chat_id: int
    message_id: int
    kind: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PatientOverview:
    """Everything /patient shows about one patient."""

    patient_id: int
    name: str | None
    telegram_id: int | None
    checkins_paused: bool
    sessions: list[tuple[dt.date, bool]]  # (date, cancelled)
    checkins: dict[str, int]  # status -> count
    reports: list[ReportInfo]


def queue_order(report: ReportInfo) -> tuple[int, dt.datetime, int]:
    """Most urgent first, then oldest first."""
    return (URGENCY_RANK.get(report.urgency or "", 2), report.created_at, report.id)


__all__ = ["ALERT_URGENCIES", "CARD_KINDS", "URGENCY_RANK", "ActionInfo", "CardInfo",
           "PatientOverview", "ReportInfo", "Transition", "queue_order"]


async def unanswered_of(reports: Iterable[ReportInfo],
                        latest_card: Callable[[int], Awaitable[CardInfo | None]],
                        thresholds: dict[str, dt.timedelta],
                        now: dt.datetime) -> list[tuple[ReportInfo, CardInfo]]:
    """Of open `reports` with a threshold, those whose newest card is older than their
    urgency's threshold, in queue order (the rule the store and its twin share)."""
    due: list[tuple[ReportInfo, CardInfo]] = []
    for report in sorted(reports, key=queue_order):
        card = await latest_card(report.id)
        assert report.urgency is not None
        if card is not None and now - card.created_at >= thresholds[report.urgency]:
            due.append((report, card))
    return due
