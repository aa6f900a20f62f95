"""In-memory twin of `storage.desk_views.DeskViews` (the web desk's page reads), for fast tests.

`MemoryDeskViews` reads the `MemoryTables` (storage/memory_tables.py) the other twins write:
the queue of open reports with their photos, audit trail and latest card; the patients list
(in recovery, or found by name or Telegram id) with each one's latest sent check-in and open
reports; one patient's page; the questions the bot could not answer; and the weekly figures.
Same results, same order, as the SQL reads (tests/test_desk_views_conformance.py runs the
same tests against both). It only reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from storage.desk_views import (
    LIST_LIMIT,
    RECOVERY_DAYS,
    STAFF_ACTIONS,
    TIMELINE_LIMIT,
    UNANSWERED,
    CheckinRow,
    MessageRow,
    PatientDetail,
    PatientRow,
    Photo,
    QueueItem,
    SessionRow,
    WeekFigures,
)
from storage.ids import telegram_id as typed_telegram_id
from storage.memory_tables import MemoryTables, PhotoRow, ReportRow
from storage.report_info import ReportInfo, queue_order
from storage.reports_memory import UNRESOLVED, action_info, report_info
from storage.states import Direction, Outcome

FIRST_CARDS = ("card", "repost")  # the cards whose time the queue shows


def _photo(row: PhotoRow) -> Photo:
    return Photo(row.id, row.report_id, row.file_id, row.created_at)


def _within(value: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    return value is not None and start <= value < end


class MemoryDeskViews:
    """The web desk's reads over a `MemoryTables` (the interface of `DeskViews`)."""

    def __init__(self, tables: MemoryTables | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()

    def _photos(self, report_ids: Iterable[int]) -> list[Photo]:
        wanted = set(report_ids)
        return [_photo(p) for _, p in sorted(self.tables.photos.items())
                if p.report_id in wanted]

    # --- queue ------------------------------------------------------------------------
    async def queue(self) -> list[QueueItem]:
        """Open and taken reports, most urgent and oldest first, with photos and trail."""
        t = self.tables
        reports = sorted((report_info(t, r) for r in t.reports.values()
                          if r.status in UNRESOLVED), key=queue_order)
        items = []
        for report in reports:
            trail = sorted((a for a in t.actions.values() if a.report_id == report.id),
                           key=lambda a: (a.created_at, a.id))
            cards = [c.created_at for c in t.cards.values()
                     if c.report_id == report.id and c.kind in FIRST_CARDS]
            items.append(QueueItem(report, self._photos([report.id]),
                                   [action_info(a) for a in trail], max(cards, default=None)))
        return items

    async def photo(self, photo_id: int) -> Photo | None:
        """One photo by id."""
        row = self.tables.photos.get(photo_id)
        return _photo(row) if row else None

    # --- patients ---------------------------------------------------------------------
    def _latest_dates(self, since: dt.date | None = None,
                      until: dt.date | None = None) -> dict[int, dt.date]:
        """Per patient, the greatest date of a not-cancelled session (within the bounds)."""
        dates: dict[int, dt.date] = {}
        for s in self.tables.sessions.values():
            if (s.cancelled_at is None and (since is None or s.session_date >= since)
                    and (until is None or s.session_date <= until)):
                dates[s.patient_id] = max(dates.get(s.patient_id, s.session_date),
                                          s.session_date)
        return dates

    async def patients(self, today: dt.date, search: str = "",
                       limit: int = LIST_LIMIT, offset: int = 0) -> list[PatientRow]:
        """Patients in recovery (latest session within `RECOVERY_DAYS`), newest session first;
        with `search`: patients whose name contains it, or whose Telegram id it is."""
        t = self.tables
        term = search.strip()
        if term:
            typed, wanted = typed_telegram_id(term), term.lower()
            ids = [p.id for _, p in sorted(t.patients.items())
                   if (p.name is not None and wanted in p.name.lower())
                   or (typed is not None and p.telegram_id == typed)][offset:offset + limit]
            latest = self._latest_dates()
            dates = {i: latest[i] for i in ids if i in latest}
        else:
            dates = self._latest_dates(today - dt.timedelta(days=RECOVERY_DAYS), today)
            ids = sorted(dates, key=lambda i: (-dates[i].toordinal(), i))[offset:offset + limit]
        result = []
        for patient_id in ids:
            p = t.patients.get(patient_id)
            if p is None:
                continue
            delivered = [c for c in t.checkins.values()
                         if c.patient_id == patient_id and c.sent_at is not None]
            last = max(delivered, key=lambda c: (c.sent_at, c.id), default=None)
            open_reports = sum(1 for r in t.reports.values()
                               if r.patient_id == patient_id and r.status in UNRESOLVED)
            result.append(PatientRow(
                p.id, p.name, p.telegram_id, dates.get(p.id), last.answer if last else None,
                last.step if last else None, last.answered_at if last else None, open_reports,
                p.checkins_paused, p.active))
        if term:
            result.sort(key=lambda r: (r.session_date is None, -(r.session_date or today)
                                       .toordinal(), (r.name or "").lower()))
        return result

    async def patient(self, patient_id: int,
                      messages_since: dt.datetime | None = None) -> PatientDetail | None:
        """One patient's sessions, check-ins, reports, audit trail, photos and messages
        (messages newer than `messages_since` only, the retention limit; newest
        `TIMELINE_LIMIT`)."""
        t = self.tables
        p = t.patients.get(patient_id)
        if p is None:
            return None
        detail = PatientDetail(p.id, p.name, p.telegram_id, p.chat_id, p.timezone,
                               p.consent_at, p.active, p.checkins_paused)
        sessions = sorted((s for s in t.sessions.values() if s.patient_id == patient_id),
                          key=lambda s: (s.session_date, s.id), reverse=True)
        detail.sessions = [SessionRow(s.id, s.session_date, s.source, s.cancelled_at)
                           for s in sessions]
        checkins = sorted((c for c in t.checkins.values() if c.patient_id == patient_id),
                          key=lambda c: (c.due_at, c.id))
        detail.checkins = [CheckinRow(c.id, c.session_id, c.step, c.day_offset, c.status,
                                      c.due_at, c.sent_at, c.answer, c.answered_at)
                           for c in checkins]
        messages = sorted((m for m in t.messages.values() if m.patient_id == patient_id
                           and (messages_since is None or m.created_at >= messages_since)),
                          key=lambda m: (m.created_at, m.id))[-TIMELINE_LIMIT:]
        detail.messages = [MessageRow(m.id, m.direction, m.text, m.outcome, m.created_at)
                           for m in messages]
        detail.reports = await self.staff_reports(patient_id)
        ids = {r.id for r in detail.reports}
        actions = sorted((a for a in t.actions.values()
                          if a.report_id in ids or a.patient_id == patient_id),
                         key=lambda a: (a.created_at, a.id))
        detail.actions = [action_info(a) for a in actions]
        detail.photos = self._photos(ids)
        return detail

    async def staff_reports(self, patient_id: int) -> list[ReportInfo]:
        """All reports of one patient, newest first."""
        rows = sorted((r for r in self.tables.reports.values() if r.patient_id == patient_id),
                      key=lambda r: (r.created_at, r.id), reverse=True)
        return [report_info(self.tables, r) for r in rows]

    async def session_owner(self, session_id: int) -> int | None:
        """The patient a treatment session belongs to."""
        found = self.tables.sessions.get(session_id)
        return found.patient_id if found else None

    # --- knowledge gaps ---------------------------------------------------------------
    async def unanswered_questions(self, since: dt.datetime | None = None,
                                   limit: int = 5000) -> list[tuple[int, str]]:
        """(patient id, text) of questions the bot abstained on or only suggested for,
        newest first."""
        rows = sorted((m for m in self.tables.messages.values()
                       if m.direction == Direction.IN.value and m.outcome in UNANSWERED
                       and (since is None or m.created_at >= since)),
                      key=lambda m: (m.created_at, m.id), reverse=True)
        return [(m.patient_id, m.text) for m in rows[:limit]]

    # --- figures ----------------------------------------------------------------------
    async def figures(self, starts: Sequence[dt.datetime]) -> list[WeekFigures]:
        """Per week [starts[i], starts[i+1]) (the last week ends at `starts[-1]` + 7 days)."""
        ends = [*starts[1:], starts[-1] + dt.timedelta(days=7)]
        return await self.weeks(list(zip(starts, ends, strict=True)))

    def _first_action(self, report: ReportRow) -> dt.datetime | None:
        """When staff first acted on the report (taken, replied, resolved, paused)."""
        return min((a.created_at for a in self.tables.actions.values()
                    if a.report_id == report.id and a.action in STAFF_ACTIONS
                    and a.actor_telegram_id is not None), default=None)

    def _raised(self, spans: Sequence[tuple[dt.datetime, dt.datetime]]
                ) -> list[list[ReportRow]]:
        """The reports raised in each span (a report in the first span holding it)."""
        raised: list[list[ReportRow]] = [[] for _ in spans]
        for report in sorted(self.tables.reports.values(), key=lambda r: r.id):
            index = next((i for i, (a, b) in enumerate(spans)
                          if _within(report.created_at, a, b)), None)
            if index is not None:
                raised[index].append(report)
        return raised

    async def weeks(self, spans: Sequence[tuple[dt.datetime, dt.datetime]]
                    ) -> list[WeekFigures]:
        """The figures of each [start, end) span (see `DeskViews.weeks`)."""
        t = self.tables
        result = []
        for (start, end), reports in zip(spans, self._raised(spans), strict=True):
            tiers: dict[str, int] = {}
            minutes: list[float] = []
            pairs: list[tuple[dt.datetime, dt.datetime]] = []
            for report in reports:
                tier = report.urgency or "other"
                tiers[tier] = tiers.get(tier, 0) + 1
                acted = self._first_action(report)
                if acted is not None:
                    minutes.append((acted - report.created_at).total_seconds() / 60)
                    pairs.append((report.created_at, acted))
            sent = [c for c in t.checkins.values() if _within(c.sent_at, start, end)]
            asked = [m for m in t.messages.values() if m.direction == Direction.IN.value
                     and _within(m.created_at, start, end)]
            unanswered = sum(1 for m in asked if m.outcome in UNANSWERED)
            answered = sum(1 for m in asked if m.outcome == Outcome.ANSWERED.value)
            made = sum(1 for s in t.sessions.values() if _within(s.created_at, start, end))
            result.append(WeekFigures(
                start, made, len(sent), sum(1 for c in sent if c.answered_at is not None),
                tiers, minutes, answered + unanswered, unanswered, pairs))
        return result


__all__ = ["MemoryDeskViews"]
