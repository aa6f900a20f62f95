"""The alert outbox as the staff desk uses it, on SQLite, PostgreSQL and its in-memory twin:
the same tests, each way (`AlertSql`, storage/alerts.py; `MemoryAlerts`,
storage/alerts_memory.py), with the reports and patients of the same backend.

What the desk relies on: a new report owes its card (and an on-call copy for an emergency);
a card sent is linked to its report (a re-post audited); a re-post is claimed once per wait;
a card's copies outside the staff chat get one waiting edit each; a repeated or edited red
flag changes the open report and owes one edit of its card, and when it raises the urgency a
new message under the card too (the staff chat's and the on-call chats named), the edit at
once and the next re-post counted from then; a red flag written inside a report (its thread,
a /report detail, a check-in description) that raises it owes the same, the raise carrying
its words; on-call chats that could not be
reached are counted until a card gets through; an erasure owes "[erased]" edits of its cards,
also of a card delivered just as the patient was erased and of a duplicate card sent by a
worker whose claim was lost (linked to its report like any other card).
"""

from __future__ import annotations

import datetime as dt

from storage.alerts import UNREACHABLE
from storage.models import AlertKind
from tests.twins import NOW, ON_CALL, Backend

SEC = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)
LEASE = dt.timedelta(seconds=60)
STAFF_CHAT, STAFF = -100, 900


async def send_all(backend: Backend, at: dt.datetime, first_id: int = 1000) -> dict[int, int]:
    """Claim every due row and mark it sent (message ids from `first_id`); alert id ->
    message id."""
    sent = {}
    for number, alert in enumerate(await backend.alerts.claim_due(at, 50, LEASE, "w")):
        chat = alert.chat_id if alert.chat_id is not None else STAFF_CHAT
        assert await backend.alerts.mark_sent(alert.id, "w", chat, first_id + number, at)
        sent[alert.id] = first_id + number
    return sent



async def raise_sent(backend: Backend,
                     now: dt.datetime) -> list[tuple[str, int | None, str | None]]:
    """Claim what is due at `now` and mark it sent as messages 3000, 3001, ... in their chats
    (the staff chat for a row without one); returns (kind, chat id, card kind) of each."""
    claimed = await backend.alerts.claim_due(now, 10, LEASE, "w")
    for number, alert in enumerate(claimed):
        chat = alert.chat_id if alert.chat_id is not None else STAFF_CHAT
        assert await backend.alerts.mark_sent(alert.id, "w", chat, 3000 + number, now)
    return [(a.kind, a.chat_id, a.card_kind) for a in claimed]

async def test_a_new_report_owes_its_card_and_an_emergency_an_on_call_copy(
        backend: Backend) -> None:
    calm = await backend.reports.create(1, "question", "a")
    urgent = await backend.reports.create(2, "triage", "b", urgency="emergency")
    assert await backend.alerts.owed() == 3
    assert await backend.alerts.pending_cards() == {calm.id, urgent.id}
    claimed = await backend.alerts.claim_due(NOW, 10, LEASE, "w")
    assert [(a.report_id, a.kind, a.chat_id) for a in claimed] == [
        (calm.id, "card", None), (urgent.id, "card", None), (urgent.id, "card", ON_CALL)]
    assert await backend.alerts.next_due() is None


async def test_a_card_sent_is_linked_to_its_report_and_a_repost_is_audited(
        backend: Backend) -> None:
    report = await backend.reports.create(3, "triage", "a", urgency="urgent")
    await send_all(backend, NOW)
    card = await backend.reports.card(STAFF_CHAT, 1000)
    assert card is not None and (card.report_id, card.kind) == (report.id, "card")
    assert await backend.alerts.pending_cards() == set()
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, NOW + 10 * MIN) is True
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, NOW + 11 * MIN) is False
    assert await backend.alerts.pending_cards() == {report.id}
    await send_all(backend, NOW + 11 * MIN, first_id=2000)
    repost = await backend.reports.latest_card(report.id)
    assert repost is not None and (repost.message_id, repost.kind) == (2000, "repost")
    assert [a.action for a in await backend.reports.actions(report.id)] == ["reposted"]
    await backend.reports.take(report.id, STAFF)
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, NOW + 60 * MIN) is False
    assert await backend.alerts.owe_repost(404, 10 * MIN, NOW) is False


async def test_owing_a_kind_to_several_chats(backend: Backend) -> None:
    report = await backend.reports.create(4, "triage", "a", urgency="urgent")
    await send_all(backend, NOW)
    await backend.alerts.owe(report.id, AlertKind.CARD, NOW + MIN, chats=(None, ON_CALL))
    claimed = await backend.alerts.claim_due(NOW + MIN, 10, LEASE, "w")
    assert [(a.kind, a.chat_id) for a in claimed] == [("card", None), ("card", ON_CALL)]


async def test_each_copy_outside_the_staff_chat_gets_one_waiting_edit(backend: Backend) -> None:
    report = await backend.reports.create(5, "triage", "a", urgency="emergency")
    await send_all(backend, NOW)  # the staff chat's card (1000) and the on-call copy (1001)
    assert await backend.alerts.owe_copy_edits(report.id, STAFF_CHAT, NOW) == 1
    assert await backend.alerts.owe_copy_edits(report.id, STAFF_CHAT, NOW) == 0  # one waits
    [edit] = await backend.alerts.claim_due(NOW, 10, LEASE, "w")
    assert (edit.kind, edit.chat_id, edit.message_id) == ("update", ON_CALL, 1001)
    assert await backend.alerts.mark_sent(edit.id, "w", ON_CALL, 1001, NOW)
    assert await backend.alerts.owe_copy_edits(report.id, None, NOW) == 2  # no staff chat


async def test_a_repeat_counts_into_the_open_report_and_owes_one_late_edit(
        backend: Backend) -> None:
    report = await backend.reports.create(6, "triage", "swollen", urgency="urgent")
    await send_all(backend, NOW)
    assert await backend.alerts.repeat(report.id, "worse now", "urgent", 6, NOW, (ON_CALL,))
    assert await backend.alerts.repeat(report.id, "much worse", "urgent", 6, NOW + SEC,
                                       (ON_CALL,))
    found = await backend.reports.get(report.id)
    assert found is not None
    assert (found.repeats, found.latest_text, found.urgency) == (2, "much worse", "urgent")
    assert found.alerted == NOW + SEC  # the newest red flag: the safety line's window starts
    assert [(a.action, a.note) for a in await backend.reports.actions(report.id)] == [
        ("patient", "worse now"), ("patient", "much worse")]
    assert await backend.alerts.claim_due(NOW + 9 * SEC, 10, LEASE, "w") == []  # edits wait
    [edit] = await backend.alerts.claim_due(NOW + 10 * SEC, 10, LEASE, "w")
    assert (edit.kind, edit.report_id, edit.message_id) == ("update", report.id, None)
    await backend.reports.resolve(report.id, STAFF, "ok")
    assert await backend.alerts.repeat(report.id, "again", None, 6, NOW) is False
    assert await backend.alerts.repeat(404, "again", None, 6, NOW) is False


async def test_a_repeat_that_raises_the_urgency_owes_a_new_message_under_the_card(
        backend: Backend) -> None:
    report = await backend.reports.create(14, "triage", "hot and red", urgency="urgent")
    await send_all(backend, NOW)  # the card: 1000
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, NOW + 10 * MIN)
    await send_all(backend, NOW + 10 * MIN, first_id=2000)  # its re-post
    later = NOW + 12 * MIN
    assert await backend.alerts.repeat(report.id, "lips tingly", "emergency", 14, later,
                                       (ON_CALL,))
    found = await backend.reports.get(report.id)
    assert found is not None and (found.urgency, found.repeats) == ("emergency", 1)
    # due now, not after the edits' wait: a message for the staff chat and the on-call
    # chat named (which had no copy of the urgent card: the card first), and the card's edit
    assert await raise_sent(backend, later) == [
        ("raise", None, "repeat"), ("card", ON_CALL, None), ("raise", ON_CALL, "repeat"),
        ("update", None, None)]
    raised = await backend.reports.card(STAFF_CHAT, 3000)  # linked: a reply reaches the patient
    assert raised is not None and (raised.report_id, raised.kind) == (report.id, "raise")
    copy = await backend.reports.card(ON_CALL, 3001)
    assert copy is not None and (copy.report_id, copy.kind) == (report.id, "card")
    # a raise is not a card: edits and threads in the staff chat still find the re-post
    newest = await backend.reports.latest_card(report.id, chat_id=STAFF_CHAT)
    assert newest is not None and newest.message_id == 2000
    assert await backend.alerts.pending_cards() == set()
    # the next re-post waits the (new) tier's time from the raise, not from the last re-post
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, later + 9 * MIN) is False
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, later + 10 * MIN) is True
    await send_all(backend, later + 10 * MIN, first_id=4000)
    # at the same tier again: only a late edit of the card
    again = later + 11 * MIN
    assert await backend.alerts.repeat(report.id, "lips worse", "emergency", 14, again,
                                       (ON_CALL,))
    assert await backend.alerts.claim_due(again + 9 * SEC, 10, LEASE, "w") == []
    [edit] = await backend.alerts.claim_due(again + 10 * SEC, 10, LEASE, "w")
    assert (edit.kind, edit.message_id) == ("update", None)
    # the raise names the patient's words: an erasure edits it with the cards
    assert await backend.patients.erase(14)
    erased = await backend.alerts.claim_due(again + MIN, 10, LEASE, "w")
    assert ("erase", STAFF_CHAT, 3000, "raise") in {
        (a.kind, a.chat_id, a.message_id, a.card_kind) for a in erased}


async def test_a_raise_brings_a_waiting_edit_forward_and_leaves_a_taken_report_taken(
        backend: Backend) -> None:
    report = await backend.reports.create(15, "triage", "itchy")  # no urgency
    await backend.alerts.owe(report.id, AlertKind.CARD, NOW, chats=(ON_CALL,))
    await send_all(backend, NOW)  # the card, and a copy on call
    await backend.reports.take(report.id, STAFF)
    assert await backend.alerts.repeat(report.id, "a bit sore", None, 15, NOW)  # edit waits
    assert await backend.alerts.repeat(report.id, "pus", "urgent", 15, NOW + SEC, (ON_CALL,))
    found = await backend.reports.get(report.id)
    assert found is not None and (found.status, found.taken_by) == ("taken", STAFF)
    assert found.urgency == "urgent"
    claimed = await backend.alerts.claim_due(NOW + SEC, 10, LEASE, "w")
    assert sorted((a.kind, a.chat_id or 0) for a in claimed) == [
        ("raise", 0), ("raise", ON_CALL), ("update", 0)]  # the copy is there: no second card
    assert await backend.alerts.owed() == 3  # the one edit, brought forward: no second one


async def test_a_red_flag_written_inside_a_report_that_raises_it_owes_the_same_raise(
        backend: Backend) -> None:
    report = await backend.reports.create(16, "patient", "a bit sore")  # a /report: no tier
    await send_all(backend, NOW)  # the card: 1000 (no on-call copy: it was not urgent)
    later = NOW + 5 * MIN
    assert await backend.alerts.flagged(report.id, "lips tingly", "emergency", later,
                                        (ON_CALL,)) is True
    found = await backend.reports.get(report.id)
    assert found is not None
    assert (found.urgency, found.latest_text, found.repeats) == ("emergency", "lips tingly", 0)
    assert found.alerted == later
    # in the same transaction: the raise (carrying the words: "thread") for the staff chat and
    # the on-call chat (the card first there), and the card's edit, all due now
    assert await raise_sent(backend, later) == [
        ("raise", None, "thread"), ("card", ON_CALL, None), ("raise", ON_CALL, "thread"),
        ("update", None, None)]
    raised = await backend.reports.card(STAFF_CHAT, 3000)  # linked: a reply reaches the patient
    assert raised is not None and (raised.report_id, raised.kind) == (report.id, "raise")
    # the next re-post waits the new tier's time from the raise
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, later + 9 * MIN) is False
    assert await backend.alerts.owe_repost(report.id, 10 * MIN, later + 10 * MIN) is True
    await send_all(backend, later + 10 * MIN, first_id=4000)
    # the same tier again: the newest alert, nothing owed (the words go as a "wrote" line)
    again = later + 11 * MIN
    assert await backend.alerts.flagged(report.id, "lips worse", "emergency", again,
                                        (ON_CALL,)) is False
    assert await backend.alerts.owed() == 0
    found = await backend.reports.get(report.id)
    assert found is not None and (found.alerted, found.latest_text) == (again, "lips tingly")


async def test_an_edit_of_the_message_that_raised_an_open_report_changes_it(
        backend: Backend) -> None:
    report = await backend.reports.create(7, "triage", "itchy", urgency="urgent",
                                          source_message=(70, 5))
    await backend.reports.create(8, "triage", "other", source_message=(70, 5))
    await send_all(backend, NOW)
    assert await backend.alerts.edited(7, 70, 5, "bleeding", "emergency", NOW, (ON_CALL,)) == (
        report.id, "urgent")
    found = await backend.reports.get(report.id)
    assert found is not None and (found.text, found.urgency) == ("bleeding", "emergency")
    assert found.alerted == NOW  # the edit made it an emergency: its newest red flag
    assert [(a.action, a.actor_telegram_id, a.note)
            for a in await backend.reports.actions(report.id)] == [
        ("patient", 7, "[edited] bleeding")]
    # more urgent: a new message under the card (staff chat, on call) and its edit, due now
    claimed = await backend.alerts.claim_due(NOW, 10, LEASE, "w")
    assert [(a.kind, a.chat_id, a.card_kind) for a in claimed] == [
        ("raise", None, "edit"), ("card", ON_CALL, None), ("raise", ON_CALL, "edit"),
        ("update", None, None)]
    for alert in claimed:
        await backend.alerts.release(alert.id, "w", NOW)
    assert await backend.alerts.edited(7, 70, 5, "less", "urgent", NOW, (ON_CALL,)) == (
        report.id, "emergency")
    assert (await backend.reports.get(report.id)).urgency == "emergency"  # type: ignore[union-attr]
    assert await backend.alerts.owed() == 4  # less urgent: nothing new, still the one edit
    assert await backend.alerts.edited(7, 70, 6, "x", None, NOW) is None  # another message
    assert await backend.alerts.edited(9, 70, 5, "x", None, NOW) is None  # another user
    await backend.reports.resolve(report.id, STAFF, "ok")
    assert await backend.alerts.edited(7, 70, 5, "x", None, NOW) is None


async def test_on_call_chats_are_unreachable_until_a_card_gets_through(
        backend: Backend) -> None:
    assert await backend.alerts.unreachable() == []
    for user in (10, 11):
        await backend.reports.create(user, "triage", "a", urgency="emergency")
    for alert in await backend.alerts.claim_due(NOW, 10, LEASE, "w"):
        if alert.chat_id == ON_CALL:
            assert await backend.alerts.mark_failed(alert.id, "w", UNREACHABLE + "blocked",
                                                    NOW)
        else:
            assert await backend.alerts.mark_sent(alert.id, "w", STAFF_CHAT, alert.id, NOW)
    assert await backend.alerts.unreachable() == [(ON_CALL, 2)]
    await backend.reports.create(12, "triage", "a", urgency="emergency", now=NOW + MIN)
    await send_all(backend, NOW + MIN)
    assert await backend.alerts.unreachable() == []


async def test_an_erasure_owes_an_erased_edit_of_every_card_and_drops_the_rest(
        backend: Backend) -> None:
    report = await backend.reports.create(13, "triage", "a", urgency="emergency")
    await send_all(backend, NOW)
    await backend.alerts.repeat(report.id, "again", None, 13, NOW)  # an edit waiting
    assert await backend.patients.erase(13)
    erased = await backend.alerts.claim_due(NOW + MIN, 10, LEASE, "w")
    assert sorted((a.kind, a.report_id, a.chat_id, a.message_id, a.card_kind)
                  for a in erased) == [("erase", None, STAFF_CHAT, 1000, "card"),
                                       ("erase", None, ON_CALL, 1001, "card")]


async def test_a_card_delivered_as_its_patient_was_erased_is_owed_an_erased_edit(
        backend: Backend) -> None:
    """The interleaving, step by step: the sender claims the card, the patient erases
    themselves (the row goes with the report), Telegram answers, the sender records it."""
    report = await backend.reports.create(14, "triage", "words", urgency="emergency")
    claimed = await backend.alerts.claim_due(NOW, 10, LEASE, "w")
    assert await backend.patients.erase(14)
    assert await backend.alerts.claim_due(NOW, 10, LEASE, "w") == []  # nothing owed yet
    for number, alert in enumerate(claimed):
        chat = alert.chat_id if alert.chat_id is not None else STAFF_CHAT
        assert not await backend.alerts.mark_sent(alert.id, "w", chat, 1000 + number,
                                                  NOW + SEC, kind=alert.kind)
    assert await backend.reports.card(STAFF_CHAT, 1000) is None
    assert await backend.reports.get(report.id) is None
    erased = await backend.alerts.claim_due(NOW + MIN, 10, LEASE, "w")
    assert sorted((a.kind, a.report_id, a.chat_id, a.message_id, a.card_kind)
                  for a in erased) == [("erase", None, STAFF_CHAT, 1000, "card"),
                                       ("erase", None, ON_CALL, 1001, "card")]


async def test_a_duplicate_card_from_a_lost_claim_is_linked_and_erased_with_the_others(
        backend: Backend) -> None:
    """A sender whose lease ran out while Telegram took its card: another worker sent the
    card too. The duplicate is a card of the report all the same: a staff reply to it
    reaches the patient, and the patient's erasure owes it "[erased]" (it would otherwise
    keep the patient's words in the staff chat)."""
    report = await backend.reports.create(15, "triage", "words", urgency="urgent")
    (mine,) = await backend.alerts.claim_due(NOW, 10, LEASE, "slow")
    (theirs,) = await backend.alerts.claim_due(NOW + 2 * LEASE, 10, LEASE, "fast")
    assert theirs.id == mine.id
    assert await backend.alerts.mark_sent(theirs.id, "fast", STAFF_CHAT, 1001, NOW + 2 * LEASE,
                                          kind=theirs.kind)
    assert not await backend.alerts.mark_sent(mine.id, "slow", STAFF_CHAT, 1000,
                                              NOW + 2 * LEASE, kind=mine.kind)
    assert await backend.alerts.owed() == 0  # nothing owed now: no erasure, no re-send
    for message_id in (1000, 1001):
        card = await backend.reports.card(STAFF_CHAT, message_id)
        assert card is not None and (card.report_id, card.kind) == (report.id, "card")
    assert await backend.patients.erase(15)
    erased = await backend.alerts.claim_due(NOW + 3 * LEASE, 10, LEASE, "w")
    assert sorted((a.kind, a.chat_id, a.message_id) for a in erased) == [
        ("erase", STAFF_CHAT, 1000), ("erase", STAFF_CHAT, 1001)]


async def test_a_desk_card_sent_as_its_patient_was_erased_is_owed_an_erased_edit(
        backend: Backend) -> None:
    """The desk's own cards (a patient's message, a photo, a re-post sent by the staff
    handlers): the same, when the link is recorded after the erasure."""
    report = await backend.reports.create(16, "triage", "words", urgency="urgent")
    await send_all(backend, NOW)
    assert await backend.reports.card_sent(report.id, STAFF_CHAT, 1500, "message", NOW)
    assert await backend.patients.erase(16)
    assert not await backend.reports.card_sent(report.id, STAFF_CHAT, 1501, "photo", NOW)
    erased = await backend.alerts.claim_due(NOW + MIN, 10, LEASE, "w")
    assert sorted((a.kind, a.report_id, a.chat_id, a.message_id, a.card_kind)
                  for a in erased) == [("erase", None, STAFF_CHAT, 1000, "card"),
                                       ("erase", None, STAFF_CHAT, 1500, "message"),
                                       ("erase", None, STAFF_CHAT, 1501, "photo")]
