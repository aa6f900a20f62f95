"""`Repository`: a thin compatibility facade over the storage aggregates.

Storage is split by aggregate, one module writing each table:

* storage/patients.py  `PatientStore`  patients (consent, zone, pause flag, erasure)
* storage/sessions.py  `SessionStore`  treatment_sessions
* storage/invites.py   `InviteStore`   invites (redemption links or merges patients)
* storage/messages.py  `MessageLog`    messages (the consent rule is on the logging path)
* storage/reports.py   `ReportStore`   reports, their audit trail, photos, staff cards
* storage/chat_state.py `ChatStateStore` chat_state; storage/retention.py the purge
* storage/context.py   the per-message read; storage/stats.py counts and /mydata

This class keeps the method names the bot, the CLI and the tests called before the split, each
forwarding to one store, so code other changes are editing keeps working while issue 12
lands. It holds no SQL. New code should take the store it needs (they are attributes here:
``repo.patients``, ``repo.treatments``, ``repo.invites``, ``repo.messages``, ``repo.reports``,
``repo.stats``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alert_rows import CardCopies
from storage.clock import Clock, utcnow
from storage.context import PatientContext, is_shared, patient_context
from storage.invites import InviteInfo, InviteStore, RedeemResult, RedeemStatus
from storage.messages import LogEntry, MessageLog
from storage.models import InactiveReason, ReportKind, ReportStatus, SessionSource, Urgency
from storage.patients import ConsentRequired, PatientInfo, PatientStore, aware_now
from storage.reports import ReportInfo, ReportStore
from storage.sessions import SessionInfo, SessionStore
from storage.stats import Stats


class Repository:
    """The storage aggregates behind the pre-split method names (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow,
                 copies: CardCopies | None = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.patients = PatientStore(sessions, clock)
        self.treatments = SessionStore(sessions, clock)
        self.invites = InviteStore(sessions, clock)
        self.messages = MessageLog(sessions, clock)
        self.reports = ReportStore(sessions, clock, copies)  # copies: on-call cards
        self.stats = Stats(sessions)

    @property
    def shared(self) -> bool:
        """True when other processes may write this database (anything but SQLite)."""
        return is_shared(self.sessions)

    # --- patients -------------------------------------------------------------------------
    async def get_patient(self, telegram_id: int) -> PatientInfo | None:
        """The patient linked to this Telegram user, or None."""
        return await self.patients.get(telegram_id)

    async def get_patient_by_id(self, patient_id: int) -> PatientInfo | None:
        """The patient with this database id, or None."""
        return await self.patients.get_by_id(patient_id)

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest session and conversation states (storage/context)."""
        return await patient_context(self.sessions, telegram_id, aware_now(self.clock, now))

    async def patient_and_session(
            self, telegram_id: int) -> tuple[PatientInfo | None, SessionInfo | None]:
        """The user's patient row and latest not-cancelled session."""
        context = await self.patient_context(telegram_id)
        return context.patient, context.session

    async def ensure_patient(self, telegram_id: int, chat_id: int,
                             now: dt.datetime | None = None) -> PatientInfo:
        """The user's patient row, created bare (ids only) if missing."""
        return await self.patients.ensure(telegram_id, chat_id, now)

    async def record_consent(self, telegram_id: int, name: str | None,
                             now: dt.datetime | None = None) -> PatientInfo:
        """Record consent (and the name given, if any)."""
        return await self.patients.record_consent(telegram_id, name, now)

    async def set_timezone(self, telegram_id: int, timezone: str) -> PatientInfo:
        """Store the patient's IANA timezone (needs consent)."""
        return await self.patients.set_timezone(telegram_id, timezone)

    async def set_checkins_paused(self, telegram_id: int, paused: bool) -> bool:
        """The pause flag alone, for a conversation without a check-in outbox (the outbox's
        pause/resume sets it with the rows, in one transaction)."""
        return await self.patients.set_checkins_paused(telegram_id, paused)

    async def mark_inactive(self, reason: InactiveReason | str, *, telegram_id: int | None = None,
                            chat_id: int | None = None) -> int:
        """Stop messaging a patient (by telegram id or chat id)."""
        return await self.patients.mark_inactive(reason, telegram_id=telegram_id,
                                                 chat_id=chat_id)

    async def reactivate(self, telegram_id: int) -> bool:
        """Resume messaging a patient."""
        return await self.patients.reactivate(telegram_id)

    async def active_patients(self) -> list[PatientInfo]:
        """Consenting, active patients linked to a chat."""
        return await self.patients.active()

    async def erase_patient(self, telegram_id: int) -> bool:
        """Delete the patient and everything about them."""
        return await self.patients.erase(telegram_id)

    # --- treatment sessions -----------------------------------------------------------------
    async def add_session(self, session_date: dt.date, source: SessionSource | str, *,
                          telegram_id: int | None = None, patient_id: int | None = None,
                          now: dt.datetime | None = None) -> SessionInfo:
        """Record a treatment (patient-entered dates need consent)."""
        return await self.treatments.add(session_date, source, telegram_id=telegram_id,
                                         patient_id=patient_id, now=now)

    async def latest_session(self, patient_id: int) -> SessionInfo | None:
        """The not-cancelled session with the greatest date, or None."""
        return await self.treatments.latest(patient_id)

    async def get_session(self, session_id: int) -> SessionInfo | None:
        """One session by its id (cancelled ones too), or None."""
        return await self.treatments.get(session_id)

    async def list_sessions(self, patient_id: int,
                            include_cancelled: bool = True) -> list[SessionInfo]:
        """The patient's sessions, oldest date first."""
        return await self.treatments.of_patient(patient_id, include_cancelled)

    # --- invites ----------------------------------------------------------------------------
    async def create_invite(self, name: str, session_date: dt.date | None, ttl: dt.timedelta,
                            now: dt.datetime | None = None) -> InviteInfo:
        """Staff side: a patient record and its invite."""
        return await self.invites.create(name, session_date, ttl, now)

    async def get_invite(self, code: str) -> InviteInfo | None:
        """The invite with this code, or None."""
        return await self.invites.get(code)

    async def redeem_invite(self, code: str, telegram_id: int, chat_id: int,
                            now: dt.datetime | None = None) -> RedeemResult:
        """Link the Telegram user to the invited patient record."""
        return await self.invites.redeem(code, telegram_id, chat_id, now)

    # --- messages ---------------------------------------------------------------------------
    async def log_message_batch(self, entries: Sequence[LogEntry]) -> int:
        """Log chat messages (consenting patients only); returns how many were stored."""
        return await self.messages.log_batch(entries)

    async def count_messages(self, telegram_id: int) -> int:
        """Number of logged messages for this user."""
        return await self.messages.count(telegram_id)

    # --- reports ----------------------------------------------------------------------------
    async def create_report(self, telegram_id: int, kind: ReportKind | str, text: str,
                            urgency: Urgency | str | None = None, day: int | None = None,
                            reason: str | None = None, now: dt.datetime | None = None,
                            source_update_id: int | None = None,
                            source_message: tuple[int, int] | None = None) -> ReportInfo:
        """Store a report for clinic staff (allowed before consent); idempotent by
        `source_update_id` when given; `source_message` (chat id, message id): the
        patient's message that raised it."""
        return await self.reports.create(telegram_id, kind, text, urgency, day, reason, now,
                                         source_update_id, source_message)

    async def open_reports(self) -> list[ReportInfo]:
        """Reports not yet resolved, emergencies first, then oldest first."""
        return await self.reports.queue()

    async def set_report_status(self, report_id: int, status: ReportStatus | str,
                                now: dt.datetime | None = None) -> ReportInfo | None:
        """Move a report to taken/resolved/open; None when unknown."""
        return await self.reports.set_status(report_id, status, now)

    # --- figures ----------------------------------------------------------------------------
    async def data_summary(self, telegram_id: int) -> dict[str, Any]:
        """What is stored about this user, for /mydata."""
        return await self.stats.data_summary(telegram_id)

    async def count_rows(self, patient_id: int) -> dict[str, int]:
        """Rows per table belonging to a patient."""
        return await self.stats.count_rows(patient_id)

    async def count_patients(self) -> int:
        """Number of patient rows."""
        return await self.stats.count_patients()


__all__: Sequence[str] = (
    "Clock",
    "ConsentRequired",
    "InviteInfo",
    "LogEntry",
    "PatientContext",
    "PatientInfo",
    "RedeemResult",
    "RedeemStatus",
    "ReportInfo",
    "Repository",
    "SessionInfo",
    "utcnow",
)
