"""The rows the in-memory twins of the storage aggregates share: one `MemoryTables` is one
database in memory, for fast tests.

The SQL stores of patients, sessions, invites, messages, chat state, the per-message read and
the stats (storage/patients.py, sessions.py, ...) share one database; their twins
(storage/patients_memory.py, sessions_memory.py, invites_memory.py, messages_memory.py,
chat_state_memory.py, context_memory.py, stats_memory.py) share one `MemoryTables` the same
way, so a session added through one is seen by the others and erasing a patient takes their
rows with it, as the database's ON DELETE CASCADE does. Ids count up from 1 per table and are
never reused. Times are kept in UTC and a naive time is refused, as the ``UTCDateTime``
column type does. One event loop, no awaits inside a change: every method is atomic.

The reports' twin (storage/reports_memory.py) keeps reports, their audit trail, photos and
staff-chat cards here too, and the alert outbox's twin (storage/alerts_memory.py) its rows
(`owe_alert` is `storage.alert_rows.owe_card`: a new report owes its card in the same step).
The check-in outbox's rows are here too (`checkins`; its twins, scheduler/memory.py, keep
the outbox's state machine), so the check-in twins see the patients and sessions the storage
twins write (a pause, a deactivation, a cancelled session) and an erasure takes a patient's
check-ins with their sessions.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from storage.states import AlertKind, AlertStatus, CheckinStatus, ReportStatus


def utc(value: dt.datetime) -> dt.datetime:
    """The time in UTC; a naive time is refused (as the database's column type does)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
    return value.astimezone(dt.UTC)


@dataclass
class PatientRow:
    """One ``patients`` row."""

    id: int
    telegram_id: int | None
    chat_id: int | None
    name: str | None
    created_at: dt.datetime
    timezone: str | None = None
    consent_at: dt.datetime | None = None
    active: bool = True
    inactive_reason: str | None = None
    checkins_paused: bool = False


@dataclass
class SessionRow:
    """One ``treatment_sessions`` row."""

    id: int
    patient_id: int
    session_date: dt.date
    source: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None = None


@dataclass
class InviteRow:
    """One ``invites`` row."""

    code: str
    patient_id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    used_by_telegram_id: int | None = None


@dataclass
class MessageRow:
    """One ``messages`` row."""

    id: int
    patient_id: int
    direction: str
    text: str
    topic: str | None
    outcome: str | None
    created_at: dt.datetime


@dataclass
class StateRow:
    """One ``chat_state`` row (the payload as stored: JSON text)."""

    payload: str
    expires_at: dt.datetime
    updated_at: dt.datetime


@dataclass
class ReportRow:
    """One ``reports`` row."""

    id: int
    patient_id: int
    kind: str
    text: str
    created_at: dt.datetime
    status: str = ReportStatus.OPEN.value
    session_id: int | None = None
    urgency: str | None = None
    day: int | None = None
    reason: str | None = None
    resolved_at: dt.datetime | None = None
    taken_by: int | None = None
    taken_at: dt.datetime | None = None
    resolved_by: int | None = None
    resolution_note: str | None = None
    reposted_at: dt.datetime | None = None
    repeats: int = 0
    latest_text: str | None = None
    source_update_id: int | None = None
    source_chat_id: int | None = None
    source_message_id: int | None = None
    alerted_at: dt.datetime | None = None


@dataclass
class ActionRow:
    """One ``report_actions`` row (an audit entry)."""

    id: int
    report_id: int | None
    patient_id: int | None
    actor_telegram_id: int | None
    action: str
    note: str | None
    created_at: dt.datetime


@dataclass
class PhotoRow:
    """One ``report_photos`` row."""

    id: int
    report_id: int
    file_id: str
    created_at: dt.datetime


@dataclass
class CardRow:
    """One ``report_cards`` row (a staff-chat message about a report)."""

    id: int
    report_id: int
    chat_id: int
    message_id: int
    kind: str
    created_at: dt.datetime


@dataclass
class AlertRow:
    """One ``alerts`` row: a card, re-post, edit or "[erased]" edit owed to a chat."""

    id: int
    report_id: int | None
    kind: str
    due_at: dt.datetime
    created_at: dt.datetime
    chat_id: int | None = None
    message_id: int | None = None
    card_kind: str | None = None
    status: str = AlertStatus.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    sent_message_id: int | None = None
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass
class CheckinRow:
    """One ``checkins`` row (an outbox row of a treatment session)."""

    id: int
    patient_id: int
    step: str
    due_at: dt.datetime
    deliver_until: dt.datetime
    session_id: int = 1
    day_offset: int = 1
    status: str = CheckinStatus.PENDING.value
    attempts: int = 0
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    telegram_message_id: int | None = None
    last_error: str | None = None
    paused_reason: str | None = None
    local_date: dt.date | None = None
    tz: str = "UTC"
    sent_at: dt.datetime | None = None
    answer: str | None = None
    answered_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass
class MemoryTables:
    """The shared rows (see the module docstring)."""

    patients: dict[int, PatientRow] = field(default_factory=dict)
    sessions: dict[int, SessionRow] = field(default_factory=dict)
    invites: dict[str, InviteRow] = field(default_factory=dict)
    messages: dict[int, MessageRow] = field(default_factory=dict)
    states: dict[tuple[int, str], StateRow] = field(default_factory=dict)  # (user, kind)
    reports: dict[int, ReportRow] = field(default_factory=dict)
    actions: dict[int, ActionRow] = field(default_factory=dict)
    photos: dict[int, PhotoRow] = field(default_factory=dict)
    cards: dict[int, CardRow] = field(default_factory=dict)
    alerts: dict[int, AlertRow] = field(default_factory=dict)
    checkins: dict[int, CheckinRow] = field(default_factory=dict)
    erasures: int = 0  # how many erasures (storage/erasures.py's epoch)
    _last_ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def next_id(self, table: str) -> int:
        """The next id of `table` (never one used before)."""
        self._last_ids[table] += 1
        return self._last_ids[table]

    def snapshot(self) -> MemoryTables:
        """A deep copy of every row, for `restore` (a transaction that may roll back)."""
        return copy.deepcopy(self)

    def restore(self, saved: MemoryTables) -> None:
        """Every table back to `saved` (a rolled-back transaction); ids used meanwhile stay
        used, as a database's sequences do."""
        last_ids = self._last_ids
        self.__dict__.update(copy.deepcopy(saved).__dict__)
        self._last_ids = last_ids

    def used_id(self, table: str, row_id: int) -> None:
        """`row_id` of `table` was given by hand (a planted row): later ids count on from it."""
        self._last_ids[table] = max(self._last_ids[table], row_id)

    def by_telegram(self, telegram_id: int) -> PatientRow | None:
        """The patient linked to this Telegram user."""
        return next((p for p in self.patients.values() if p.telegram_id == telegram_id), None)

    def add_patient(self, now: dt.datetime, *, telegram_id: int | None = None,
                    chat_id: int | None = None, name: str | None = None) -> PatientRow:
        """A new patient row (the name trimmed as `storage.patients.new_patient` does)."""
        row = PatientRow(self.next_id("patients"), telegram_id, chat_id,
                         name.strip()[:200] if name else None, utc(now))
        self.patients[row.id] = row
        return row

    def add_session(self, patient_id: int, session_date: dt.date, source: str,
                    now: dt.datetime) -> SessionRow:
        """A new session row."""
        row = SessionRow(self.next_id("sessions"), patient_id, session_date, source, utc(now))
        self.sessions[row.id] = row
        return row

    def add_report(self, patient_id: int, now: dt.datetime,
                   status: ReportStatus | str = ReportStatus.OPEN) -> ReportRow:
        """Plant a report of this patient (a test's shortcut past `MemoryReportStore.create`:
        no card owed, no session linked)."""
        if patient_id not in self.patients:
            raise LookupError(f"no patient with id {patient_id}")
        row = ReportRow(self.next_id("reports"), patient_id, "patient", "planted", utc(now),
                        status=ReportStatus(status).value)
        self.reports[row.id] = row
        return row

    def owe_alert(self, report_id: int | None, now: dt.datetime,
                  kind: AlertKind = AlertKind.CARD, delay: dt.timedelta | None = None,
                  chat_id: int | None = None, message_id: int | None = None,
                  card_kind: str | None = None) -> AlertRow:
        """`chat_id` (None: the staff chat) is owed `kind` for this report, due now or after
        `delay` (as `storage.alert_rows.owe_card`)."""
        now = utc(now)
        row = AlertRow(self.next_id("alerts"), report_id, kind.value,
                       now + delay if delay is not None else now, now, chat_id=chat_id,
                       message_id=message_id, card_kind=card_kind, updated_at=now)
        self.alerts[row.id] = row
        return row

    def repoint(self, source: int, target: int) -> None:
        """Every row naming patient `source` names `target` instead (an invite's merge)."""
        rows: list[SessionRow | InviteRow | MessageRow | ReportRow | CheckinRow] = [
            *self.sessions.values(), *self.invites.values(), *self.messages.values(),
            *self.reports.values(), *self.checkins.values()]
        for row in rows:
            if row.patient_id == source:
                row.patient_id = target
        for action in self.actions.values():
            if action.patient_id == source:
                action.patient_id = target

    def delete_patient(self, patient_id: int) -> None:
        """The patient row and every row naming it (ON DELETE CASCADE)."""
        self.patients.pop(patient_id, None)
        self.sessions = {k: r for k, r in self.sessions.items() if r.patient_id != patient_id}
        self.invites = {k: r for k, r in self.invites.items() if r.patient_id != patient_id}
        self.messages = {k: r for k, r in self.messages.items() if r.patient_id != patient_id}
        self.checkins = {k: r for k, r in self.checkins.items() if r.patient_id != patient_id}
        self.delete_reports({k for k, r in self.reports.items() if r.patient_id == patient_id})
        self.actions = {k: r for k, r in self.actions.items() if r.patient_id != patient_id}

    def delete_reports(self, report_ids: set[int]) -> None:
        """These reports and their audit entries, photos and cards (ON DELETE CASCADE)."""
        self.reports = {k: r for k, r in self.reports.items() if k not in report_ids}
        self.actions = {k: r for k, r in self.actions.items() if r.report_id not in report_ids}
        self.photos = {k: r for k, r in self.photos.items() if r.report_id not in report_ids}
        self.cards = {k: r for k, r in self.cards.items() if r.report_id not in report_ids}
        self.alerts = {k: r for k, r in self.alerts.items() if r.report_id not in report_ids}


__all__ = ["ActionRow", "AlertRow", "CardRow", "CheckinRow", "InviteRow", "MemoryTables",
           "MessageRow", "PatientRow", "PhotoRow", "ReportRow", "SessionRow", "StateRow", "utc"]
