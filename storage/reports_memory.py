"""In-memory twin of `storage.reports.ReportStore` (reports, their workflow, audit trail,
photos and staff-chat cards), for fast tests.

`MemoryReportStore` keeps its rows in the `MemoryTables` (storage/memory_tables.py) the other
aggregates' twins share, so a report names a patient and their latest session, and goes when
the patient is erased. It follows the same rules: a staff status change succeeds for exactly
one caller (one event loop, no await inside a change) and only that caller's action is
audited; urgency only rises; the queue is most urgent, then oldest, first. Where it differs
from the SQL store, by design:

- an audit entry or photo for a report that does not exist raises LookupError (the database
  refuses it with an IntegrityError);
- a name search lowers non-ASCII letters too (SQLite's ``lower`` leaves them alone).

tests/test_reports_conformance.py runs the same tests against both.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence

from storage.alert_rows import CardCopies
from storage.clock import Clock, utcnow
from storage.ids import telegram_id as typed_telegram_id
from storage.memory_tables import (
    ActionRow,
    CardRow,
    MemoryTables,
    PatientRow,
    PhotoRow,
    ReportRow,
    utc,
)
from storage.patients import aware_now
from storage.report_info import (
    ALERT_URGENCIES,
    CARD_KINDS,
    ActionInfo,
    CardInfo,
    PatientOverview,
    ReportInfo,
    Transition,
    queue_order,
    unanswered_of,
)
from storage.sessions_memory import latest_of
from storage.states import (
    AlertKind,
    Direction,
    Outcome,
    ReportAction,
    ReportKind,
    ReportStatus,
    Urgency,
)

UNRESOLVED = (ReportStatus.OPEN.value, ReportStatus.TAKEN.value)
STAFF_ACTIONS = (ReportAction.TAKEN.value, ReportAction.REPLIED.value,
                 ReportAction.PAUSED.value, ReportAction.RESOLVED.value)


def action_info(row: ActionRow) -> ActionInfo:
    return ActionInfo(row.id, row.report_id, row.actor_telegram_id, row.action, row.note,
                      row.created_at)


def _card_info(row: CardRow) -> CardInfo:
    return CardInfo(row.report_id, row.chat_id, row.message_id, row.kind, row.created_at)


def _newest(rows: Iterable[ReportRow]) -> ReportRow | None:
    return max(rows, key=lambda r: (r.created_at, r.id), default=None)


def claim_repost(tables: MemoryTables, report_id: int, wait: dt.timedelta,
                 now: dt.datetime) -> bool:
    """Claim the re-post of an untaken card: True when the report is still open and was not
    re-posted within `wait` (`storage.report_rows.claim_repost`)."""
    row = tables.reports.get(report_id)
    if (row is None or row.status != ReportStatus.OPEN.value
            or (row.reposted_at is not None and row.reposted_at > now - wait)):
        return False
    row.reposted_at = now
    return True


def audit(tables: MemoryTables, report_id: int | None, actor: int | None,
          action: ReportAction, note: str | None, now: dt.datetime,
          patient_id: int | None = None) -> None:
    """One audit entry (`storage.report_rows.audit`); LookupError for an unknown report."""
    if report_id is not None and report_id not in tables.reports:
        raise LookupError(f"no report {report_id}")
    row = ActionRow(tables.next_id("actions"), report_id, patient_id, actor, action.value,
                    note, now)
    tables.actions[row.id] = row


def report_info(tables: MemoryTables, row: ReportRow) -> ReportInfo:
    """The frozen view of a report row with its patient and session (as
    `storage.report_rows.staff_report`)."""
    patient = tables.patients[row.patient_id]
    session = tables.sessions.get(row.session_id) if row.session_id else None
    return ReportInfo(
        id=row.id, patient_id=row.patient_id, session_id=row.session_id, kind=row.kind,
        status=row.status, urgency=row.urgency, day=row.day, text=row.text,
        reason=row.reason, created_at=row.created_at, resolved_at=row.resolved_at,
        taken_by=row.taken_by, taken_at=row.taken_at, resolved_by=row.resolved_by,
        resolution_note=row.resolution_note, patient_name=patient.name,
        telegram_id=patient.telegram_id, chat_id=patient.chat_id,
        session_date=session.session_date if session else None, repeats=row.repeats,
        latest_text=row.latest_text, alerted_at=row.alerted_at)


class MemoryReportStore:
    """Reports in memory (the interface of `ReportStore`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow,
                 copies: CardCopies | None = None) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock
        self.copies = copies

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return utc(aware_now(self.clock, now))

    def _info(self, row: ReportRow) -> ReportInfo:
        return report_info(self.tables, row)

    def _of_user(self, telegram_id: int) -> list[ReportRow]:
        patient = self.tables.by_telegram(telegram_id)
        return [r for r in self.tables.reports.values()
                if patient is not None and r.patient_id == patient.id]

    def _audit(self, report_id: int | None, actor: int | None, action: ReportAction,
               note: str | None, now: dt.datetime, patient_id: int | None = None) -> None:
        audit(self.tables, report_id, actor, action, note, now, patient_id)

    # --- the patient side -------------------------------------------------------------------
    async def create(self, telegram_id: int, kind: ReportKind | str, text: str,
                     urgency: Urgency | str | None = None, day: int | None = None,
                     reason: str | None = None, now: dt.datetime | None = None,
                     source_update_id: int | None = None,
                     source_message: tuple[int, int] | None = None) -> ReportInfo:
        """Store a report for clinic staff, linked to the patient's latest session; the same
        one again for an update already stored (a spool replay)."""
        kind = ReportKind(kind)
        urgency_value = Urgency(urgency).value if urgency is not None else None
        now = self._now(now)
        if source_update_id is not None:
            for found in self.tables.reports.values():
                if found.source_update_id == source_update_id:
                    return self._info(found)
        patient = self.tables.by_telegram(telegram_id)
        if patient is None:
            patient = self.tables.add_patient(now, telegram_id=telegram_id)
        latest = latest_of(self.tables, patient.id)
        row = ReportRow(self.tables.next_id("reports"), patient.id, kind.value, text, now,
                        session_id=latest.id if latest else None, urgency=urgency_value,
                        day=day, reason=reason, source_update_id=source_update_id,
                        source_chat_id=source_message[0] if source_message else None,
                        source_message_id=source_message[1] if source_message else None)
        self.tables.reports[row.id] = row
        self.tables.owe_alert(row.id, now)  # the staff card, owed with the report
        for chat in self.copies.chats(urgency_value, now) if self.copies else ():
            self.tables.owe_alert(row.id, now, chat_id=chat)  # on call: a private copy
        return self._info(row)

    async def set_status(self, report_id: int, status: ReportStatus | str,
                         now: dt.datetime | None = None) -> ReportInfo | None:
        """Move a report to taken/resolved/open without the staff workflow; None if unknown."""
        status = ReportStatus(status)
        row = self.tables.reports.get(report_id)
        if row is None:
            return None
        row.status = status.value
        row.resolved_at = self._now(now) if status is ReportStatus.RESOLVED else None
        return self._info(row)

    # --- reading --------------------------------------------------------------------------
    async def get(self, report_id: int) -> ReportInfo | None:
        """The report with this id, or None."""
        row = self.tables.reports.get(report_id)
        return self._info(row) if row else None

    async def queue(self) -> list[ReportInfo]:
        """Unresolved reports, most urgent and oldest first."""
        return sorted((self._info(r) for r in self.tables.reports.values()
                       if r.status in UNRESOLVED), key=queue_order)

    async def actions(self, report_id: int) -> list[ActionInfo]:
        """The report's audit trail, oldest first."""
        rows = [a for a in self.tables.actions.values() if a.report_id == report_id]
        return [action_info(a) for a in sorted(rows, key=lambda a: (a.created_at, a.id))]

    async def photos(self, report_id: int) -> list[str]:
        """File ids of the report's photos, in the order they arrived."""
        return [p.file_id for _, p in sorted(self.tables.photos.items())
                if p.report_id == report_id]

    async def thread_for(self, telegram_id: int) -> ReportInfo | None:
        """The patient's latest unresolved report that staff have replied to."""
        replied = {a.report_id for a in self.tables.actions.values()
                   if a.action == ReportAction.REPLIED.value}
        row = _newest(r for r in self._of_user(telegram_id)
                      if r.status != ReportStatus.RESOLVED.value and r.id in replied)
        return self._info(row) if row else None

    async def latest_open(self, telegram_id: int) -> ReportInfo | None:
        """The patient's newest unresolved report."""
        row = _newest(r for r in self._of_user(telegram_id)
                      if r.status != ReportStatus.RESOLVED.value)
        return self._info(row) if row else None

    async def open_alerts(self, telegram_id: int, limit: int = 20) -> list[ReportInfo]:
        """The patient's unresolved emergency and urgent reports, newest first."""
        rows = sorted((r for r in self._of_user(telegram_id)
                       if r.status != ReportStatus.RESOLVED.value
                       and r.urgency in ALERT_URGENCIES),
                      key=lambda r: (r.created_at, r.id), reverse=True)
        return [self._info(r) for r in rows[:limit]]

    # --- cards -------------------------------------------------------------------------
    async def card_sent(self, report_id: int, chat_id: int, message_id: int, kind: str,
                        now: dt.datetime | None = None) -> bool:
        """Remember that staff-chat message `message_id` belongs to the report (True; a
        message already linked is left as it is). False when the report is gone (erased while
        the message was being sent): the message is owed an "[erased]" edit."""
        if report_id not in self.tables.reports:
            self.tables.owe_alert(None, self._now(now), AlertKind.ERASE, chat_id=chat_id,
                                  message_id=message_id, card_kind=kind)
            return False
        if await self.card(chat_id, message_id):
            return True
        row = CardRow(self.tables.next_id("cards"), report_id, chat_id, message_id, kind,
                      self._now(now))
        self.tables.cards[row.id] = row
        return True

    async def card(self, chat_id: int, message_id: int) -> CardInfo | None:
        """The report a staff-chat message belongs to, or None."""
        row = next((c for c in self.tables.cards.values()
                    if (c.chat_id, c.message_id) == (chat_id, message_id)), None)
        return _card_info(row) if row else None

    def _cards(self, report_id: int, kinds: Sequence[str]) -> list[CardRow]:
        return sorted((c for c in self.tables.cards.values()
                       if c.report_id == report_id and c.kind in kinds),
                      key=lambda c: (c.created_at, c.id))

    async def latest_card(self, report_id: int, kinds: Sequence[str] = CARD_KINDS,
                          chat_id: int | None = None) -> CardInfo | None:
        """The newest card of these kinds for the report (in `chat_id` when given)."""
        rows = [c for c in self._cards(report_id, kinds) if chat_id in (None, c.chat_id)]
        return _card_info(rows[-1]) if rows else None

    async def cards(self, report_id: int, kinds: Sequence[str] = CARD_KINDS) -> list[CardInfo]:
        """Every card (or re-post) of the report, in every chat, oldest first."""
        return [_card_info(c) for c in self._cards(report_id, kinds)]

    async def unanswered(self, thresholds: dict[str, dt.timedelta],
                         now: dt.datetime | None = None) -> list[tuple[ReportInfo, CardInfo]]:
        """Open (not taken) reports whose newest card is older than their urgency's
        threshold."""
        now = self._now(now)
        reports = [self._info(r) for r in self.tables.reports.values()
                   if r.status == ReportStatus.OPEN.value and r.urgency in thresholds]
        return await unanswered_of(reports, self.latest_card, thresholds, now)

    async def first_actions(self, since: dt.datetime,
                            until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """(raised, first staff action) of each report raised in [since, until) that a staff
        member took, answered, paused or resolved."""
        firsts: dict[int, dt.datetime] = {}
        for action in self.tables.actions.values():
            report = self.tables.reports.get(action.report_id or 0)
            if (report is None or not since <= report.created_at < until
                    or action.action not in STAFF_ACTIONS or action.actor_telegram_id is None):
                continue
            first = firsts.get(report.id)
            firsts[report.id] = action.created_at if first is None else min(first,
                                                                            action.created_at)
        return [(self.tables.reports[i].created_at, first) for i, first in firsts.items()]

    async def claim_repost(self, report_id: int, wait: dt.timedelta,
                           now: dt.datetime | None = None) -> bool:
        """Claim the re-post of an untaken card (still open, not re-posted within `wait`)."""
        return claim_repost(self.tables, report_id, wait, self._now(now))

    # --- audit and photos ---------------------------------------------------------------
    async def record(self, report_id: int | None, actor: int | None, action: ReportAction,
                     note: str | None = None, now: dt.datetime | None = None, *,
                     patient_id: int | None = None) -> None:
        """Append one audit entry (about a report, or with `patient_id` about a patient)."""
        self._audit(report_id, actor, action, note, self._now(now), patient_id)

    async def add_photo(self, report_id: int, file_id: str, actor: int | None,
                        now: dt.datetime | None = None) -> None:
        """Keep a photo's Telegram file id with the report (and audit it)."""
        now = self._now(now)
        self._audit(report_id, actor, ReportAction.PHOTO, None, now)
        row = PhotoRow(self.tables.next_id("photos"), report_id, file_id[:255], now)
        self.tables.photos[row.id] = row

    async def add_description(self, report_id: int, words: str, label: str,
                              reason: str | None = None) -> bool:
        """The patient's own words go in front of the report's text (and their reason, if it
        had none); True when the report exists."""
        row = self.tables.reports.get(report_id)
        if row is None:
            return False
        row.text = f"{label}: \"{words.strip()}\" · {row.text}"
        if reason and not row.reason:
            row.reason = reason
        return True

    # --- transitions ----------------------------------------------------------------------
    def _transition(self, report_id: int, allowed: Iterable[ReportStatus],
                    changes: dict[str, object], actor: int, action: ReportAction,
                    note: str | None, now: dt.datetime) -> Transition:
        row = self.tables.reports.get(report_id)
        if row is None:
            return Transition(False, None)
        if row.status not in {a.value for a in allowed}:
            return Transition(False, self._info(row))
        for name, value in changes.items():
            setattr(row, name, value)
        self._audit(report_id, actor, action, note, now)
        return Transition(True, self._info(row))

    async def take(self, report_id: int, actor: int,
                   now: dt.datetime | None = None) -> Transition:
        """open -> taken by `actor`."""
        now = self._now(now)
        return self._transition(
            report_id, [ReportStatus.OPEN],
            {"status": ReportStatus.TAKEN.value, "taken_by": actor, "taken_at": now},
            actor, ReportAction.TAKEN, None, now)

    async def resolve(self, report_id: int, actor: int, note: str,
                      now: dt.datetime | None = None) -> Transition:
        """open/taken -> resolved, with the note."""
        now = self._now(now)
        return self._transition(
            report_id, [ReportStatus.OPEN, ReportStatus.TAKEN],
            {"status": ReportStatus.RESOLVED.value, "resolved_by": actor, "resolved_at": now,
             "resolution_note": note}, actor, ReportAction.RESOLVED, note, now)

    async def reopen(self, report_id: int, actor: int,
                     now: dt.datetime | None = None) -> Transition:
        """resolved -> taken by `actor`."""
        now = self._now(now)
        return self._transition(
            report_id, [ReportStatus.RESOLVED],
            {"status": ReportStatus.TAKEN.value, "taken_by": actor, "taken_at": now,
             "resolved_at": None, "resolved_by": None}, actor, ReportAction.REOPENED, None, now)

    # --- staff commands -------------------------------------------------------------------
    async def find_patients(self, name: str, limit: int = 5) -> list[PatientOverview]:
        """Patients whose name contains `name` (or whose Telegram id it is), by id."""
        wanted, typed_id = name.lower().strip(), typed_telegram_id(name)
        found = [p for _, p in sorted(self.tables.patients.items())
                 if (p.name is not None and wanted in p.name.lower())
                 or (typed_id is not None and p.telegram_id == typed_id)]
        return [self._overview(p) for p in found[:limit]]

    def _overview(self, patient: PatientRow) -> PatientOverview:
        sessions = sorted((s for s in self.tables.sessions.values()
                           if s.patient_id == patient.id), key=lambda s: (s.session_date, s.id))
        reports = sorted((r for r in self.tables.reports.values()
                          if r.patient_id == patient.id), key=lambda r: (r.created_at, r.id))
        # the check-in outbox's rows, which its twins (scheduler/memory.py) keep here too
        checkins = Counter(c.status for c in self.tables.checkins.values()
                           if c.patient_id == patient.id)
        return PatientOverview(patient.id, patient.name, patient.telegram_id,
                               patient.checkins_paused,
                               [(s.session_date, s.cancelled_at is not None) for s in sessions],
                               dict(checkins), [self._info(r) for r in reports])

    async def unanswered_questions(
            self, since: dt.datetime | None = None) -> list[tuple[int, str]]:
        """(patient id, text) of questions the bot could not answer: logged messages it
        abstained on, then questions patients handed to the clinic."""
        logged = [(m.patient_id, m.text) for _, m in sorted(self.tables.messages.items())
                  if m.direction == Direction.IN.value and m.outcome == Outcome.ABSTAINED.value
                  and (since is None or m.created_at >= since)]
        handed = [(r.patient_id, r.text) for _, r in sorted(self.tables.reports.items())
                  if r.kind == ReportKind.QUESTION.value and not r.text.startswith("check-in ")
                  and (since is None or r.created_at >= since)]
        return logged + handed

    async def export(self, start: dt.datetime,
                     end: dt.datetime) -> list[tuple[ReportInfo, list[ActionInfo]]]:
        """Reports created in [start, end) with their audit trails, oldest first."""
        rows = sorted((r for r in self.tables.reports.values() if start <= r.created_at < end),
                      key=lambda r: (r.created_at, r.id))
        return [(self._info(r), await self.actions(r.id)) for r in rows]


__all__ = ["MemoryReportStore", "action_info", "audit", "claim_repost", "report_info"]
