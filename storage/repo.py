"""`Repository`: the storage aggregates a conversation works with, in one bundle.

Storage is split by aggregate, one module writing each table; callers use the aggregate
itself (``repo.patients.get(...)``, ``repo.treatments.add(...)``):

* ``repo.patients``   storage/patients.py  `PatientStore`  patients (consent, zone, pause
  flag, erasure)
* ``repo.treatments`` storage/sessions.py  `SessionStore`  treatment_sessions
* ``repo.invites``    storage/invites.py   `InviteStore`   invites (redemption links or
  merges patients)
* ``repo.messages``   storage/messages.py  `MessageLog`    messages (the consent rule is on
  the logging path)
* ``repo.reports``    storage/reports.py   `ReportStore`   reports, their audit trail, photos,
  staff cards
* ``repo.stats``      storage/stats.py     `Stats`         counts and /mydata
* storage/chat_state.py `ChatStateStore` chat_state; storage/retention.py the purge

The one read that spans aggregates, a patient with their latest session and short-lived
state (storage/context.py), is `patient_context` / `patient_and_session`. The bundle holds no
SQL and forwards nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alert_rows import CardCopies
from storage.clock import Clock, utcnow
from storage.context import PatientContext, is_shared, patient_context
from storage.invites import InviteInfo, InviteStore, RedeemResult, RedeemStatus
from storage.messages import LogEntry, MessageLog
from storage.patients import ConsentRequired, PatientInfo, PatientStore, aware_now
from storage.reports import ReportInfo, ReportStore
from storage.sessions import SessionInfo, SessionStore
from storage.stats import Stats


class Repository:
    """The storage aggregates of one database (see the module docstring)."""

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

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest session and conversation states (storage/context)."""
        return await patient_context(self.sessions, telegram_id, aware_now(self.clock, now))

    async def patient_and_session(
            self, telegram_id: int) -> tuple[PatientInfo | None, SessionInfo | None]:
        """The user's patient row and latest not-cancelled session."""
        context = await self.patient_context(telegram_id)
        return context.patient, context.session


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
