"""Where the composition root's stores keep their rows: a database or memory.

`bot/compose.py` builds one graph of services whatever keeps the rows; a `StorageBackend` is
the one thing that differs: it makes each store. `SqlBackend` makes the SQL stores of
storage/ and scheduler/sql.py over one `Database` (what the bot, the CLI and the web desk
run on); `MemoryBackend` makes their in-memory twins over one `MemoryTables`
(storage/memory_tables.py: one database in memory, shared by every twin, the check-in
outbox's and the web desk's pages' included), for fast tests of the core
(`bot.compose.build_memory_services`). Each twin is proven equal to its SQL store by a
conformance suite (tests/test_*_conformance.py, on SQLite, PostgreSQL and memory).

The stores' types (`PatientRows`...) name both kinds: a caller holding one may only call
what both have, which mypy checks. Where a twin cannot be the database, it says so: the
memory backend's /metrics figures are read from its tables (`MemoryFigures`, proven equal to
`SqlFigures` by tests/test_figures_conformance.py), its /readyz probe answers what memory is,
always there and at this code's migration, with no migration to lag behind (`MemoryProbe`),
and one process sends (no replicas, no dispatcher lock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.config import Settings
from bot.core.ports import CardOutbox, DeskReports, KBOverrides
from scheduler.guard import DispatcherGuard, dispatcher_lock
from scheduler.memory import MemoryConnector, MemoryPlanStore, MemorySharedPause
from scheduler.pause import SharedPause
from scheduler.sending import SharedPauseStore
from scheduler.sql import Connector, PlanStore, SqlConnector, SqlPlanStore
from storage.alerts import AlertConnector, AlertSql
from storage.alerts_memory import MemoryAlerts
from storage.chat_state import ChatStateStore
from storage.chat_state_memory import MemoryChatStateStore
from storage.clock import Clock
from storage.context import ContextReader
from storage.context_memory import MemoryContextReader
from storage.db import Database
from storage.desk_logins import DeskLoginStore
from storage.desk_logins_memory import MemoryDeskLoginStore
from storage.desk_outbox import DeskOutboxStore, MemoryDeskOutbox, SqlDeskOutbox
from storage.desk_views import DeskPages, DeskViews
from storage.desk_views_memory import MemoryDeskViews
from storage.erasures import ErasureSql
from storage.erasures_memory import MemoryErasures
from storage.figures import OpsFigures, SqlFigures
from storage.figures_memory import MemoryFigures
from storage.handled_updates import HandledSql
from storage.handled_updates_memory import MemoryHandled
from storage.health import DatabaseProbe, MemoryProbe, SqlProbe
from storage.invites import InviteStore
from storage.invites_memory import MemoryInviteStore
from storage.kb_overrides import KBOverrideStore
from storage.kb_overrides_memory import MemoryKBOverrideStore
from storage.leader_lease import LeaseSql
from storage.leader_lease_memory import MemoryLeases
from storage.memory_tables import MemoryTables
from storage.messages import MessageLog
from storage.messages_memory import MemoryMessageLog
from storage.patients import PatientStore
from storage.patients_memory import MemoryPatientStore
from storage.reports import ReportStore
from storage.reports_memory import MemoryReportStore
from storage.retention import Retention, SqlRetention
from storage.retention_memory import MemoryRetention
from storage.sessions import SessionStore
from storage.sessions_memory import MemorySessionStore
from storage.spool import ReportSpool
from storage.spool_memory import MemorySpool
from storage.stats import Stats
from storage.stats_memory import MemoryStats

PatientRows = PatientStore | MemoryPatientStore
SessionRows = SessionStore | MemorySessionStore
ReportRows = ReportStore | MemoryReportStore
InviteRows = InviteStore | MemoryInviteStore
MessageRows = MessageLog | MemoryMessageLog
StatRows = Stats | MemoryStats
ContextRows = ContextReader | MemoryContextReader
StateRows = ChatStateStore | MemoryChatStateStore
LoginRows = DeskLoginStore | MemoryDeskLoginStore
LeaseRows = LeaseSql | MemoryLeases  # the polling election's (bot/telegram/polling/ports.py)
HandledRows = HandledSql | MemoryHandled  # the polling leader's record of handled updates
ErasureRows = ErasureSql | MemoryErasures  # the erasure count (bot/core/ports.py `Erasures`)
SpoolRows = ReportSpool | MemorySpool  # what is kept while the database is down (a `Spool`)


@dataclass(frozen=True)
class Stores:
    """The storage aggregates the flows were built with, one store each (storage/*.py, or
    their twins); the tests and the spool use them too."""

    patients: PatientRows
    treatments: SessionRows
    reports: ReportRows  # raises reports; on-call staff are owed copies of their cards
    invites: InviteRows
    message_log: MessageRows
    stats: StatRows
    contexts: ContextRows
    chat_states: StateRows  # short-lived conversation state (purged by a job)
    desk_views: DeskPages  # the web desk's pages (reads only; storage/desk_views.py)
    desk_logins: LoginRows  # the web desk's used sign-ins


class AlertOutbox(CardOutbox, AlertConnector, Protocol):
    """The alert outbox: the desk's view (`CardOutbox`) and the alert sender's."""


class StorageBackend(Protocol):
    """Makes every store the composition root hands out, over one set of rows."""

    @property
    def exclusive(self) -> bool:
        """True when this process is the only sender (SQLite, memory): no shared claims."""
        ...

    def stores(self, settings: Settings, clock: Clock) -> Stores: ...

    def plans(self) -> PlanStore: ...

    def connector(self) -> Connector: ...

    def shared_pause(self) -> SharedPauseStore: ...

    def dispatcher_lock(self) -> DispatcherGuard | None: ...

    def desk_reports(self, clock: Clock) -> DeskReports: ...

    def alerts(self) -> AlertOutbox: ...

    def desk_outbox(self) -> DeskOutboxStore: ...

    def kb_overrides(self) -> KBOverrides: ...

    def figures(self) -> OpsFigures: ...

    def probe(self) -> DatabaseProbe: ...

    def retention(self) -> Retention: ...

    def leases(self) -> LeaseRows: ...

    def handled_updates(self) -> HandledRows: ...

    def erasures(self) -> ErasureRows: ...

    def spool(self, settings: Settings) -> SpoolRows: ...


@dataclass(frozen=True)
class SqlBackend:
    """The SQL stores over one database (SQLite or PostgreSQL)."""

    db: Database

    @property
    def exclusive(self) -> bool:
        return self.db.engine.dialect.name == "sqlite"

    def stores(self, settings: Settings, clock: Clock) -> Stores:
        s = self.db.sessions
        return Stores(patients=PatientStore(s, clock), treatments=SessionStore(s, clock),
                      reports=ReportStore(s, clock, settings.oncall()),  # on call: copies
                      invites=InviteStore(s, clock), message_log=MessageLog(s, clock),
                      stats=Stats(s), contexts=ContextReader(s, clock),
                      chat_states=ChatStateStore(s), desk_views=DeskViews(s),
                      desk_logins=DeskLoginStore(s))

    def plans(self) -> PlanStore:
        return SqlPlanStore(self.db.sessions)

    def connector(self) -> Connector:
        return SqlConnector(self.db.sessions)

    def shared_pause(self) -> SharedPauseStore:
        return SharedPause(self.db.sessions)  # on PostgreSQL other replicas send too

    def dispatcher_lock(self) -> DispatcherGuard | None:
        return dispatcher_lock(self.db.engine.url)

    def desk_reports(self, clock: Clock) -> DeskReports:
        return ReportStore(self.db.sessions, clock=clock)

    def alerts(self) -> AlertOutbox:
        return AlertSql(self.db.sessions)

    def desk_outbox(self) -> DeskOutboxStore:
        return SqlDeskOutbox(self.db.sessions)

    def kb_overrides(self) -> KBOverrides:
        return KBOverrideStore(self.db.sessions)

    def figures(self) -> OpsFigures:
        return SqlFigures(self.db.sessions)

    def probe(self) -> DatabaseProbe:
        return SqlProbe(self.db.engine)

    def retention(self) -> Retention:
        return SqlRetention(self.db.sessions)

    def leases(self) -> LeaseRows:
        return LeaseSql(self.db.sessions)

    def handled_updates(self) -> HandledRows:
        return HandledSql(self.db.sessions)

    def erasures(self) -> ErasureRows:
        return ErasureSql(self.db.sessions)

    def spool(self, settings: Settings) -> SpoolRows:
        return ReportSpool(Path(settings.report_spool()))  # a local file: the database may be away


@dataclass
class MemoryBackend:
    """The in-memory twins over one `MemoryTables` (see the module docstring). The stores
    with state of their own (the 429 pause, the alert outbox's sent cards, the desk outbox,
    the clinic's KB additions, the web desk's sign-ins, the polling lease and handled
    updates, the report spool) are made once, so every caller shares them, as it would
    share the database (or the spool's file)."""

    tables: MemoryTables = field(default_factory=MemoryTables)
    pause: MemorySharedPause = field(default_factory=MemorySharedPause)
    alert_rows: MemoryAlerts = field(init=False)
    outbox: MemoryDeskOutbox = field(init=False)
    overrides: MemoryKBOverrideStore = field(default_factory=MemoryKBOverrideStore)
    logins: MemoryDeskLoginStore = field(default_factory=MemoryDeskLoginStore)
    lease_rows: MemoryLeases = field(default_factory=MemoryLeases)
    handled_rows: MemoryHandled = field(default_factory=MemoryHandled)
    spool_rows: MemorySpool = field(default_factory=MemorySpool)

    def __post_init__(self) -> None:
        self.alert_rows = MemoryAlerts(self.tables)
        self.outbox = MemoryDeskOutbox(self.tables)  # its audit entries join the reports'

    @property
    def exclusive(self) -> bool:
        return True

    def stores(self, settings: Settings, clock: Clock) -> Stores:
        t = self.tables
        return Stores(patients=MemoryPatientStore(t, clock),
                      treatments=MemorySessionStore(t, clock),
                      reports=MemoryReportStore(t, clock, settings.oncall()),
                      invites=MemoryInviteStore(t, clock), message_log=MemoryMessageLog(t, clock),
                      stats=MemoryStats(t), contexts=MemoryContextReader(t, clock),
                      chat_states=MemoryChatStateStore(t), desk_views=MemoryDeskViews(t),
                      desk_logins=self.logins)

    def plans(self) -> PlanStore:
        return MemoryPlanStore(self.tables)

    def connector(self) -> Connector:
        return MemoryConnector(self.tables)

    def shared_pause(self) -> SharedPauseStore:
        return self.pause

    def dispatcher_lock(self) -> DispatcherGuard | None:
        return None

    def desk_reports(self, clock: Clock) -> DeskReports:
        return MemoryReportStore(self.tables, clock)

    def alerts(self) -> AlertOutbox:
        return self.alert_rows

    def desk_outbox(self) -> DeskOutboxStore:
        return self.outbox

    def kb_overrides(self) -> KBOverrides:
        return self.overrides

    def figures(self) -> OpsFigures:
        return MemoryFigures(self.tables)

    def probe(self) -> DatabaseProbe:
        return MemoryProbe()

    def retention(self) -> Retention:
        return MemoryRetention(self.tables)

    def leases(self) -> LeaseRows:
        return self.lease_rows

    def handled_updates(self) -> HandledRows:
        return self.handled_rows

    def erasures(self) -> ErasureRows:
        return MemoryErasures(self.tables)

    def spool(self, settings: Settings) -> SpoolRows:
        return self.spool_rows


def storage_of(db: Database | StorageBackend) -> StorageBackend:
    """`db` as a backend (a `Database` is the SQL stores over it)."""
    return SqlBackend(db) if isinstance(db, Database) else db


__all__ = ["AlertOutbox", "ErasureRows", "HandledRows", "LeaseRows", "MemoryBackend", "SqlBackend",
           "SpoolRows", "StorageBackend", "Stores", "storage_of"]
