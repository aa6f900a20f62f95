"""The reports aggregate on SQLite, PostgreSQL and its in-memory twin: the same tests, each
way (`ReportStore`, storage/reports.py; `MemoryReportStore`, storage/reports_memory.py).

What the flows and the staff desk rely on: a report names the patient (made bare if need be)
and their latest session and is owed a staff card (and an on-call copy for an emergency),
once per update; exactly one staff action wins each status change and only it is audited;
the queue is most urgent, then oldest, first; a thread is a report staff replied to; cards,
photos, urgency that only rises, re-posts claimed once per wait, overdue cards, response
figures, /patient, unanswered questions and the export; erasure takes it all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from scheduler.careplan import load_careplan
from scheduler.manager import CheckinManager
from storage.messages import LogEntry
from storage.states import ReportAction, SessionSource
from tests.twins import NOW, ON_CALL, Backend

MIN = dt.timedelta(minutes=1)
TODAY = NOW.date()
STAFF, OTHER_STAFF = 900, 901


async def test_unknown_reports_and_users_find_nothing(backend: Backend) -> None:
    reports = backend.reports
    assert await reports.get(404) is None
    assert await reports.actions(404) == [] and await reports.photos(404) == []
    assert await reports.card(1, 404) is None and await reports.latest_card(404) is None
    assert await reports.cards(404) == []
    for transition in (await reports.take(404, STAFF), await reports.resolve(404, STAFF, "x"),
                       await reports.reopen(404, STAFF)):
        assert not transition.ok and transition.report is None
    assert await backend.alerts.flagged(404, "lips", "urgent", NOW) is False
    assert await reports.add_description(404, "it hurts", "Patient") is False
    assert await reports.claim_repost(404, MIN) is False
    assert await reports.set_status(404, "resolved") is None
    assert await reports.thread_for(404) is None and await reports.latest_open(404) is None
    assert await reports.queue() == [] and await reports.export(NOW, NOW + MIN) == []
    assert await reports.unanswered({"urgent": MIN}) == []
    assert await reports.find_patients("nobody") == []
    assert await reports.unanswered_questions() == []


async def test_a_report_names_the_patient_and_their_latest_session_and_is_owed_a_card(
        backend: Backend) -> None:
    stranger = await backend.reports.create(1, "question", "is this normal?")
    assert (stranger.telegram_id, stranger.patient_name, stranger.session_id) == (1, None, None)
    assert await backend.patients.get(1) is not None  # a bare row was made for it
    patient = await backend.patients.record_consent(2, "Ann")
    await backend.patients.ensure(2, 20)
    await backend.treatments.add(TODAY - dt.timedelta(days=3), SessionSource.STAFF,
                                 patient_id=patient.id)
    latest = await backend.treatments.add(TODAY - dt.timedelta(days=1), SessionSource.STAFF,
                                          patient_id=patient.id)
    backend.clock.advance(MIN)
    report = await backend.reports.create(2, "triage", "swollen and hot", urgency="emergency",
                                          day=1, reason="swelling")
    assert (report.patient_id, report.patient_name, report.chat_id) == (patient.id, "Ann", 20)
    assert (report.session_id, report.session_date) == (latest.id, latest.session_date)
    assert (report.kind, report.status, report.urgency, report.day, report.reason) == (
        "triage", "open", "emergency", 1, "swelling")
    assert report.created_at == NOW + MIN and not report.closed
    assert (report.repeats, report.latest_text, report.taken_by) == (0, None, None)
    assert await backend.reports.get(report.id) == report
    assert await backend.plant.owed_cards() == [
        (stranger.id, None), (report.id, None), (report.id, ON_CALL)]  # emergency: on call too
    with pytest.raises(ValueError):
        await backend.reports.create(2, "gossip", "x")
    with pytest.raises(ValueError):
        await backend.reports.create(2, "triage", "x", urgency="whenever")


async def test_an_update_stored_again_gives_the_same_report_and_no_second_card(
        backend: Backend) -> None:
    first = await backend.reports.create(3, "patient", "rash", source_update_id=55,
                                         source_message=(30, 7))
    again = await backend.reports.create(3, "patient", "rash", source_update_id=55,
                                         now=NOW + MIN)
    assert again == first
    assert len(await backend.plant.owed_cards()) == 1


async def test_exactly_one_staff_action_wins_each_change_and_is_audited(
        backend: Backend) -> None:
    report = await backend.reports.create(4, "triage", "bleeding", urgency="urgent")
    taken = await backend.reports.take(report.id, STAFF, now=NOW + MIN)
    assert taken.ok and taken.report is not None
    assert (taken.report.status, taken.report.taken_by, taken.report.taken_at) == (
        "taken", STAFF, NOW + MIN)
    late = await backend.reports.take(report.id, OTHER_STAFF, now=NOW + 2 * MIN)
    assert not late.ok and late.report is not None and late.report.taken_by == STAFF
    resolved = await backend.reports.resolve(report.id, OTHER_STAFF, "seen", now=NOW + 3 * MIN)
    assert resolved.ok and resolved.report is not None and resolved.report.closed
    assert (resolved.report.resolved_by, resolved.report.resolved_at,
            resolved.report.resolution_note) == (OTHER_STAFF, NOW + 3 * MIN, "seen")
    assert not (await backend.reports.resolve(report.id, STAFF, "again")).ok
    assert not (await backend.reports.take(report.id, STAFF)).ok
    reopened = await backend.reports.reopen(report.id, STAFF, now=NOW + 4 * MIN)
    assert reopened.ok and reopened.report is not None
    assert (reopened.report.status, reopened.report.taken_by, reopened.report.taken_at) == (
        "taken", STAFF, NOW + 4 * MIN)
    assert (reopened.report.resolved_at, reopened.report.resolved_by) == (None, None)
    assert not (await backend.reports.reopen(report.id, STAFF)).ok
    trail = [(a.action, a.actor_telegram_id, a.note, a.created_at)
             for a in await backend.reports.actions(report.id)]
    assert trail == [("taken", STAFF, None, NOW + MIN),
                     ("resolved", OTHER_STAFF, "seen", NOW + 3 * MIN),
                     ("reopened", STAFF, None, NOW + 4 * MIN)]


async def test_the_queue_is_most_urgent_then_oldest_first_without_resolved_reports(
        backend: Backend) -> None:
    made = {}
    for minute, (user, urgency) in enumerate([(5, None), (6, "urgent"), (7, "emergency"),
                                              (8, "urgent"), (9, None)]):
        made[user] = await backend.reports.create(user, "patient", f"from {user}",
                                                  urgency=urgency, now=NOW + minute * MIN)
    await backend.reports.take(made[8].id, STAFF)  # taken reports stay in the queue
    await backend.reports.resolve(made[9].id, STAFF, "done")
    assert [r.telegram_id for r in await backend.reports.queue()] == [7, 6, 8, 5]


async def test_a_thread_is_the_newest_unresolved_report_staff_replied_to(
        backend: Backend) -> None:
    older = await backend.reports.create(10, "question", "one")
    newer = await backend.reports.create(10, "question", "two", now=NOW + MIN)
    assert (await backend.reports.latest_open(10)).id == newer.id  # type: ignore[union-attr]
    assert await backend.reports.thread_for(10) is None
    await backend.reports.record(older.id, STAFF, ReportAction.REPLIED, "try ice")
    assert (await backend.reports.thread_for(10)).id == older.id  # type: ignore[union-attr]
    await backend.reports.resolve(newer.id, STAFF, "done")
    assert (await backend.reports.latest_open(10)).id == older.id  # type: ignore[union-attr]
    await backend.reports.resolve(older.id, STAFF, "done")
    assert await backend.reports.thread_for(10) is None
    assert await backend.reports.latest_open(10) is None


async def test_cards_link_staff_chat_messages_to_reports(backend: Backend) -> None:
    report = await backend.reports.create(11, "triage", "fever", urgency="urgent")
    other = await backend.reports.create(12, "triage", "fever", urgency="urgent")
    await backend.reports.card_sent(report.id, -100, 1, "card")
    await backend.reports.card_sent(report.id, ON_CALL, 5, "card", now=NOW + MIN)
    await backend.reports.card_sent(report.id, -100, 2, "thread", now=NOW + 2 * MIN)
    await backend.reports.card_sent(other.id, -100, 1, "card")  # taken: the first one stays
    found = await backend.reports.card(-100, 1)
    assert found is not None and (found.report_id, found.kind, found.created_at) == (
        report.id, "card", NOW)
    assert await backend.reports.card(-100, 3) is None
    newest = await backend.reports.latest_card(report.id)
    assert newest is not None and (newest.chat_id, newest.message_id) == (ON_CALL, 5)
    in_chat = await backend.reports.latest_card(report.id, chat_id=-100)
    assert in_chat is not None and in_chat.message_id == 1
    thread = await backend.reports.latest_card(report.id, kinds=("thread",))
    assert thread is not None and thread.message_id == 2
    assert [c.message_id for c in await backend.reports.cards(report.id)] == [1, 5]
    assert await backend.reports.cards(other.id) == []


async def test_open_cards_older_than_their_urgencys_wait_are_overdue(backend: Backend) -> None:
    urgent = await backend.reports.create(13, "triage", "a", urgency="urgent")
    emergency = await backend.reports.create(14, "triage", "b", urgency="emergency")
    calm = await backend.reports.create(15, "patient", "c")
    no_card = await backend.reports.create(16, "triage", "d", urgency="urgent")
    taken = await backend.reports.create(17, "triage", "e", urgency="urgent")
    for message_id, report in enumerate((urgent, emergency, calm, taken), start=1):
        await backend.reports.card_sent(report.id, -100, message_id, "card")
    await backend.reports.take(taken.id, STAFF)
    thresholds = {"urgent": 10 * MIN, "emergency": 5 * MIN}
    assert await backend.reports.unanswered(thresholds, now=NOW + 4 * MIN) == []
    due = await backend.reports.unanswered(thresholds, now=NOW + 5 * MIN)
    assert [(r.id, c.message_id) for r, c in due] == [(emergency.id, 2)]
    due = await backend.reports.unanswered(thresholds, now=NOW + 10 * MIN)
    assert [r.id for r, _ in due] == [emergency.id, urgent.id]
    assert no_card.id not in [r.id for r, _ in due]


async def test_a_repost_is_claimed_once_per_wait_while_the_report_is_open(
        backend: Backend) -> None:
    report = await backend.reports.create(18, "triage", "a", urgency="urgent")
    assert await backend.reports.claim_repost(report.id, 10 * MIN) is True
    assert await backend.reports.claim_repost(report.id, 10 * MIN, now=NOW + 9 * MIN) is False
    assert await backend.reports.claim_repost(report.id, 10 * MIN, now=NOW + 10 * MIN) is True
    await backend.reports.take(report.id, STAFF)
    assert await backend.reports.claim_repost(report.id, 10 * MIN, now=NOW + 60 * MIN) is False


async def test_a_red_flag_that_joins_a_report_is_its_newest_alert(backend: Backend) -> None:
    report = await backend.reports.create(20, "triage", "pus", urgency="urgent", now=NOW)
    assert report.alerted == NOW and report.alerted_at is None
    later = NOW + 60 * MIN
    assert await backend.alerts.flagged(report.id, "more pus", "urgent", later) is False
    found = await backend.reports.get(report.id)
    assert found is not None and (found.urgency, found.alerted) == ("urgent", later)
    assert found.latest_text is None and found.repeats == 0  # not a repeat
    await backend.reports.resolve(report.id, STAFF, "ok")
    assert await backend.alerts.flagged(report.id, "lips", "emergency", later + MIN) is False
    found = await backend.reports.get(report.id)
    assert found is not None and found.alerted == later  # a resolved report is left alone
    assert found.urgency == "urgent"


async def test_open_alerts_are_the_unresolved_red_flags_newest_first(backend: Backend) -> None:
    emergency = await backend.reports.create(21, "triage", "lips", urgency="emergency",
                                             now=NOW)
    urgent = await backend.reports.create(21, "triage", "pus", urgency="urgent",
                                          now=NOW + MIN)
    await backend.reports.create(21, "question", "hair dye?", now=NOW + 2 * MIN)
    gone = await backend.reports.create(21, "triage", "fever", urgency="urgent",
                                        now=NOW + 3 * MIN)
    await backend.reports.resolve(gone.id, STAFF, "ok")
    await backend.reports.create(22, "triage", "someone else's", urgency="emergency")
    assert [r.id for r in await backend.reports.open_alerts(21)] == [urgent.id, emergency.id]
    assert await backend.reports.open_alerts(404) == []


async def test_urgency_only_rises_and_a_description_goes_in_front(backend: Backend) -> None:
    report = await backend.reports.create(19, "checkin", "check-in day 2: problem")
    assert await backend.alerts.flagged(report.id, "pus", "urgent", NOW) is True
    assert await backend.alerts.flagged(report.id, "pus", "urgent", NOW) is False
    assert await backend.alerts.flagged(report.id, "lips", "emergency", NOW) is True
    assert await backend.alerts.flagged(report.id, "pus", "urgent", NOW) is False
    found = await backend.reports.get(report.id)
    assert found is not None and (found.urgency, found.latest_text) == ("emergency", "lips")
    with pytest.raises(KeyError):
        await backend.alerts.flagged(report.id, "?", "soon", NOW)
    assert await backend.reports.add_description(report.id, "  it oozes ", "Patient", "pus")
    assert await backend.reports.add_description(report.id, "worse", "Patient", "other")
    found = await backend.reports.get(report.id)
    assert found is not None and found.reason == "pus"  # the first reason stays
    assert found.text == ('Patient: "worse" · Patient: "it oozes" · '
                          "check-in day 2: problem")


async def test_photos_and_audit_entries(backend: Backend) -> None:
    report = await backend.reports.create(20, "patient", "look")
    patient = await backend.patients.get(20)
    assert patient is not None
    await backend.reports.add_photo(report.id, "f" * 300, 20, now=NOW + MIN)
    await backend.reports.add_photo(report.id, "second", 20, now=NOW + MIN)
    assert await backend.reports.photos(report.id) == ["f" * 255, "second"]
    await backend.reports.record(None, STAFF, ReportAction.SESSION_MOVED, "to Friday",
                                 patient_id=patient.id)  # about the patient: no report
    await backend.reports.record(report.id, None, ReportAction.DELIVERED, "sent")
    trail = [(a.action, a.actor_telegram_id, a.note)
             for a in await backend.reports.actions(report.id)]
    assert trail == [("delivered", None, "sent"), ("photo", 20, None), ("photo", 20, None)]


async def test_first_staff_actions_of_reports_raised_in_a_period(backend: Backend) -> None:
    early = await backend.reports.create(21, "triage", "a", urgency="urgent")
    later = await backend.reports.create(22, "triage", "b", urgency="urgent", now=NOW + MIN)
    outside = await backend.reports.create(23, "triage", "c", now=NOW + 10 * MIN)
    untouched = await backend.reports.create(24, "triage", "d", now=NOW + 2 * MIN)
    await backend.reports.record(early.id, None, ReportAction.DELIVERED, None, NOW + MIN)
    await backend.reports.record(early.id, None, ReportAction.REPLIED, None, NOW + MIN)  # no one
    await backend.reports.record(early.id, STAFF, ReportAction.REFUSED, None, NOW + 2 * MIN)
    await backend.reports.take(early.id, STAFF, now=NOW + 4 * MIN)
    await backend.reports.record(early.id, STAFF, ReportAction.REPLIED, None, NOW + 3 * MIN)
    await backend.reports.resolve(later.id, STAFF, "ok", now=NOW + 6 * MIN)
    await backend.reports.take(outside.id, STAFF, now=NOW + 11 * MIN)
    assert untouched.id  # raised in the period, never acted on: not counted
    firsts = await backend.reports.first_actions(NOW, NOW + 10 * MIN)
    assert sorted(firsts) == [(NOW, NOW + 3 * MIN), (NOW + MIN, NOW + 6 * MIN)]


async def test_patients_are_found_by_name_or_telegram_id_with_their_history(
        backend: Backend) -> None:
    for telegram_id, name in ((31, "Mary Jones"), (32, "Ann Mary"), (33, "Bob"),
                              (34, "Rosemary")):
        await backend.patients.record_consent(telegram_id, name)
    mary = await backend.patients.get(31)
    assert mary is not None
    await backend.treatments.add(TODAY, SessionSource.STAFF, patient_id=mary.id)
    old = await backend.treatments.add(TODAY - dt.timedelta(days=30), SessionSource.STAFF,
                                       patient_id=mary.id)
    await backend.plant.cancel_session(old.id, NOW)
    report = await backend.reports.create(31, "patient", "itchy")
    found = await backend.reports.find_patients(" MARY ")
    assert [p.telegram_id for p in found] == [31, 32, 34]
    assert [p.telegram_id for p in await backend.reports.find_patients("mary", limit=2)] == [
        31, 32]
    overview = found[0]
    assert (overview.patient_id, overview.name, overview.checkins_paused) == (
        mary.id, "Mary Jones", False)
    assert overview.sessions == [(TODAY - dt.timedelta(days=30), True), (TODAY, False)]
    assert [r.id for r in overview.reports] == [report.id]
    assert [p.name for p in await backend.reports.find_patients("33")] == ["Bob"]


async def test_patient_overview_counts_the_check_ins_of_the_outbox_by_status(
        backend: Backend) -> None:
    """/patient's check-in counts are the outbox's rows the manager and dispatcher wrote."""
    await backend.patients.ensure(35, 350)
    await backend.patients.record_consent(35, "Cora")
    await backend.patients.record_consent(36, "Cora's friend")  # no session, no check-ins
    session = await backend.treatments.add(TODAY, SessionSource.STAFF, telegram_id=35)
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    manager = CheckinManager(backend.plans, plan, "Europe/London", clock=backend.clock)
    made = await manager.schedule_session(session.id)
    assert made > 1
    (due, *_) = await backend.outbox.claim_due(NOW + dt.timedelta(days=2), 1,
                                               dt.timedelta(minutes=5), "w1")
    assert await backend.outbox.mark_sent(due.id, "w1", 4242, NOW + dt.timedelta(days=2))
    cora, friend = await backend.reports.find_patients("cora")
    assert cora.checkins == {"sent": 1, "pending": made - 1}
    assert friend.checkins == {}


async def test_unanswered_questions_are_abstentions_and_questions_for_the_clinic(
        backend: Backend) -> None:
    await backend.patients.record_consent(41, "Cy")
    patient = await backend.patients.get(41)
    assert patient is not None
    await backend.messages.log_batch([
        LogEntry(41, "in", "can I swim?", None, "abstained", NOW),
        LogEntry(41, "in", "hello", None, "smalltalk", NOW),
        LogEntry(41, "out", "sorry", None, "abstained", NOW),
        LogEntry(41, "in", "sauna?", None, "abstained", NOW + 2 * MIN)])
    await backend.reports.create(41, "question", "when can I tan?", now=NOW + MIN)
    await backend.reports.create(41, "question", "check-in day 3: question")
    await backend.reports.create(41, "patient", "not a question")
    assert sorted(await backend.reports.unanswered_questions()) == sorted([
        (patient.id, "can I swim?"), (patient.id, "sauna?"), (patient.id, "when can I tan?")])
    assert sorted(await backend.reports.unanswered_questions(since=NOW + MIN)) == sorted([
        (patient.id, "sauna?"), (patient.id, "when can I tan?")])


async def test_the_export_holds_reports_raised_in_the_period_with_their_trails(
        backend: Backend) -> None:
    before = await backend.reports.create(51, "patient", "a", now=NOW - MIN)
    first = await backend.reports.create(52, "patient", "b", now=NOW)
    second = await backend.reports.create(53, "patient", "c", now=NOW + MIN)
    await backend.reports.create(54, "patient", "d", now=NOW + 2 * MIN)
    await backend.reports.take(first.id, STAFF, now=NOW + 3 * MIN)
    await backend.reports.resolve(first.id, STAFF, "ok", now=NOW + 4 * MIN)
    exported = await backend.reports.export(NOW, NOW + 2 * MIN)
    assert [(r.id, [a.action for a in trail]) for r, trail in exported] == [
        (first.id, ["taken", "resolved"]), (second.id, [])]
    assert before.id not in [r.id for r, _ in exported]


async def test_erasure_takes_the_patients_reports_with_their_cards_and_trails(
        backend: Backend) -> None:
    mine = await backend.reports.create(61, "triage", "a", urgency="urgent")
    kept = await backend.reports.create(62, "triage", "b", urgency="urgent")
    for message_id, report in enumerate((mine, kept), start=1):
        await backend.reports.card_sent(report.id, -100, message_id, "card")
        await backend.reports.take(report.id, STAFF)
        await backend.reports.add_photo(report.id, "photo", None)
    assert await backend.patients.erase(61) is True
    assert await backend.reports.get(mine.id) is None
    assert await backend.reports.card(-100, 1) is None
    assert await backend.reports.actions(mine.id) == []
    assert await backend.reports.photos(mine.id) == []
    assert [r.id for r in await backend.reports.queue()] == [kept.id]
    assert await backend.reports.card(-100, 2) is not None
    assert len(await backend.reports.actions(kept.id)) == 2
