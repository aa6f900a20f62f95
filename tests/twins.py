"""One backend of the storage aggregates for the conformance tests: the SQL stores over SQLite
or PostgreSQL, or their in-memory twins over one `MemoryTables` (the `backend` fixture of
tests/conftest.py makes each).

A conformance test (tests/test_*_conformance.py) runs unchanged on all three, so a twin that
drifts from its SQL store fails there. Each store is typed as the Protocol the core talks
through (bot/core/ports.py) widened by what the CLI and the tests read besides, so mypy checks
that both the SQL store and its twin have every method. The little a test needs that no store
offers is done per backend (`Planting`): a bare report planted in one step, a session
cancelled (the check-in manager's write), the staff cards owed (the alert outbox's rows).
Every backend's reports owe an emergency's card to the on-call chat `ON_CALL` too. The
check-in outbox (`plans`, `outbox`) and the figures of /metrics (`figures`) are over the same
database or the same `MemoryTables`; `probe` is what /readyz asks it. The polling leader's
lease rows and handled updates (`leases`, `handled`) are typed as the Protocols of
bot/telegram/polling/ports.py; the count of erasures (`erasures`) is over the patients' rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from bot.core.ports import (
    CardOutbox,
    ChatStates,
    DataSummary,
    DeskReports,
    Erasures,
    Invites,
    KBOverrides,
    MessageStore,
    PatientContexts,
    Patients,
    Reports,
    Treatments,
)
from bot.telegram.polling.ports import HandledUpdates, Leases
from scheduler.memory import MemoryConnector, MemoryPlanStore, MemorySharedPause
from scheduler.pause import SharedPause
from scheduler.sending import SharedPauseStore
from scheduler.sql import Connector, PlanStore, SqlConnector, SqlPlanStore
from storage.alerts import AlertConnector, AlertSql
from storage.alerts_memory import MemoryAlerts
from storage.chat_state import ChatStateStore, StateKind, StoredState
from storage.chat_state_memory import MemoryChatStateStore
from storage.clock import ManualClock
from storage.context import ContextReader
from storage.context_memory import MemoryContextReader
from storage.db import Database
from storage.desk_logins import DeskLoginStore
from storage.desk_logins_memory import MemoryDeskLoginStore
from storage.desk_views import DeskPages, DeskViews
from storage.desk_views_memory import MemoryDeskViews
from storage.erasures import ErasureSql
from storage.erasures_memory import MemoryErasures
from storage.figures import OpsFigures, SqlFigures
from storage.figures_memory import MemoryFigures
from storage.handled_updates import HandledSql
from storage.handled_updates_memory import MemoryHandled
from storage.health import DatabaseProbe, MemoryProbe, SqlProbe
from storage.invites import InviteInfo, InviteStore
from storage.invites_memory import MemoryInviteStore
from storage.kb_overrides import KBOverrideStore
from storage.kb_overrides_memory import MemoryKBOverrideStore
from storage.leader_lease import LeaseSql
from storage.leader_lease_memory import MemoryLeases
from storage.memory_tables import MemoryTables
from storage.messages import MessageLog
from storage.messages_memory import MemoryMessageLog
from storage.models import Alert, AlertKind, Report, ReportStatus
from storage.patients import PatientInfo, PatientStore
from storage.patients_memory import MemoryPatientStore
from storage.reports import CardInfo, ReportInfo, ReportStore
from storage.reports_memory import MemoryReportStore
from storage.retention import Retention, SqlRetention
from storage.retention_memory import MemoryRetention
from storage.sessions import SessionStore, cancel
from storage.sessions_memory import MemorySessionStore
from storage.stats import Stats
from storage.stats_memory import MemoryStats

NOW = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.UTC)  # the backend's clock starts here
ON_CALL = 777  # the on-call staff member's private chat


class PatientRows(Patients, Protocol):
    """`Patients` and what the CLI reads besides."""

    async def active(self) -> list[PatientInfo]: ...


class InviteRows(Invites, Protocol):
    """`Invites` and the read by code."""

    async def get(self, code: str) -> InviteInfo | None: ...


class StateRows(ChatStates, Protocol):
    """`ChatStates` and the read of several kinds at once."""

    async def get_many(self, telegram_id: int, kinds: Iterable[StateKind],
                       now: dt.datetime | None = None) -> dict[str, StoredState]: ...


class MessageRows(MessageStore, Protocol):
    """`MessageStore` and the count of a user's messages."""

    async def count(self, telegram_id: int) -> int: ...


class Figures(DataSummary, Protocol):
    """`DataSummary` and the counts erasure is checked with."""

    async def count_rows(self, patient_id: int) -> dict[str, int]: ...

    async def count_patients(self) -> int: ...


class ReportRows(Reports, DeskReports, Protocol):
    """`Reports` (the flows) and `DeskReports` (the desk), and what the escalation job and
    the tests use besides."""

    async def cards(self, report_id: int, kinds: Sequence[str] = ...) -> list[CardInfo]: ...

    async def claim_repost(self, report_id: int, wait: dt.timedelta,
                           now: dt.datetime | None = None) -> bool: ...

    async def set_status(self, report_id: int, status: ReportStatus | str,
                         now: dt.datetime | None = None) -> ReportInfo | None: ...


class AlertRows(CardOutbox, AlertConnector, Protocol):
    """The alert outbox: the desk's view (`CardOutbox`), the sender's (`AlertConnector`) and
    the reports whose card is still owed."""

    async def pending_cards(self) -> set[int]: ...


class Logins(Protocol):
    """The web desk's used sign-ins (`DeskLoginStore`; no core Protocol: the web desk holds
    the store)."""

    async def use(self, payload_hash: str, telegram_id: int, now: dt.datetime,
                  expires_at: dt.datetime) -> bool: ...

    async def purge(self, now: dt.datetime) -> int: ...


class Planting(Protocol):
    """Writes of other aggregates a conformance test needs."""

    async def report(self, patient_id: int, resolved: bool = False) -> int: ...

    async def cancel_session(self, session_id: int, now: dt.datetime) -> bool: ...

    async def owed_cards(self) -> list[tuple[int, int | None]]:
        """(report, chat: None for the staff chat) of every new card owed, in order."""
        ...


@dataclass(frozen=True)
class Backend:
    """The aggregates of one backend (see the module docstring)."""

    name: str
    clock: ManualClock
    patients: PatientRows
    treatments: Treatments
    invites: InviteRows
    chat_states: StateRows
    messages: MessageRows
    contexts: PatientContexts
    stats: Figures
    kb_overrides: KBOverrides
    reports: ReportRows
    alerts: AlertRows
    retention: Retention
    desk_logins: Logins
    plant: Planting
    plans: PlanStore  # the check-in outbox, the manager's view (scheduler/sql.py, memory.py)
    outbox: Connector  # the check-in outbox, the dispatcher's view
    pause: SharedPauseStore  # the 429 pause every sender shares (scheduler/pause.py)
    pages: DeskPages  # the web desk's page reads (storage/desk_views.py)
    figures: OpsFigures  # the database figures of /metrics (storage/figures.py)
    probe: DatabaseProbe  # what /readyz asks the database (storage/health.py)
    leases: Leases  # the polling election's lease rows (storage/leader_lease.py)
    handled: HandledUpdates  # the polling leader's handled updates (storage/handled_updates.py)
    erasures: Erasures  # how many erasures there have been (storage/erasures.py)


@dataclass
class SqlPlanting:
    db: Database
    clock: ManualClock

    async def report(self, patient_id: int, resolved: bool = False) -> int:
        status = ReportStatus.RESOLVED if resolved else ReportStatus.OPEN
        async with self.db.sessions.begin() as s:
            row = Report(patient_id=patient_id, kind="patient", status=status.value,
                         text="planted", created_at=self.clock())
            s.add(row)
            await s.flush()
            return row.id

    async def cancel_session(self, session_id: int, now: dt.datetime) -> bool:
        async with self.db.sessions.begin() as s:
            return await cancel(s, session_id, now)

    async def owed_cards(self) -> list[tuple[int, int | None]]:
        query = (select(Alert.report_id, Alert.chat_id)
                 .where(Alert.kind == AlertKind.CARD.value).order_by(Alert.id))
        async with self.db.sessions() as s:
            return [(r, c) for r, c in (await s.execute(query)).all() if r is not None]


@dataclass
class MemoryPlanting:
    tables: MemoryTables
    treatments: MemorySessionStore

    async def report(self, patient_id: int, resolved: bool = False) -> int:
        return self.tables.add_report(patient_id, self.treatments.clock(),
                                      "resolved" if resolved else "open").id

    async def cancel_session(self, session_id: int, now: dt.datetime) -> bool:
        return self.treatments.cancel(session_id, now)

    async def owed_cards(self) -> list[tuple[int, int | None]]:
        return [(r.report_id, r.chat_id) for _, r in sorted(self.tables.alerts.items())
                if r.kind == AlertKind.CARD.value and r.report_id is not None]


class OnCall:
    """Who is owed a copy of a new card: the on-call staff member `ON_CALL`, for an
    emergency only (the reports of every backend are built with it)."""

    def chats(self, urgency: str | None, at: dt.datetime) -> Sequence[int]:
        return [ON_CALL] if urgency == "emergency" else []


def sql_backend(name: str, db: Database, clock: ManualClock) -> Backend:
    """The SQL stores over `db`."""
    s = db.sessions
    return Backend(name, clock, PatientStore(s, clock), SessionStore(s, clock),
                   InviteStore(s, clock), ChatStateStore(s, clock), MessageLog(s, clock),
                   ContextReader(s, clock), Stats(s), KBOverrideStore(s),
                   ReportStore(s, clock, OnCall()), AlertSql(s), SqlRetention(s),
                   DeskLoginStore(s),
                   SqlPlanting(db, clock), SqlPlanStore(s), SqlConnector(s),
                   SharedPause(s), DeskViews(s), SqlFigures(s), SqlProbe(db.engine),
                   LeaseSql(s), HandledSql(s), ErasureSql(s))


def memory_backend(clock: ManualClock) -> Backend:
    """The twins over one new `MemoryTables`."""
    tables = MemoryTables()
    treatments = MemorySessionStore(tables, clock)
    return Backend("memory", clock, MemoryPatientStore(tables, clock), treatments,
                   MemoryInviteStore(tables, clock), MemoryChatStateStore(tables, clock),
                   MemoryMessageLog(tables, clock), MemoryContextReader(tables, clock),
                   MemoryStats(tables), MemoryKBOverrideStore(),
                   MemoryReportStore(tables, clock, OnCall()), MemoryAlerts(tables),
                   MemoryRetention(tables),
                   MemoryDeskLoginStore(), MemoryPlanting(tables, treatments),
                   MemoryPlanStore(tables, clock), MemoryConnector(tables, clock),
                   MemorySharedPause(), MemoryDeskViews(tables), MemoryFigures(tables),
                   MemoryProbe(), MemoryLeases(), MemoryHandled(), MemoryErasures(tables))
