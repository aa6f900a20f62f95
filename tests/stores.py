"""`Stores`: the storage aggregates of one test database in one object.

A test convenience only, for seeding and reading rows (``repo.patients.ensure(...)``,
``repo.treatments.add(...)``): the product has no such bundle, bot/compose.py hands each
caller the stores it uses. `Stores.of(services)` makes ones like those the services were
built with over their database; `Stores.over(db)` makes new ones over a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import (
    Database,
    InviteStore,
    MessageLog,
    PatientStore,
    ReportStore,
    SessionStore,
    Stats,
    utcnow,
)
from storage.alert_rows import CardCopies
from storage.clock import Clock
from storage.context import ContextReader, PatientContext, is_shared
from storage.patients import PatientInfo
from storage.sessions import SessionInfo

if TYPE_CHECKING:
    from bot.compose import Services
    from bot.web.services import DeskServices


@dataclass(frozen=True)
class Stores:
    """The aggregates of one database (see the module docstring)."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    patients: PatientStore
    treatments: SessionStore
    invites: InviteStore
    messages: MessageLog
    reports: ReportStore
    stats: Stats
    contexts: ContextReader

    @classmethod
    def over(cls, db: Database, clock: Clock = utcnow,
             copies: CardCopies | None = None) -> Stores:
        """New stores over `db` (`copies`: who else is owed a new card)."""
        sessions = db.sessions
        return cls(sessions, clock, PatientStore(sessions, clock), SessionStore(sessions, clock),
                   InviteStore(sessions, clock), MessageLog(sessions, clock),
                   ReportStore(sessions, clock, copies), Stats(sessions),
                   ContextReader(sessions, clock))

    @classmethod
    def of(cls, services: Services) -> Stores:
        """Stores like those `services` were built with (bot/compose.py), over its database,
        with its clock and on-call copies (the SQL stores keep no state of their own; services
        kept in memory have no database: read their `services.stores`)."""
        return cls.over(services.database, services.clock, services.settings.oncall())

    @classmethod
    def of_desk(cls, desk: DeskServices) -> Stores:
        """Stores over the web desk's database, with its clock and on-call copies."""
        return cls.over(desk.db, desk.clock, desk.settings.oncall())

    @property
    def shared(self) -> bool:
        """True when other processes may write this database (anything but SQLite)."""
        return is_shared(self.sessions)

    async def patient_context(self, telegram_id: int,
                              now: dt.datetime | None = None) -> PatientContext:
        """The user's patient row, latest session and conversation states."""
        return await self.contexts.patient_context(telegram_id, now)

    async def patient_and_session(
            self, telegram_id: int) -> tuple[PatientInfo | None, SessionInfo | None]:
        """The user's patient row and latest not-cancelled session."""
        context = await self.patient_context(telegram_id)
        return context.patient, context.session
