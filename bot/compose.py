"""The composition root: the one place that builds the bot's objects from `Settings`.

`build_stores(settings, db, clock)` builds the storage aggregates alone, one store each (the
CLI's commands that only read or write rows); `build_checkins(settings, db, sender, clock)`
adds the check-in service (the CLI's session and check-in commands: no advisor to load).
`build_services(settings, db, sender, clock)` loads the data files named in the settings
(knowledge base and care plan through bot/datafiles.py, message catalogue), then builds, in
this order and nowhere else:
the storage aggregates (one store each, storage/*.py; each caller takes the ones it uses),
the advisor the core holds (`LiveAdvisor`, which follows the clinic's KB additions, inside an
`ObservedAdvisor` when an `observer` is given), the flows' shared `FlowKit`, the check-in
service (with its dispatcher when a `sender` is given; an `ObservedSender` around it with an
`observer`), the staff desk's jobs (`build_desk`, with the desk outbox of staff messages the
bot sends), the alert sender (when an `alert_sender` is given) and the conversation (with the
bot's `BotIdentity`, the desk's `Cards` as its `ReportNotifier`, `PatientReports` as its
`PatientDesk` and the erasure count, storage/erasures.py, as its `Erasures`). Collaborators
are handed in through constructors (narrow Protocols of bot/core/ports.py); nothing is
plugged in afterwards.

The result, `Services`, is grouped the way the bot is: ``stores`` (the storage aggregates),
``patient`` (the conversation, the advisor, the clinic's KB additions, the message
catalogue), ``desk`` (the staff desk's jobs, bot/core/desk/jobs.py `DeskJobs`: a caller takes
the job it needs), ``checkins`` (the check-in service and the alert sender), ``ops``
(the database figures of /metrics, the database probe of /readyz, the data retention, the
spool of what is kept while the database is down, a local file or its twin, and its
replayer, added by bot/telegram/app.py, which sends what a replay produces) and ``polling``
(the polling leader's lease rows and record of handled updates; bot/telegram/polling/).

The Telegram application (bot/telegram/app.py, where handlers reach the result as a typed
``context.bot_data``), the terminal demo (bot/cli/demo.py), the CLI and the tests all call it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.backends import (
    HandledRows,
    LeaseRows,
    MemoryBackend,
    PatientRows,
    ReportRows,
    SessionRows,
    SqlBackend,
    StorageBackend,
    Stores,
    storage_of,
)
from bot.config import Settings
from bot.core.advisors import AdviceObserver, LiveAdvisor, ObservedAdvisor
from bot.core.clinic_kb import ClinicKnowledge
from bot.core.conversation import Conversation
from bot.core.desk.access import StaffGate
from bot.core.desk.cards import Cards
from bot.core.desk.commands import StaffCommands
from bot.core.desk.copies import CardCopies
from bot.core.desk.escalation import Escalations
from bot.core.desk.jobs import DeskJobs
from bot.core.desk.kit import DeskKit
from bot.core.desk.patients import PatientReports
from bot.core.desk.pending import PendingActions
from bot.core.desk.presses import CardPresses
from bot.core.desk.relays import Relays
from bot.core.desk.resolutions import Resolutions
from bot.core.desk.staff_chat import StaffMessages
from bot.core.desk.views import DeskViews
from bot.core.desk.web import WebActions
from bot.core.flows.base import FlowKit
from bot.core.messages import PACKAGED_MESSAGES
from bot.core.ports import (
    AdvisorPort,
    AlertWaker,
    BotIdentity,
    CardOutbox,
    CheckinEvents,
    DeskReports,
    Spool,
)
from bot.datafiles import load_advisor, load_plan
from knowledge.advisor import Advisor
from knowledge.catalogue import Catalogue
from knowledge.schema import KnowledgeBase
from scheduler.alerts import AlertBell, AlertDispatcher, AlertSender
from scheduler.careplan import CarePlan
from scheduler.dispatcher import ObservedSender, Sender, SendObserver
from scheduler.passes import Passes
from scheduler.sending import SharedPauseStore
from scheduler.service import CheckinService
from storage import Database, utcnow
from storage.clock import Clock
from storage.desk_outbox import DeskOutboxStore
from storage.figures import OpsFigures
from storage.health import DatabaseProbe
from storage.retention import Retention


class Replayer(Protocol):
    """Stores what the spool kept once the database answers again, in the background
    (bot/telegram/spooling.py `SpoolReplayer`); each attempt is counted in `passes`."""

    passes: Passes

    def launch(self) -> None: ...

    async def stop(self) -> None: ...


class Observer(AdviceObserver, SendObserver, Protocol):
    """Hears every answer and every check-in send (the ops metrics, bot/ops/http.py)."""


@dataclass(frozen=True)
class PatientSide:
    """The patient conversation and what it answers with."""

    conversation: Conversation
    advisor: Advisor  # as loaded at start (the base of the clinic's KB additions)
    live_advisor: LiveAdvisor  # the one answering now (follows `knowledge`)
    knowledge: ClinicKnowledge  # the clinic's KB additions: `refresh` swaps the live advisor
    messages: Catalogue  # the bot's message catalogue


@dataclass(frozen=True)
class CheckinSide:
    """The scheduler's senders: the check-in service and the staff chat's alert sender."""

    service: CheckinService
    alert_bell: AlertBell  # the desk rings it when a card is owed; the alert sender listens
    alerts: AlertDispatcher | None = None  # the alert sender, when given one to send with


@dataclass(frozen=True)
class Ops:
    """What the ops endpoints read (the figures of /metrics, the database probe of /readyz),
    the data retention the daily job runs, and what keeps reports while the database is down
    (the spool, built here; its replayer: bot/telegram/app.py adds it)."""

    figures: OpsFigures  # the database figures of /metrics (storage/figures.py)
    probe: DatabaseProbe  # whether the database answers, at which migration (/readyz)
    retention: Retention  # deletes old messages and resolved reports (the daily job)
    spool: Spool  # what is kept while the database is down (a local file, or its twin)
    spool_replayer: Replayer | None = None  # its replayer (bot/telegram/spooling.py)


@dataclass(frozen=True)
class PollingRows:
    """What the polling leader keeps in the database (bot/telegram/polling/): the lease row
    of its election and the record of the updates it handled (its ports: `Leases` and
    `HandledUpdates` of bot/telegram/polling/ports.py)."""

    leases: LeaseRows
    handled: HandledRows


@dataclass(frozen=True)
class Services:
    """Everything the bot's entry points use, built once by `build_services`: the patient
    conversation, the staff desk's jobs, the check-in side and the storage aggregates, each a
    typed bundle of its own."""

    settings: Settings
    storage: StorageBackend  # what keeps the rows: the database, or memory
    clock: Clock
    stores: Stores
    patient: PatientSide
    desk: DeskJobs
    checkins: CheckinSide
    ops: Ops
    polling: PollingRows

    @property
    def database(self) -> Database:
        """The database the stores are over; LookupError for services kept in memory."""
        if not isinstance(self.storage, SqlBackend):
            raise LookupError("these services keep their rows in memory: no database")
        return self.storage.db


@dataclass(frozen=True)
class CheckinParts:
    """The check-in side alone (`build_checkins`): what CLI commands about sessions and
    check-ins use, without loading the advisor."""

    patients: PatientRows
    treatments: SessionRows
    reports: ReportRows
    checkins: CheckinService
    shared_pause: SharedPauseStore  # the 429 pause, shared with the alert sender and replicas
    exclusive: bool  # SQLite: one process sends


def build_stores(settings: Settings, db: Database | StorageBackend,
                 clock: Clock = utcnow) -> Stores:
    """The storage aggregates over `db` (a database, or a `StorageBackend`: bot/backends.py),
    one store each: what `build_services` hands the flows, and what a CLI command that only
    reads or writes rows uses (no data file loaded)."""
    return storage_of(db).stores(settings, clock)


def build_checkins(settings: Settings, db: Database | StorageBackend,
                   sender: Sender | None = None, clock: Clock = utcnow, *,
                   careplan: CarePlan | None = None, kb: KnowledgeBase | None = None,
                   stores: Stores | None = None, texts: Catalogue | None = None
                   ) -> CheckinParts:
    """The patient, session and report stores (of `stores`, default `build_stores`) and the
    check-in service over `db` (`build_services` builds the rest on them). The care plan is
    `careplan`, or loaded quoting `kb` (default: the configured knowledge base); the bot's
    message catalogue is `texts`, or loaded."""
    storage = storage_of(db)
    plan = careplan if careplan is not None else load_plan(settings, kb)
    stores = stores if stores is not None else storage.stores(settings, clock)
    reports = stores.reports
    shared_pause = storage.shared_pause()
    exclusive = storage.exclusive
    texts = texts if texts is not None else Catalogue.load(
        settings.messages_path or PACKAGED_MESSAGES)
    checkins = CheckinService(storage.plans(), storage.connector(), reports,
                              plan, settings.timezone, texts=texts, clock=clock,
                              config=settings.dispatcher_config(), sender=sender,
                              shared_pause=shared_pause, exclusive=exclusive,
                              lock=storage.dispatcher_lock())
    return CheckinParts(stores.patients, stores.treatments, reports, checkins, shared_pause,
                        exclusive)


def build_knowledge(settings: Settings, db: Database | StorageBackend, advisor: Advisor,
                    live: LiveAdvisor | None = None) -> ClinicKnowledge:
    """The clinic's knowledge-base additions (made on the web desk) over `advisor`, the base;
    `refresh` swaps `live` (`build_services`), or makes `.advisor` (``aftercare ask``)."""
    return ClinicKnowledge(advisor, storage_of(db).kb_overrides(), settings.kb_path, live)


def build_desk(kit: FlowKit, store: DeskReports, outbox: CardOutbox,
               checkins: CheckinEvents | None, alerts: AlertWaker | None,
               desk_outbox: DeskOutboxStore) -> DeskJobs:
    """The staff desk's jobs (bot/core/desk/), each handed only what it uses."""
    desk_kit = DeskKit(kit.settings, kit.clock, kit.messages, alerts)
    gate = StaffGate(desk_kit, store)
    pending = PendingActions(desk_kit, kit.chat_states)
    copies = CardCopies(desk_kit, store, outbox)
    cards = Cards(desk_kit, store, outbox, copies, kit.availability)
    presses = CardPresses(desk_kit, gate, store, copies, pending, kit.patients, checkins)
    relays = Relays(desk_kit, store, copies)
    resolutions = Resolutions(desk_kit, gate, store, outbox, copies, pending, kit.availability,
                              checkins)
    views = DeskViews(desk_kit, store, outbox, cards, kit.availability)
    return DeskJobs(
        kit=desk_kit, store=store, cards=cards,
        escalation=Escalations(desk_kit, store, outbox, kit.availability), presses=presses,
        staff_chat=StaffMessages(desk_kit, gate, store, copies, pending, relays, resolutions),
        relays=relays, resolutions=resolutions,
        commands=StaffCommands(desk_kit, gate, store, pending, views, resolutions),
        views=views, web=WebActions(desk_kit, gate, store, presses, relays, resolutions),
        patients=PatientReports(kit, desk_kit, store, cards, checkins), outbox=desk_outbox)


def build_services(settings: Settings, db: Database | StorageBackend,
                   sender: Sender | None = None,
                   clock: Clock = utcnow, *, advisor: Advisor | None = None,
                   careplan: CarePlan | None = None,
                   alert_sender: AlertSender | None = None,
                   identity: BotIdentity | None = None,
                   observer: Observer | None = None,
                   alerts_monotonic: Callable[[], float] = time.monotonic) -> Services:
    """Build every service of the bot over `db`: a database, or a `StorageBackend`
    (bot/backends.py; `build_memory_services` builds them over the in-memory twins).

    `sender` delivers check-ins (the Telegram client, or the demo's printer); without one
    check-ins are still planned but not sent (CLI commands, tests of the conversation).
    `advisor` and `careplan` may be passed already loaded (``aftercare run`` checks the data
    files before opening the database; tests share one advisor); by default they are loaded
    from the paths in `settings`. `alert_sender` (the Telegram client's, or a recorder) makes
    the alert sender that delivers the staff chat's cards from the outbox. `identity` gives
    the bot's @username for invite links (default: AFTERCARE_BOT_USERNAME). `observer` (the
    ops metrics) hears every answer and every check-in send. `alerts_monotonic` is the alert
    sender's pacing clock (how long a 429 pause lasts; tests pass their clock's).
    """
    advisor = advisor if advisor is not None else load_advisor(settings)
    if sender is not None and observer is not None:
        sender = ObservedSender(sender, observer)
    storage = storage_of(db)
    stores = storage.stores(settings, clock)
    texts = Catalogue.load(settings.messages_path or PACKAGED_MESSAGES)  # read once
    parts = build_checkins(settings, storage, sender, clock, careplan=careplan, kb=advisor.kb,
                           stores=stores, texts=texts)
    checkins = parts.checkins
    shared_pause, exclusive = parts.shared_pause, parts.exclusive
    messages = texts.with_clinic(advisor.clinic)  # the same entries, for the advisor's clinic
    live = LiveAdvisor(advisor)
    answers: AdvisorPort = live if observer is None else ObservedAdvisor(live, observer)
    kit = FlowKit(settings, clock, messages, answers, patients=stores.patients,
                  treatments=stores.treatments, invites=stores.invites, reports=stores.reports,
                  message_log=stores.message_log, stats=stores.stats, contexts=stores.contexts,
                  chat_states=stores.chat_states)
    bell = AlertBell()
    outbox = storage.alerts()
    desk = build_desk(kit, storage.desk_reports(clock), outbox, checkins, bell,
                      storage.desk_outbox())
    alerts = None
    if alert_sender is not None:  # the 429 pause is shared with check-ins and replicas
        alerts = AlertDispatcher(outbox, desk.cards, alert_sender,
                                 config=settings.alert_config(), clock=clock, bell=bell,
                                 shared_pause=shared_pause, exclusive=exclusive,
                                 monotonic=alerts_monotonic)
    conversation = Conversation(kit, checkins=checkins, cards=desk.cards, desk=desk.patients,
                                identity=identity, erasures=storage.erasures())
    patient = PatientSide(conversation=conversation, advisor=advisor, live_advisor=live,
                          knowledge=build_knowledge(settings, storage, advisor, live),
                          messages=messages)
    return Services(settings=settings, storage=storage, clock=clock, stores=stores,
                    patient=patient, desk=desk,
                    checkins=CheckinSide(service=checkins, alert_bell=bell, alerts=alerts),
                    ops=Ops(figures=storage.figures(), probe=storage.probe(),
                            retention=storage.retention(), spool=storage.spool(settings)),
                    polling=PollingRows(leases=storage.leases(),
                                        handled=storage.handled_updates()))


def build_memory_services(settings: Settings, sender: Sender | None = None,
                          clock: Clock = utcnow, *, storage: MemoryBackend | None = None,
                          advisor: Advisor | None = None, careplan: CarePlan | None = None,
                          alert_sender: AlertSender | None = None,
                          identity: BotIdentity | None = None,
                          observer: Observer | None = None) -> Services:
    """`build_services` over the in-memory twins (a new `MemoryBackend` unless `storage` is
    given): the same graph, built by the same code, with no database (fast tests of the
    core; the twins are proven equal to the SQL stores by tests/test_*_conformance.py)."""
    return build_services(settings, storage if storage is not None else MemoryBackend(),
                          sender, clock, advisor=advisor, careplan=careplan,
                          alert_sender=alert_sender, identity=identity, observer=observer)
