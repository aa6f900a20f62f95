"""What the web desk is built from, in one place: `DeskServices` and `build_desk_services`.

The desk reads the bot's database and acts through the same staff desk jobs (bot/core/desk/,
built by bot/compose.py's `build_services` like the bot's) and stores as the Telegram staff
handlers; what it writes to patients or the staff chat goes
into the desk outbox (storage/desk_outbox.py), which the bot sends. No bot process, no
Telegram connection is needed to show a page. Built over a database, or over any
`StorageBackend` (bot/backends.py: the in-memory twins for the desk's fast tests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.backends import LoginRows, SqlBackend, StorageBackend
from bot.compose import build_services
from bot.config import Settings
from bot.core.clinic_kb import ClinicKnowledge
from bot.core.conversation import Clock, Conversation
from bot.core.desk import DeskJobs
from bot.core.ports import Treatments
from bot.datafiles import WEB_TEXTS
from knowledge.advisor import Advisor
from knowledge.catalogue import Catalogue
from scheduler.careplan import CarePlan
from scheduler.manager import CheckinManager
from storage import Database, utcnow
from storage.desk_outbox import DeskOutboxStore
from storage.desk_views import DeskPages, WeekFigures

TEXTS = WEB_TEXTS


@dataclass
class FiguresCache:
    """Finished weeks of the figures page, each with when it was computed (the desk's clock).

    A week is kept for `ttl` (bot/web/figures.py), so an old check-in answered late or a
    report handled in Telegram shows within that; an action on the web desk forgets the week
    its report was raised in at once (`forget`)."""

    weeks: dict[dt.datetime, tuple[dt.datetime, WeekFigures]] = field(default_factory=dict)

    def get(self, start: dt.datetime, now: dt.datetime, ttl: dt.timedelta) -> WeekFigures | None:
        """The week starting at `start` if it was computed less than `ttl` ago."""
        found = self.weeks.get(start)
        return found[1] if found is not None and now - found[0] < ttl else None

    def put(self, week: WeekFigures, now: dt.datetime) -> None:
        """Keep a finished week."""
        self.weeks[week.start] = (now, week)

    def forget(self, moment: dt.datetime) -> None:
        """Drop the week that `moment` falls in (its figures changed)."""
        for start in [s for s in self.weeks if s <= moment < s + dt.timedelta(days=7)]:
            del self.weeks[start]

    def keep_from(self, first: dt.datetime) -> None:
        """Drop weeks that start before `first` (no longer shown)."""
        for start in [s for s in self.weeks if s < first]:
            del self.weeks[start]

    def clear(self) -> None:
        """Forget everything (the benchmark's cold figures)."""
        self.weeks.clear()


@dataclass
class DeskServices:
    """Everything the routes use (built once per process)."""

    settings: Settings
    storage: StorageBackend  # what keeps the rows: the database, or memory
    treatments: Treatments  # sessions (bot/compose.py built the store)
    conversation: Conversation
    desk: DeskJobs  # the staff desk's jobs (bot/core/desk/)
    views: DeskPages
    outbox: DeskOutboxStore
    logins: LoginRows
    manager: CheckinManager
    careplan: CarePlan
    advisor: Advisor  # as loaded at start
    knowledge: ClinicKnowledge  # the clinic's KB additions; refreshing swaps the live advisor
    clock: Clock
    login_token: str | None  # the bot token Login Widget data must be signed with
    demo: bool = False
    demo_staff: tuple[int, str] | None = None  # (Telegram id, first name) of the demo sign-in
    texts: Catalogue = field(default_factory=lambda: Catalogue({}))
    figures: FiguresCache = field(default_factory=FiguresCache)

    @property
    def db(self) -> Database:
        """The database the desk is over; LookupError for a desk kept in memory."""
        if not isinstance(self.storage, SqlBackend):
            raise LookupError("this desk keeps its rows in memory: no database")
        return self.storage.db

    def now(self) -> dt.datetime:
        """The desk's clock."""
        return self.clock()

    def text(self, key: str, **values: Any) -> str:
        """A line of bot/web/texts.yaml (plain text; templates escape it)."""
        return self.texts.text(key, **values)


def build_desk_services(settings: Settings, db: Database | StorageBackend, *,
                        clock: Clock = utcnow,
                        advisor: Advisor | None = None, outbox: DeskOutboxStore | None = None,
                        demo: bool = False, login_token: str | None = None,
                        demo_staff: tuple[int, str] | None = None) -> DeskServices:
    """The desk's services over an open database (or a `StorageBackend`)."""
    built = build_services(settings, db, None, clock, advisor=advisor)  # bot/compose.py
    texts = Catalogue.load(TEXTS, settings.clinic())
    return DeskServices(
        settings=settings, storage=built.storage, treatments=built.stores.treatments,
        conversation=built.patient.conversation,
        desk=built.desk,
        views=built.stores.desk_views, outbox=outbox or built.desk.outbox,
        logins=built.stores.desk_logins, manager=built.checkins.service.manager,
        careplan=built.checkins.service.plan, advisor=built.patient.advisor,
        knowledge=built.patient.knowledge,
        clock=clock,
        login_token=login_token if login_token is not None else settings.token, demo=demo,
        demo_staff=demo_staff, texts=texts)
