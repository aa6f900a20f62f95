"""The open red flag and the stated treatment date through the real Application and the fake
Bot API, on SQLite and PostgreSQL (tests/test_open_alert.py checks the rules in memory): after
an emergency, "ok" gets the safety line and reaches the staff chat under the card until staff
resolve the report; "I had my treatment yesterday" is offered for logging and logged with one
press."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from knowledge.advisor import Advisor
from storage.clock import ManualClock
from storage.models import ReportAction
from tests.bot_harness import STAFF_CHAT, START, BotHarness, button_data, running_app
from tests.fake_telegram import FakeTelegram

NURSE = 9001


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, database_url: str,
              advisor: Advisor) -> AsyncIterator[BotHarness]:
    clock = ManualClock(START)
    async with running_app(fake_telegram, database_url, advisor, clock, NURSE) as app:
        yield BotHarness(fake_telegram, app, clock)


async def test_after_an_emergency_ok_keeps_the_safety_line_until_resolved(
        bot: BotHarness) -> None:
    await bot.onboard(501)
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (advice,) = await bot.say(501, "my lips have blown up")
    assert "Call the emergency number now" in advice["text"]
    (card,) = (await bot.fake.wait_for_messages(STAFF_CHAT, staff_before + 1))[staff_before:]
    store = bot.app.bot_data.desk.store
    report = await store.latest_open(501)
    assert report is not None and report.urgency == "emergency"

    (line,) = await bot.say(501, "ok")
    assert "still open" in line["text"] and "call it now" in line["text"]
    assert "👍" not in line["text"]
    staff = await bot.fake.wait_for_messages(STAFF_CHAT, staff_before + 2)
    assert '"ok"' in staff[-1]["text"]
    assert staff[-1].get("reply_to_message_id") == card["message_id"] or \
        (staff[-1].get("reply_parameters") or {}).get("message_id") == card["message_id"]
    notes = [a.note for a in await store.actions(report.id)
             if a.action == ReportAction.PATIENT.value]
    assert notes == ["ok"]

    await store.resolve(report.id, NURSE, "spoke to her")
    (normal,) = await bot.say(501, "ok")
    assert "still open" not in normal["text"]


async def test_a_stated_treatment_date_is_offered_and_logged(bot: BotHarness) -> None:
    await bot.onboard(502)
    answer, offer = await bot.say(502, "I had my treatment yesterday", n=2)
    yesterday = START.date() - dt.timedelta(days=1)
    assert "Shall I note it as" in offer["text"]
    assert "sd:0" in button_data(offer) and "session:other" in button_data(offer)
    (logged,) = await bot.press(502, offer, "sd:0")
    assert f"treatment on {yesterday.isoformat()}" in logged["text"]
    sessions = await bot.repo.treatments.of_patient(
        (await bot.repo.patients.get(502)).id, include_cancelled=False)  # type: ignore[union-attr]
    assert [s.session_date for s in sessions] == [yesterday]
    (again,) = await bot.say(502, "I had my treatment yesterday")
    assert "Shall I note" not in again["text"]


async def test_the_emergency_line_holds_over_a_question_in_its_language_and_over_its_sign(
        bot: BotHarness) -> None:
    """A question passed to the clinic after the emergency does not end its safety line; a
    short "ok" gets it in the language of the alert; "how long will the swelling last?" after
    lip swelling gets the line, not the normal swelling answer; paracetamol is answered."""
    await bot.onboard(503)
    (asked,) = await bot.say(503, "can I dye my hair next week?")
    assert "handoff" in button_data(asked)
    (advice,) = await bot.say(503, "ma lèvre est très gonflée et j'ai du mal à respirer")
    assert "999" in advice["text"] or "112" in advice["text"]
    store = bot.app.bot_data.desk.store
    emergency = await store.latest_open(503)
    assert emergency is not None and emergency.urgency == "emergency"
    bot.clock.now = START + dt.timedelta(minutes=5)
    await bot.press(503, asked, "handoff")  # "ask the clinic": the newest open report
    question = await store.latest_open(503)
    assert question is not None and question.id != emergency.id

    (line,) = await bot.say(503, "ok")
    assert "toujours ouvert" in line["text"] and "still open" not in line["text"]
    (line,) = await bot.say(503, "how long will the swelling last?")
    assert "still open" in line["text"] and "call it now" in line["text"]
    answer, reminder = await bot.say(503, "can I take paracetamol?", n=2)
    assert "paracetamol" in answer["text"].lower() and "still open" in reminder["text"]
    notes = [a.note for a in await store.actions(emergency.id)
             if a.action == ReportAction.PATIENT.value]
    assert notes == ["ok", "how long will the swelling last?"]
    assert [a.note for a in await store.actions(question.id)
            if a.action == ReportAction.PATIENT.value] == []


async def test_the_offer_keeps_its_buttons_while_the_patient_asks_something_else(
        bot: BotHarness) -> None:
    await bot.onboard(504)
    await bot.say(504, "I had my treatment yesterday", n=2)
    replies = await bot.say(504, "can I wear makeup?")
    assert "sd:0" in button_data(replies[-1]) and "session:other" in button_data(replies[-1])
    (logged,) = await bot.press(504, replies[-1], "sd:0")
    yesterday = START.date() - dt.timedelta(days=1)
    assert f"treatment on {yesterday.isoformat()}" in logged["text"]


async def test_a_later_red_flag_restarts_the_window_in_the_database(bot: BotHarness) -> None:
    """An urgent report made an emergency ten hours later gets the emergency's line for the
    emergency's own window (it counts from the newest red flag, stored on the report)."""
    await bot.onboard(505)
    await bot.say(505, "there is yellow pus coming out of a spot")
    bot.clock.now = START + dt.timedelta(hours=10)
    (advice,) = await bot.say(505, "my lips have blown up")
    assert "Call the emergency number now" in advice["text"]
    report = await bot.app.bot_data.desk.store.latest_open(505)
    assert report is not None and report.urgency == "emergency"
    assert report.alerted == START + dt.timedelta(hours=10)
    bot.clock.now = START + dt.timedelta(hours=15)
    (line,) = await bot.say(505, "ok")
    assert "still open" in line["text"] and "call it now" in line["text"]
