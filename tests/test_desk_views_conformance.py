"""The web desk's page reads on SQLite, PostgreSQL and in memory: the same tests, each way
(`DeskViews`, storage/desk_views.py; `MemoryDeskViews`, storage/desk_views_memory.py, over the
`MemoryTables` the other twins write).

The rows are written through the stores and the check-in outbox of the same backend
(tests/twins.py), so every test reads what the bot's own writers leave: the queue (urgency
then age, with photos, audit trail and latest card), the patients list (in recovery, search
by name or Telegram id, paging, the latest sent check-in, open reports), one patient's page,
the questions the bot could not answer, and the weekly figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from scheduler.careplan import load_careplan
from scheduler.manager import CheckinManager
from storage.messages import LogEntry
from storage.states import Outcome, ReportKind, SessionSource, Urgency
from tests.twins import NOW, Backend

TODAY = NOW.date()
STAFF = 900  # a staff member's Telegram id
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Seeded:
    ann: int  # in recovery, an urgent report taken with a photo and a card, a check-in answered
    bob: int  # in recovery, an emergency resolved, messages
    cy: int  # consent, no session
    dee: int  # last session 40 days ago
    urgent: int
    emergency: int
    photo_id: int
    ann_session: int


async def patient(backend: Backend, telegram_id: int, name: str) -> int:
    await backend.patients.ensure(telegram_id, telegram_id * 10)
    return (await backend.patients.record_consent(telegram_id, name)).id


async def seed(backend: Backend) -> Seeded:
    b, clock = backend, backend.clock
    ann = await patient(b, 1, "Ann Smith")
    bob = await patient(b, 2, "bob jones")
    cy = await patient(b, 3, "Cy Ann")
    dee = await patient(b, 4, "Dee")
    ann_session = (await b.treatments.add(TODAY - dt.timedelta(days=2), SessionSource.STAFF,
                                          telegram_id=1)).id
    await b.treatments.add(TODAY - dt.timedelta(days=1), SessionSource.STAFF, telegram_id=2)
    await b.treatments.add(TODAY - dt.timedelta(days=40), SessionSource.STAFF, telegram_id=4)
    cancelled = await b.treatments.add(TODAY, SessionSource.STAFF, telegram_id=2)
    await b.plant.cancel_session(cancelled.id, clock())
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    manager = CheckinManager(b.plans, plan, "Europe/London", clock=clock)
    await manager.schedule_session(ann_session)

    clock.advance(minutes=1)
    urgent = await b.reports.create(1, ReportKind.TRIAGE, "a rash", urgency=Urgency.URGENT)
    clock.advance(minutes=1)
    emergency = await b.reports.create(2, ReportKind.TRIAGE, "cannot breathe",
                                       urgency=Urgency.EMERGENCY)
    clock.advance(minutes=1)
    await b.reports.add_photo(urgent.id, "file-1", None)
    await b.reports.card_sent(urgent.id, -100, 51, "card")
    clock.advance(minutes=4)
    await b.reports.take(urgent.id, STAFF)
    clock.advance(minutes=10)
    await b.reports.resolve(emergency.id, STAFF, "called")
    await b.reports.card_sent(urgent.id, -100, 52, "repost")

    claimed = await b.outbox.claim_due(clock(), 10, dt.timedelta(minutes=5), "w1")
    assert claimed, "a check-in of Ann's session is due"
    await b.outbox.mark_sent(claimed[0].id, "w1", 700, clock())
    clock.advance(minutes=2)
    assert (await manager.answer(1, claimed[0].id, 0)).ok

    clock.advance(minutes=1)
    await b.messages.log_batch([
        LogEntry(2, "in", "can I swim?", None, Outcome.ABSTAINED, clock()),
        LogEntry(2, "out", "I am not sure", None, None, clock() + dt.timedelta(seconds=1)),
        LogEntry(2, "in", "sun cream?", None, Outcome.SUGGESTED,
                 clock() + dt.timedelta(seconds=2)),
        LogEntry(1, "in", "can I wash?", None, Outcome.ANSWERED,
                 clock() + dt.timedelta(seconds=3))])
    photo_id = (await b.pages.queue())[0].photos[0].id
    return Seeded(ann, bob, cy, dee, urgent.id, emergency.id, photo_id, ann_session)


async def test_the_queue_shows_open_reports_with_photos_trail_and_latest_card(
        backend: Backend) -> None:
    seeded = await seed(backend)
    queue = await backend.pages.queue()
    assert [item.report.id for item in queue] == [seeded.urgent]  # the emergency is resolved
    item = queue[0]
    assert item.report == await backend.reports.get(seeded.urgent)
    assert [p.file_id for p in item.photos] == ["file-1"]
    assert [a.action for a in item.trail] == ["photo", "taken"]
    assert item.last_card_at == NOW + dt.timedelta(minutes=17)  # the repost
    photo = await backend.pages.photo(seeded.photo_id)
    assert photo is not None and (photo.report_id, photo.file_id) == (seeded.urgent, "file-1")
    assert await backend.pages.photo(seeded.photo_id + 100) is None


async def test_the_patients_in_recovery_newest_session_first(backend: Backend) -> None:
    seeded = await seed(backend)
    rows = await backend.pages.patients(TODAY)
    assert [(r.id, r.session_date) for r in rows] == [
        (seeded.bob, TODAY - dt.timedelta(days=1)), (seeded.ann, TODAY - dt.timedelta(days=2))]
    ann = rows[1]
    assert (ann.name, ann.telegram_id, ann.open_reports, ann.checkins_paused, ann.active) == (
        "Ann Smith", 1, 1, False, True)
    assert ann.last_step is not None and ann.last_answer is not None
    assert ann.last_answered_at == NOW + dt.timedelta(minutes=19)
    assert (rows[0].last_step, rows[0].open_reports) == (None, 0)
    assert [r.id for r in await backend.pages.patients(TODAY, limit=1, offset=1)] == [
        seeded.ann]
    later = await backend.pages.patients(TODAY + dt.timedelta(days=30))
    assert [r.id for r in later] == []  # nobody's latest session is within 30 days


async def test_a_search_finds_names_and_telegram_ids(backend: Backend) -> None:
    seeded = await seed(backend)
    found = await backend.pages.patients(TODAY, "ANN")
    assert [(r.id, r.session_date) for r in found] == [
        (seeded.ann, TODAY - dt.timedelta(days=2)), (seeded.cy, None)]
    assert [r.id for r in await backend.pages.patients(TODAY, " 4 ")] == [seeded.dee]
    assert [r.id for r in await backend.pages.patients(TODAY, "e")] == [
        seeded.bob, seeded.dee]  # by session, newest first
    assert await backend.pages.patients(TODAY, "100%") == []
    assert [r.id for r in await backend.pages.patients(TODAY, "n", limit=2, offset=1)] == [
        seeded.bob, seeded.cy]


async def test_one_patients_page(backend: Backend) -> None:
    seeded = await seed(backend)
    assert await backend.pages.patient(404) is None
    ann = await backend.pages.patient(seeded.ann)
    assert ann is not None
    assert (ann.name, ann.telegram_id, ann.chat_id, ann.consent_at) == (
        "Ann Smith", 1, 10, NOW)
    assert [s.id for s in ann.sessions] == [seeded.ann_session]
    assert ann.checkins and all(c.session_id == seeded.ann_session for c in ann.checkins)
    assert [c.due_at for c in ann.checkins] == sorted(c.due_at for c in ann.checkins)
    assert sum(1 for c in ann.checkins if c.answer is not None) == 1
    assert [r.id for r in ann.reports] == [seeded.urgent]
    assert [a.action for a in ann.actions] == ["photo", "taken"]
    assert [p.file_id for p in ann.photos] == ["file-1"]
    assert [m.text for m in ann.messages] == ["can I wash?"]
    bob = await backend.pages.patient(seeded.bob)
    assert bob is not None
    assert [s.session_date for s in bob.sessions] == [
        TODAY, TODAY - dt.timedelta(days=1)]  # newest first, the cancelled one too
    assert bob.sessions[0].cancelled_at is not None and bob.checkins == []
    assert [m.text for m in bob.messages] == ["can I swim?", "I am not sure", "sun cream?"]
    since = NOW + dt.timedelta(minutes=20, seconds=1)
    recent = await backend.pages.patient(seeded.bob, messages_since=since)
    assert recent is not None and [m.direction for m in recent.messages] == ["out", "in"]
    assert await backend.pages.staff_reports(seeded.bob) == bob.reports
    assert await backend.pages.session_owner(seeded.ann_session) == seeded.ann
    assert await backend.pages.session_owner(seeded.ann_session + 100) is None


async def test_the_questions_the_bot_could_not_answer_newest_first(backend: Backend) -> None:
    seeded = await seed(backend)
    assert await backend.pages.unanswered_questions() == [
        (seeded.bob, "sun cream?"), (seeded.bob, "can I swim?")]
    since = NOW + dt.timedelta(minutes=20, seconds=1)
    assert await backend.pages.unanswered_questions(since) == [(seeded.bob, "sun cream?")]
    assert await backend.pages.unanswered_questions(limit=1) == [(seeded.bob, "sun cream?")]


async def test_the_weekly_figures(backend: Backend) -> None:
    await seed(backend)
    monday = NOW.replace(hour=0)
    weeks = await backend.pages.figures([monday - WEEK, monday])
    assert [w.start for w in weeks] == [monday - WEEK, monday]
    assert (weeks[0].sessions, weeks[0].reports, weeks[0].questions) == (0, {}, 0)
    week = weeks[1]
    assert (week.sessions, week.checkins_sent, week.checkins_answered) == (4, 1, 1)
    assert week.reports == {"urgent": 1, "emergency": 1}
    assert sorted(week.first_action_minutes) == [6.0, 15.0]  # taken after 6, resolved after 15
    assert sorted(week.first_actions) == [
        (NOW + dt.timedelta(minutes=1), NOW + dt.timedelta(minutes=7)),
        (NOW + dt.timedelta(minutes=2), NOW + dt.timedelta(minutes=17))]
    assert (week.questions, week.unanswered) == (3, 2)
    spans = [(NOW, NOW + dt.timedelta(minutes=2)), (NOW, NOW + WEEK)]  # overlapping spans
    split = await backend.pages.weeks(spans)
    assert [w.reports for w in split] == [{"urgent": 1}, {"emergency": 1}]
    assert [w.sessions for w in split] == [4, 4]
    assert await backend.pages.weeks([]) == []
