"""The database figures of /metrics and the probe of /readyz, on SQLite, PostgreSQL and in
memory: the same tests, each way (`SqlFigures` / `SqlProbe`, storage/figures.py and
storage/health.py; `MemoryFigures`, storage/figures_memory.py, and `MemoryProbe`), over rows
written through the same backend's stores.

What a clinic's IT person reads: check-in rows by status and how many are due, unresolved
reports by urgency and the oldest one, staff-chat alerts not yet delivered, and when staff
first acted on each recent report; /readyz's database answers at this code's migration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from scheduler.careplan import load_careplan
from scheduler.manager import CheckinManager
from storage.figures import Figures
from storage.migrate import head_revision
from storage.states import ReportAction, SessionSource
from tests.twins import NOW, Backend

LEASE = dt.timedelta(minutes=5)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
DAY1 = NOW + dt.timedelta(days=1, hours=9, minutes=30)  # day 1's check-ins due, window open
LATER = NOW + dt.timedelta(days=2, hours=2)  # day 2's too; day 1's window closed
WINDOW = dt.timedelta(days=30)
STAFF = 900


async def planned(backend: Backend, telegram_id: int) -> int:
    """A consenting patient with a session today and its check-ins planned: rows planned."""
    await backend.patients.ensure(telegram_id, telegram_id * 10)
    await backend.patients.record_consent(telegram_id, f"P{telegram_id}")
    session = await backend.treatments.add(NOW.date(), SessionSource.STAFF,
                                           telegram_id=telegram_id)
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    manager = CheckinManager(backend.plans, plan, "Europe/London", clock=backend.clock)
    return await manager.schedule_session(session.id)


async def test_nothing_stored_shows_zero_figures(backend: Backend) -> None:
    assert await backend.figures.read(NOW, NOW - WINDOW) == Figures()


async def test_check_ins_by_status_and_the_ones_due(backend: Backend) -> None:
    made = await planned(backend, 1) + await planned(backend, 2)
    due_later = sum(1 for r in await backend.plans.listing() if r.due_at <= LATER)
    assert due_later == 4 < made  # days 1 and 2 of two patients are due, later days are not
    before = await backend.figures.read(NOW, NOW - WINDOW)
    assert (before.checkins, before.checkins_due) == ({"pending": made}, 0)
    [sent] = await backend.outbox.claim_due(DAY1, 1, LEASE, "w")
    assert await backend.outbox.mark_sent(sent.id, "w", 5001, DAY1)
    [claimed] = await backend.outbox.claim_due(DAY1, 1, 2 * DAY, "w")  # its lease still runs
    [failed] = await backend.outbox.claim_due(LATER, 1, LEASE, "w")  # a day 2
    assert await backend.outbox.mark_failed(failed.id, "w", "blocked", LATER)
    assert len({sent.id, claimed.id, failed.id}) == 3
    figures = await backend.figures.read(LATER, LATER - WINDOW)
    assert figures.checkins == {"pending": made - 3, "sent": 1, "claimed": 1, "failed": 1}
    assert figures.checkins_due == due_later - 3


async def test_unresolved_reports_by_urgency_and_the_oldest(backend: Backend) -> None:
    first = await backend.reports.create(1, "question", "a")
    backend.clock.advance(HOUR)
    emergency = await backend.reports.create(2, "triage", "b", urgency="emergency")
    backend.clock.advance(HOUR)
    await backend.reports.create(3, "triage", "c", urgency="urgent")
    await backend.reports.create(4, "triage", "d", urgency="urgent")
    await backend.reports.take(emergency.id, STAFF)  # taken is not resolved
    figures = await backend.figures.read(backend.clock(), NOW - WINDOW)
    assert figures.open_reports == {"none": 1, "emergency": 1, "urgent": 2}
    assert figures.oldest_open == NOW
    await backend.reports.resolve(first.id, STAFF, "called back")
    figures = await backend.figures.read(backend.clock(), NOW - WINDOW)
    assert figures.open_reports == {"emergency": 1, "urgent": 2}
    assert figures.oldest_open == NOW + HOUR


async def test_alerts_owed_until_delivered(backend: Backend) -> None:
    await backend.reports.create(1, "question", "a")
    await backend.reports.create(2, "triage", "b", urgency="emergency")  # and an on-call copy
    assert (await backend.figures.read(NOW, NOW - WINDOW)).alerts_owed == 3
    card, claimed, _ = await backend.alerts.claim_due(NOW, 10, LEASE, "w")
    assert await backend.alerts.mark_sent(card.id, "w", -100, 7001, NOW)
    assert claimed.id != card.id  # still claimed, not delivered: still owed
    assert (await backend.figures.read(NOW, NOW - WINDOW)).alerts_owed == 2


async def test_first_staff_action_of_each_report_raised_in_the_window(backend: Backend) -> None:
    old = await backend.reports.create(1, "question", "before the window")
    backend.clock.advance(days=31)
    since = backend.clock() - WINDOW
    raised = backend.clock()
    taken = await backend.reports.create(2, "triage", "a", urgency="urgent")
    untouched = await backend.reports.create(3, "triage", "b", urgency="urgent")
    await backend.reports.take(old.id, STAFF)  # raised before the window: not counted
    await backend.reports.record(untouched.id, None, ReportAction.REPOSTED)  # not staff
    backend.clock.advance(minutes=20)
    await backend.reports.take(taken.id, STAFF)
    backend.clock.advance(minutes=5)
    await backend.reports.resolve(taken.id, STAFF, "seen")  # a later action: not the first
    figures = await backend.figures.read(backend.clock(), since)
    assert figures.first_actions == [(raised, raised + dt.timedelta(minutes=20))]
    assert (await backend.figures.read(raised, since)).first_actions == []  # raised at `now`


async def test_the_database_answers_at_this_codes_migration(backend: Backend) -> None:
    assert await backend.probe.revision() == head_revision()
