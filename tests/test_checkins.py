"""Check-in planning and the outbox: local days and DST, quiet hours, zones, session edits,
/stop and /resume, problem answers, expiry, and atomic claims on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.messages import PACKAGED_MESSAGES
from knowledge.catalogue import Catalogue
from scheduler.careplan import CarePlan, QuietHours, Step, load_careplan
from scheduler.service import CheckinService
from scheduler.sql import SqlConnector, SqlPlanStore
from scheduler.timing import plan_due
from storage.clock import ManualClock
from storage.db import Database
from storage.models import CheckIn, ReportKind, ReportStatus, SessionSource
from tests.databases import connect_args
from tests.stores import Stores

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def plan() -> CarePlan:
    """The packaged plan without the per-patient spread (exact times in assertions)."""
    return dataclasses.replace(load_careplan(), spread_minutes=0)


def step(day: int, at: time) -> Step:
    base = plan().step("day1")
    assert base is not None
    return dataclasses.replace(base, day=day, time=at)


# --- pure timing ----------------------------------------------------------------------------

def test_spring_forward_keeps_the_local_hour() -> None:
    quiet = QuietHours()
    # Sunday 30 March 2025: London goes from GMT to BST at 01:00 UTC.
    before = plan_due(date(2025, 3, 28), step(1, time(19)), LONDON, quiet)  # Sat 29th, GMT
    across = plan_due(date(2025, 3, 29), step(1, time(19)), LONDON, quiet)  # Sun 30th, BST
    assert before.due_at == datetime(2025, 3, 29, 19, 0, tzinfo=UTC)
    assert across.due_at == datetime(2025, 3, 30, 18, 0, tzinfo=UTC)
    assert across.local_date == date(2025, 3, 30)
    assert across.due_at.astimezone(LONDON).hour == 19
    assert across.deliver_until == datetime(2025, 3, 30, 20, 0, tzinfo=UTC)  # 21:00 BST


def test_fall_back_keeps_the_local_hour() -> None:
    quiet = QuietHours()
    # Sunday 26 October 2025: BST ends at 01:00 UTC.
    sat = plan_due(date(2025, 10, 24), step(1, time(19)), LONDON, quiet)
    sun = plan_due(date(2025, 10, 25), step(1, time(19)), LONDON, quiet)
    assert sat.due_at == datetime(2025, 10, 25, 18, 0, tzinfo=UTC)  # 19:00 BST
    assert sun.due_at == datetime(2025, 10, 26, 19, 0, tzinfo=UTC)  # 19:00 GMT
    assert sun.due_at - sat.due_at == timedelta(hours=25)  # a 25-hour calendar day


def test_nonexistent_and_ambiguous_local_times() -> None:
    none = QuietHours(time(0), time(0))
    gap = plan_due(date(2025, 3, 29), step(1, time(1, 30)), LONDON, none)
    assert gap.due_at == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)  # moved forward: 02:30 BST
    fold = plan_due(date(2025, 10, 25), step(1, time(1, 30)), LONDON, none)
    assert fold.due_at == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # first 01:30 (BST)


def test_quiet_hours_move_to_the_next_allowed_time() -> None:
    quiet = QuietHours(time(22), time(9))
    early = plan_due(date(2025, 6, 1), step(2, time(8, 30)), LONDON, quiet)
    assert early.due_at.astimezone(LONDON) == datetime(2025, 6, 3, 9, 0, tzinfo=LONDON)
    late = plan_due(date(2025, 6, 1), step(1, time(21, 50)), LONDON, quiet,
                    offset=timedelta(minutes=20))  # 22:10 is quiet: next morning 09:00
    assert late.due_at.astimezone(LONDON) == datetime(2025, 6, 3, 9, 0, tzinfo=LONDON)
    assert late.deliver_until.astimezone(LONDON) == datetime(2025, 6, 3, 22, 0, tzinfo=LONDON)


# --- manager on SQLite and PostgreSQL ---------------------------------------------------------

START = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await Database.connect(database_url, migrate=False,
                                      connect_args=connect_args(database_url))
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


class Service(CheckinService):
    """The service, with the repository the tests arrange patients and sessions through."""

    def __init__(self, repo: Stores, *args: Any, **kwargs: Any) -> None:
        super().__init__(SqlPlanStore(repo.sessions), SqlConnector(repo.sessions), repo.reports,
                         *args, **kwargs)
        self.repo = repo


@pytest.fixture
def service(db: Database, clock: ManualClock) -> Service:
    return Service(Stores.over(db, clock), plan(), "Europe/London", clock=clock,
                   texts=Catalogue.load(PACKAGED_MESSAGES))


async def patient(repo: Stores, telegram_id: int, tz: str | None = None) -> int:
    await repo.patients.ensure(telegram_id, telegram_id)
    info = await repo.patients.record_consent(telegram_id, "Ann")
    if tz:
        await repo.patients.set_timezone(telegram_id, tz)
    return info.id


async def session(service: Service, telegram_id: int, day: date) -> int:
    info = await service.repo.treatments.add(day, SessionSource.STAFF, telegram_id=telegram_id)
    await service.session_logged(info.id)
    return info.id


async def test_logging_a_session_writes_each_checkin_once(service: Service) -> None:
    pid = await patient(service.repo, 1)
    sid = await session(service, 1, date(2025, 3, 28))
    rows = await service.manager.list(patient_id=pid)
    assert [r.step for r in rows] == ["day1", "day2", "day3", "day7", "day14", "rebook",
                                      "rebook_reminder"]
    assert rows[0].due_at == datetime(2025, 3, 29, 19, 0, tzinfo=UTC)
    assert rows[1].due_at == datetime(2025, 3, 30, 9, 0, tzinfo=UTC)  # 10:00 BST
    assert all(r.status == "pending" for r in rows)
    assert await service.session_logged(sid) == 0  # a retried handler adds nothing
    await service.manager.reconcile()
    assert len(await service.manager.list(patient_id=pid)) == 7


async def test_patient_in_another_zone_gets_their_local_hour(service: Service) -> None:
    pid = await patient(service.repo, 2, "America/New_York")
    await session(service, 2, date(2025, 3, 28))
    first = (await service.manager.list(patient_id=pid))[0]
    assert first.tz == "America/New_York"
    assert first.due_at.astimezone(NEW_YORK) == datetime(2025, 3, 29, 19, 0, tzinfo=NEW_YORK)
    assert first.due_at == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    await service.repo.patients.set_timezone(2, "Asia/Kolkata")  # patient changes zone: rows follow
    await service.patient_linked(pid)
    moved = (await service.manager.list(patient_id=pid))[0]
    assert moved.due_at == datetime(2025, 3, 29, 13, 30, tzinfo=UTC)  # 19:00 IST


async def test_late_logged_session_skips_past_checkins(service: Service,
                                                       clock: ManualClock) -> None:
    pid = await patient(service.repo, 3)
    await session(service, 3, date(2025, 3, 18))  # 10 days ago: day 1-7 are history
    assert [r.step for r in await service.manager.list(patient_id=pid)] == [
        "day14", "rebook", "rebook_reminder"]


async def test_editing_and_cancelling_a_session_moves_its_checkins(
        service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 4)
    sid = await session(service, 4, date(2025, 3, 28))
    await service.manager.move_session(sid, date(2025, 4, 2))
    rows = await service.manager.list(patient_id=pid)
    assert rows[0].step == "day1" and rows[0].due_at == datetime(2025, 4, 3, 18, 0, tzinfo=UTC)
    assert {r.status for r in rows} == {"pending"}
    await service.manager.move_session(sid, date(2025, 3, 23))  # earlier: day1-3 now past
    by_step = {r.step: r for r in await service.manager.list(patient_id=pid)}
    assert [by_step[s].status for s in ("day1", "day2", "day3")] == ["cancelled"] * 3
    assert by_step["day7"].status == "pending"
    assert by_step["day7"].due_at == datetime(2025, 3, 30, 9, 0, tzinfo=UTC)  # 10:00 BST
    await service.manager.move_session(sid, date(2025, 3, 28))  # back again: revived
    assert {r.status for r in await service.manager.list(patient_id=pid)} == {"pending"}
    assert await service.session_cancelled(sid) >= 4
    assert {r.status for r in await service.manager.list(patient_id=pid)} == {"cancelled"}


async def test_stop_and_resume(service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 5)
    await session(service, 5, date(2025, 3, 28))
    assert await service.stop(pid) == 7
    assert {r.status for r in await service.manager.list(patient_id=pid)} == {"paused"}
    sid2 = await session(service, 5, date(2025, 3, 28) + timedelta(days=1))  # while stopped
    assert {r.status for r in await service.manager.list(patient_id=pid)} == {"paused",
                                                                              "cancelled"}
    clock.advance(days=3)  # day 1 and 2 of the first session passed while stopped
    await service.resume(pid)
    rows = {(r.session_id, r.step): r.status for r in await service.manager.list(patient_id=pid)}
    assert rows[(sid2 - 1, "day1")] == "cancelled" and rows[(sid2 - 1, "day7")] == "pending"
    assert rows[(sid2, "day7")] == "pending"


async def test_problem_answer_reports_and_holds_until_resolved(
        service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 6)
    await session(service, 6, date(2025, 3, 28))
    day1 = (await service.manager.list(patient_id=pid))[0]
    stranger = await service.answer(999, f"ci:{day1.id}:2")
    assert stranger.handled and stranger.reply is None and not stranger.reports
    outcome = await service.answer(6, f"ci:{day1.id}:2")  # "Something's wrong"
    assert outcome.reply and "describe" in outcome.reply
    assert len(outcome.reports) == 1 and outcome.reports[0].kind == "checkin"
    assert {r.status for r in await service.manager.list(patient_id=pid)
            if r.id != day1.id} == {"paused"}
    again = await service.answer(6, f"ci:{day1.id}:2")  # a double press: no second report
    assert again.reply == outcome.reply and not again.reports
    await service.repo.reports.set_status(outcome.reports[0].id, ReportStatus.RESOLVED)
    assert await service.report_resolved(outcome.reports[0].id) == 7  # all 7 were pending
    assert {r.status for r in await service.manager.list(patient_id=pid)} == {"pending"}


async def test_booking_answer_stops_the_rebook_reminder(service: Service) -> None:
    pid = await patient(service.repo, 7)
    await session(service, 7, date(2025, 3, 28))
    rebook = next(r for r in await service.manager.list(patient_id=pid) if r.step == "rebook")
    outcome = await service.answer(7, f"ci:{rebook.id}:0")  # "Yes, please"
    assert outcome.reports and "book" in outcome.reports[0].text
    reminder = next(r for r in await service.manager.list(patient_id=pid)
                    if r.step == "rebook_reminder")
    assert reminder.status == "cancelled"


async def test_overdue_checkins_expire_and_reach_the_summary(
        service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 8)
    await session(service, 8, date(2025, 3, 28))
    clock.now = datetime(2025, 3, 29, 21, 30, tzinfo=UTC)  # day 1 window closed at 21:00
    assert await service.connector.expire_overdue(clock()) == 1
    expired = await service.manager.list(statuses=["expired"])
    assert [r.step for r in expired] == ["day1"] and expired[0].patient_id == pid
    text = await service.daily_summary(clock())
    assert text is not None and "Ann, day 1: expired" in text


# --- claiming ---------------------------------------------------------------------------------

async def _plant(db: Database, repo: Stores, count: int, now: datetime) -> set[int]:
    pid = await patient(repo, 50)
    info = await repo.treatments.add(now.date(), SessionSource.STAFF, telegram_id=50)
    async with db.sessions.begin() as s:
        rows = [CheckIn(session_id=info.id, patient_id=pid, step=f"s{i}", day_offset=1,
                        local_date=now.date(), tz="UTC", due_at=now - timedelta(minutes=1),
                        deliver_until=now + timedelta(hours=1), status="pending", attempts=0,
                        created_at=now, updated_at=now) for i in range(count)]
        s.add_all(rows)
        await s.flush()
        return {r.id for r in rows}


async def test_concurrent_claimers_never_get_the_same_row(database_url: str) -> None:
    now = START
    databases = [await Database.connect(database_url, migrate=False,
                                        connect_args=connect_args(database_url))
                 for _ in range(4)]
    try:
        planted = await _plant(databases[0], Stores.over(databases[0]), 300, now)
        for database in databases:  # open a connection each, so all start together
            await SqlConnector(database.sessions).next_due()
        got: dict[str, list[int]] = {}
        # no claimer goes on past its first claim until every one has made its own: one
        # that the loop or the threads favour cannot take all 300 rows before the others
        # start (however loaded the machine), so they compete every time
        first_claims = asyncio.Barrier(len(databases))

        async def claimer(index: int, database: Database) -> None:
            connector = SqlConnector(database.sessions)
            mine = got.setdefault(f"w{index}", [])
            rows = await connector.claim_due(now, 7, timedelta(minutes=5), f"w{index}")
            await first_claims.wait()
            while rows:
                mine.extend(r.id for r in rows)
                await asyncio.sleep(0)  # let the others claim between batches
                rows = await connector.claim_due(now, 7, timedelta(minutes=5), f"w{index}")

        await asyncio.gather(*(claimer(i, d) for i, d in enumerate(databases)))
        every = [i for ids in got.values() for i in ids]
        assert len(every) == len(set(every)) == 300 and set(every) == planted
        assert sum(1 for ids in got.values() if ids) >= 2  # they really competed
    finally:
        for database in databases:
            await database.close()


async def test_lease_expiry_requeues_a_crashed_claim(db: Database) -> None:
    now = START
    await _plant(db, Stores.over(db), 3, now)
    connector = SqlConnector(db.sessions)
    crashed = await connector.claim_due(now, 10, timedelta(seconds=60), "dead")
    assert len(crashed) == 3
    assert await connector.claim_due(now + timedelta(seconds=30), 10, timedelta(seconds=60),
                                     "alive") == []
    later = await connector.claim_due(now + timedelta(seconds=61), 10, timedelta(seconds=60),
                                      "alive")
    assert {r.id for r in later} == {r.id for r in crashed}
    assert all(r.attempts == 2 for r in later)
    assert not await connector.mark_sent(crashed[0].id, "dead", 1, now)  # lost claim
    assert await connector.mark_sent(later[0].id, "alive", 1, now)



# --- start-up reconciliation and report holds -------------------------------------------------

async def test_start_up_plans_sessions_that_missed_their_checkins(
        service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 9)
    # crashes between "session stored" and "check-ins written": no rows for either session
    recent = await service.repo.treatments.add(date(2025, 3, 27), SessionSource.STAFF,
                                               telegram_id=9)
    ancient = await service.repo.treatments.add(date(2024, 1, 2), SessionSource.STAFF,
                                                telegram_id=9)
    assert await service.manager.list(patient_id=pid) == []
    await service.start()  # what `aftercare run` does before it starts sending
    rows = await service.manager.list(patient_id=pid)
    assert {r.session_id for r in rows} == {recent.id}  # a long-past session stays history
    assert [r.step for r in rows] == ["day1", "day2", "day3", "day7", "day14", "rebook",
                                      "rebook_reminder"]
    await service.start()  # a second start adds nothing
    assert len(await service.manager.list(patient_id=pid)) == 7
    assert ancient.id not in {r.session_id for r in rows}


async def test_triage_report_holds_checkins_until_staff_resolve_it(
        service: Service, clock: ManualClock) -> None:
    pid = await patient(service.repo, 10)
    await session(service, 10, date(2025, 3, 28))
    report = await service.repo.reports.create(10, ReportKind.TRIAGE, "pus and fever",
                                               urgency="urgent", day=1)
    assert await service.report_raised(report) == 7
    assert {r.paused_reason for r in await service.manager.list(patient_id=pid)} == {
        f"report:{report.id}"}
    await service.stop(pid)  # the patient also pressed /stop meanwhile
    clock.advance(days=2)  # day 1 and day 2 passed while held
    await service.repo.reports.set_status(report.id, ReportStatus.RESOLVED)
    await service.report_resolved(report.id)
    rows = await service.manager.list(patient_id=pid)  # still held, now by the /stop
    assert {(r.status, r.paused_reason) for r in rows} == {("paused", "patient")}
    await service.resume(pid)
    status = {r.step: r.status for r in await service.manager.list(patient_id=pid)}
    assert status["day1"] == "cancelled"  # its evening passed while held: never sent late
    assert status["day2"] == status["day3"] == status["day7"] == "pending"  # day 2: still today
    assert await service.report_resolved(report.id) == 0  # resolving twice changes nothing
