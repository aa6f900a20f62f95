"""On call outside opening hours, end to end (the real Application, the fake Bot API, an
injected clock).

Emergency and urgent cards raised while the clinic is closed reach each on-call staff member
directly (their private chat with the bot) through the alert outbox, with the same buttons,
exactly once, retried when Telegram fails; pressing them there works like in the staff chat
and every copy shows who took it. Re-posts follow the on-call list at night and the staff
chat by day; urgent cards wait in opening minutes, emergencies in wall-clock minutes. With
nobody on call, nothing is sent privately.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from knowledge.advisor import Advisor
from tests.bot_harness import (
    STAFF_CHAT,
    STAFF_USER,
    BotHarness,
    button_data,
    eventually,
    quiet,
    running_bot,
)
from tests.fake_telegram import FakeTelegram

LONDON = ZoneInfo("Europe/London")
NURSE, DOCTOR = 9001, 9002
URGENT = "there is yellow pus coming out of a spot"
EMERGENCY = "my lips and tongue are swelling and I can't breathe"
HOURS = {"AFTERCARE_OPENING_HOURS": "mon-fri 09:00-17:30; sat 10:00-14:00",
         "AFTERCARE_CLOSED_DATES": "2026-12-25,2026-12-26",
         "AFTERCARE_OUT_OF_HOURS_CONTACT": "NHS 111",
         "AFTERCARE_STAFF_IDS": f"{NURSE},{DOCTOR}",
         "AFTERCARE_ESCALATION_URGENT_MINUTES": "60",
         "AFTERCARE_ESCALATION_EMERGENCY_MINUTES": "15"}
SUNDAY_2AM = dt.datetime(2026, 11, 29, 2, 0, tzinfo=LONDON).astimezone(dt.UTC)
MONDAY_10AM = dt.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON).astimezone(dt.UTC)


async def started(fake: FakeTelegram, tmp_path: Path, advisor: Advisor, start: dt.datetime,
                  **extra: str) -> AsyncIterator[BotHarness]:
    async for harness in running_bot(fake, tmp_path, advisor, start=start,
                                     **{**HOURS, **extra}):
        yield harness


@pytest.fixture
async def night(fake_telegram: FakeTelegram, tmp_path: Path,
                advisor: Advisor) -> AsyncIterator[BotHarness]:
    async for harness in started(fake_telegram, tmp_path, advisor, SUNDAY_2AM,
                                 AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        yield harness


async def escalate(bot: BotHarness) -> None:
    assert bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name("staff-escalation")
    await job.run(bot.app)


async def recorded(bot: BotHarness, chat_id: int, message: dict[str, Any]) -> None:
    """Wait until the bot has linked `message` (in `chat_id`) to its report."""
    store = bot.app.bot_data.desk.store

    async def linked() -> bool:
        return await store.card(chat_id, message["message_id"]) is not None
    await eventually(linked)


async def card_for(bot: BotHarness, user_id: int, name: str,
                   *words: str) -> dict[str, Any]:
    """A patient `name` joins and writes `words` (one message each); returns the staff chat's
    card, once the bot has linked it to its report."""
    await bot.onboard(user_id, name)
    for text in words:
        await bot.say(user_id, text, first_name=name)
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    await recorded(bot, STAFF_CHAT, card)
    return card


async def staff_press(bot: BotHarness, user_id: int, chat_id: int, message: dict[str, Any],
                      data: str) -> str:
    """A staff button press on `message` in `chat_id`; returns the notice shown."""
    answered = len(bot.fake.calls("answerCallbackQuery"))
    bot.fake.callback_query(user_id, data, message["message_id"], chat_id=chat_id,
                            first_name="Doc" if user_id == DOCTOR else "Nurse")
    await bot.fake.wait_for(lambda: len(bot.fake.calls("answerCallbackQuery")) > answered)
    return str(bot.fake.calls("answerCallbackQuery")[answered].params.get("text", ""))


def edits(bot: BotHarness, chat_id: int) -> list[dict[str, Any]]:
    return [c.params for c in bot.fake.calls("editMessageText")
            if c.params.get("chat_id") == chat_id and c.status == 200]


async def test_a_night_card_reaches_the_on_call_doctor_with_working_buttons(
        night: BotHarness) -> None:
    bot = night
    await bot.onboard(501, "Zoe")
    (advice,) = await bot.say(501, URGENT, first_name="Zoe")
    assert "including to the team member on call" in advice["text"]
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    assert copy["text"] == card["text"] and "URGENT" in copy["text"]
    assert button_data(copy) == button_data(card)
    assert bot.fake.sent_messages(NURSE) == []  # only the on-call list
    await recorded(bot, DOCTOR, copy)
    await recorded(bot, STAFF_CHAT, card)
    report_id = int(button_data(copy)[0].split(":")[2])

    # Take in the private chat: the staff chat hears of it under its own card, the patient
    # is told, and the copy shows who has it
    group_before = len(bot.fake.sent_messages(STAFF_CHAT))
    notice = await staff_press(bot, DOCTOR, DOCTOR, copy, button_data(copy)[0])
    assert f"You took report #{report_id}" in notice
    (taken,) = (await bot.fake.wait_for_messages(STAFF_CHAT, group_before + 1))[group_before:]
    assert f"Report #{report_id} taken by Doc" in taken["text"]
    assert taken["reply_parameters"]["message_id"] == card["message_id"]
    await bot.fake.wait_for(lambda: any("is now looking at your report" in t
                                        for t in bot.texts(501)))
    await bot.fake.wait_for(lambda: any("Taken by Doc" in e["text"] for e in edits(bot, DOCTOR)))

    # Reply from the private chat: the prompt comes there, the answer reaches the patient
    notice = await staff_press(bot, DOCTOR, DOCTOR, copy, button_data(copy)[1])
    prompt = (await bot.fake.wait_for_messages(DOCTOR, 2))[1]
    assert "reply" in prompt["text"].lower()
    patient_before = len(bot.fake.sent_messages(501))
    before = len(bot.fake.sent_messages(DOCTOR))
    bot.fake.user_message(DOCTOR, "Please send a photo and keep it clean.", first_name="Doc")
    (sent,) = (await bot.fake.wait_for_messages(DOCTOR, before + 1))[before:]
    assert "sent" in sent["text"].lower()
    (answer,) = (await bot.fake.wait_for_messages(501, patient_before + 1))[patient_before:]
    assert "Please send a photo and keep it clean." in answer["text"]

    # a photo the patient sends at night reaches the on-call doctor too, under the copy
    before = len(bot.fake.sent_messages(DOCTOR))
    bot.fake.user_photo(501, first_name="Zoe")
    (photo,) = (await bot.fake.wait_for_messages(DOCTOR, before + 1))[before:]
    assert photo["method"] == "sendPhoto"
    assert photo["reply_parameters"]["message_id"] == copy["message_id"]

    # the copy was sent once, however many times the sender looked
    assert len([m for m in bot.fake.sent_messages(DOCTOR) if "URGENT" in m.get("text", "")]) == 1
    assert bot.fake.violations == []


async def test_more_words_at_night_reach_the_on_call_copy_too(night: BotHarness) -> None:
    """A patient writing again about the same open problem at night: the on-call doctor's
    copy is edited to show the count and the newest words (no second card)."""
    bot = night
    await bot.onboard(503, "Ivy")
    await bot.say(503, URGENT, first_name="Ivy")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await recorded(bot, DOCTOR, copy)
    await bot.say(503, "now the pus is spreading and my cheek is hot and swollen",
                  first_name="Ivy")
    await bot.fake.wait_for(lambda: any(
        e["message_id"] == copy["message_id"] and "my cheek is hot and swollen" in e["text"]
        for e in edits(bot, DOCTOR)))
    assert len(bot.fake.sent_messages(DOCTOR)) == 1  # the copy was edited, not repeated
    assert bot.fake.violations == []


async def test_night_reposts_follow_the_on_call_list_and_urgent_ones_count_open_minutes(
        night: BotHarness) -> None:
    bot = night
    (advice,) = await bot.say(502, EMERGENCY, first_name="Ben")
    # emergency advice is the same at any hour, on call or not: the advisor's words alone
    assert advice["text"] == bot.conversation.advisor.ask(EMERGENCY, None).answer
    (e_card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (e_copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await recorded(bot, DOCTOR, e_copy)
    await recorded(bot, STAFF_CHAT, e_card)
    await bot.say(503, URGENT, first_name="Cal")
    u_card = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1]
    u_copy = (await bot.fake.wait_for_messages(DOCTOR, 2))[1]
    await recorded(bot, DOCTOR, u_copy)
    await recorded(bot, STAFF_CHAT, u_card)

    # 16 minutes later the emergency (wall-clock) is re-posted to the doctor, not the group;
    # the urgent card has waited no opening time at all
    bot.clock.advance(minutes=16)
    await escalate(bot)
    (repost,) = (await bot.fake.wait_for_messages(DOCTOR, 3))[2:]
    assert "Not taken after 16 min" in repost["text"] and "EMERGENCY" in repost["text"]
    assert repost["reply_parameters"]["message_id"] == e_copy["message_id"]
    assert "tg://user" not in repost["text"]
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 2
    await recorded(bot, DOCTOR, repost)

    # hours later, still night: the urgent card is not re-posted (0 open minutes)
    bot.clock.advance(hours=5)  # 07:16 Sunday
    await escalate(bot)
    await bot.fake.wait_for_messages(DOCTOR, 4)  # the emergency again, to the doctor
    assert not any("URGENT" in m.get("text", "") for m in bot.fake.sent_messages(DOCTOR)[2:])

    # the doctor takes the emergency from the re-post: every copy shows it
    assert "You took" in await staff_press(bot, DOCTOR, DOCTOR, repost, button_data(repost)[0])
    await bot.fake.wait_for(lambda: len([e for e in edits(bot, DOCTOR)
                                         if "Taken by Doc" in e["text"]]) >= 2)
    # ... and the staff chat's "taken" notice (desk outbox) is out before the count below
    await bot.fake.wait_for(lambda: any("taken by Doc" in m.get("text", "")
                                        for m in bot.fake.sent_messages(STAFF_CHAT)))

    # Monday 10:01: one hour of opening time has passed: the urgent card is re-posted in the
    # staff chat with mentions, not to the (no longer on-call) doctor
    bot.clock.now = MONDAY_10AM + dt.timedelta(minutes=1)
    group_before = len(bot.fake.sent_messages(STAFF_CHAT))
    doctor_before = len(bot.fake.sent_messages(DOCTOR))
    await escalate(bot)
    (day_repost,) = (await bot.fake.wait_for_messages(STAFF_CHAT, group_before + 1))[
        group_before:]
    assert "URGENT: " in day_repost["text"] and f"tg://user?id={NURSE}" in day_repost["text"]
    assert len(bot.fake.sent_messages(DOCTOR)) == doctor_before
    assert bot.fake.violations == []


async def test_a_failed_private_card_is_retried_until_delivered_once(night: BotHarness) -> None:
    bot = night
    bot.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error",
                       chat_id=DOCTOR, times=2)
    await bot.say(504, EMERGENCY, first_name="Dee")
    await bot.fake.wait_for_messages(STAFF_CHAT, 1)

    def tried() -> int:
        return len([c for c in bot.fake.calls("sendMessage") if c.params.get("chat_id") == DOCTOR])

    await bot.fake.wait_for(lambda: tried() >= 1)
    alerts = bot.app.bot_data.checkins.alerts
    assert alerts is not None
    for _ in range(60):  # each failure is retried after its back-off on the injected clock
        if bot.fake.sent_messages(DOCTOR):
            break
        bot.clock.advance(seconds=10)
        alerts.wake()
        await asyncio.wait_for(alerts.passes.next(), 20)  # the sender looked again
        await bot.fake.settled()  # and what it sent is recorded
    await bot.fake.wait_for(lambda: bool(bot.fake.sent_messages(DOCTOR)))
    (copy,) = bot.fake.sent_messages(DOCTOR)
    assert "EMERGENCY" in copy["text"]
    await recorded(bot, DOCTOR, copy)
    bot.clock.advance(seconds=30)
    alerts.wake()
    await asyncio.wait_for(alerts.passes.next(), 20)  # the sender looked again ...
    await bot.say(505, "thanks")  # ... and a round trip later: still exactly one copy
    assert len(bot.fake.sent_messages(DOCTOR)) == 1


async def test_an_on_call_doctor_who_never_pressed_start_is_given_up_and_named(
        night: BotHarness, tmp_path: Path, advisor: Advisor) -> None:
    """Telegram refuses a private chat the staff member never opened (403 "bot can't
    initiate conversation with a user"): their copy is given up after one try instead of
    being retried for ever, the staff chat's card is unaffected, and /queue and the web
    desk's queue say who cannot be reached and what to do."""
    bot = night
    bot.fake.fail_next("sendMessage", error_code=403, chat_id=DOCTOR, times=1000,
                       description="Forbidden: bot can't initiate conversation with a user")
    await bot.onboard(506, "Eve")
    await bot.say(506, EMERGENCY, first_name="Eve")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert "EMERGENCY" in card["text"]

    def tried() -> int:
        return len([c for c in bot.fake.calls("sendMessage") if c.params.get("chat_id") == DOCTOR])

    await bot.fake.wait_for(lambda: tried() >= 1)
    alerts = bot.app.bot_data.checkins.alerts

    async def settled() -> bool:
        return await alerts.connector.owed() == 0
    await eventually(settled)
    for _ in range(5):  # past any back-off on the injected clock: nothing is tried again
        bot.clock.advance(minutes=5)
        alerts.wake()
        await asyncio.wait_for(alerts.passes.next(), 20)  # the sender looked again
        await bot.say(507, "thanks")  # a round trip
    assert tried() == 1 and bot.fake.sent_messages(DOCTOR) == []

    queue = await bot.app.bot_data.desk.views.queue_text()
    assert f"could not reach staff {DOCTOR} (Telegram id {DOCTOR})" in queue
    assert "press Start" in queue and "Alerts not yet delivered" not in queue

    from tests.web_harness import client, desk_services, sign_in
    async with desk_services(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", advisor,
                             bot.clock) as web, client(web) as http:
        await sign_in(http, STAFF_USER, bot.clock())
        page = (await http.get("/queue")).text
    assert f"Telegram id {DOCTOR}" in page and "press Start" in page

    # once they have pressed Start, the next night card reaches them and the line goes
    bot.fake.clear()  # Telegram writes to them now
    await bot.onboard(508, "Fay")
    await bot.say(508, URGENT, first_name="Fay")
    await bot.fake.wait_for_messages(DOCTOR, 1)

    async def gone() -> bool:
        return "could not reach" not in await bot.app.bot_data.desk.views.queue_text()
    await eventually(gone)


async def test_a_report_reopened_at_night_gets_a_new_card_on_call_too(
        night: BotHarness) -> None:
    bot = night
    await bot.onboard(509, "Gil")
    await bot.say(509, URGENT, first_name="Gil")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    report_id = int(button_data(card)[0].split(":")[2])

    def staff(text: str) -> None:
        bot.fake.user_message(NURSE, text, first_name="Nurse", chat_id=STAFF_CHAT,
                              chat_type="supergroup")

    def cards(chat_id: int) -> list[dict[str, Any]]:
        return [m for m in bot.fake.sent_messages(chat_id)
                if f"report #{report_id}" in m.get("text", "") and button_data(m)]

    staff(f"/resolve {report_id} seen, all fine")
    await bot.fake.wait_for(lambda: any("resolved by" in t for t in bot.texts(STAFF_CHAT)))
    staff(f"/reopen {report_id}")
    await bot.fake.wait_for(lambda: len(cards(STAFF_CHAT)) == 2)  # the fresh card
    await bot.fake.wait_for(lambda: len(cards(DOCTOR)) == 2)  # and the on-call copy
    fresh = cards(DOCTOR)[-1]
    assert fresh["message_id"] != copy["message_id"] and "URGENT" in fresh["text"]
    assert "Taken by Nurse" in fresh["text"]  # whoever reopened it has it
    await recorded(bot, DOCTOR, fresh)
    assert bot.fake.sent_messages(NURSE) == []  # only the on-call list


async def test_by_day_nothing_goes_to_the_on_call_doctor(fake_telegram: FakeTelegram,
                                                         tmp_path: Path,
                                                         advisor: Advisor) -> None:
    async for bot in started(fake_telegram, tmp_path, advisor, MONDAY_10AM,
                             AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        (advice,) = await bot.say(506, URGENT)
        assert "they are working now" in advice["text"]
        await bot.fake.wait_for_messages(STAFF_CHAT, 1)
        await bot.say(507, EMERGENCY)
        await bot.fake.wait_for_messages(STAFF_CHAT, 2)
        await bot.say(506, "thanks")
        assert bot.fake.sent_messages(DOCTOR) == []


async def test_with_nobody_on_call_nothing_is_sent_privately(fake_telegram: FakeTelegram,
                                                             tmp_path: Path,
                                                             advisor: Advisor) -> None:
    async for bot in started(fake_telegram, tmp_path, advisor, SUNDAY_2AM):
        (advice,) = await bot.say(508, URGENT)
        assert "The clinic is closed until Monday 30 November at 09:00" in advice["text"]
        assert "on call" not in advice["text"]
        await bot.say(509, EMERGENCY)
        for card in await bot.fake.wait_for_messages(STAFF_CHAT, 2):
            await recorded(bot, STAFF_CHAT, card)
        bot.clock.advance(minutes=20)
        await escalate(bot)
        await bot.fake.wait_for_messages(STAFF_CHAT, 3)  # the emergency re-post: the group
        patients = {508, 509, STAFF_CHAT}
        chats = {c.params.get("chat_id") for c in bot.fake.calls("sendMessage")}
        assert chats <= patients, chats
        assert bot.fake.sent_messages(NURSE) == [] and bot.fake.sent_messages(DOCTOR) == []


async def test_taken_and_resolved_in_the_staff_chat_every_copy_shows_it(
        night: BotHarness) -> None:
    bot = night
    await bot.say(510, EMERGENCY, first_name="Eve")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await recorded(bot, STAFF_CHAT, card)
    await recorded(bot, DOCTOR, copy)
    report_id = int(button_data(card)[0].split(":")[2])

    assert "You took" in await staff_press(bot, NURSE, STAFF_CHAT, card, button_data(card)[0])
    await bot.fake.wait_for(lambda: any(
        e["message_id"] == copy["message_id"] and "Taken by Nurse" in e["text"]
        and e.get("reply_markup") for e in edits(bot, DOCTOR)))

    before = len(bot.fake.sent_messages(STAFF_CHAT))
    bot.fake.user_message(NURSE, f"/resolve {report_id} called her, settled", first_name="Nurse",
                          chat_id=STAFF_CHAT, chat_type="supergroup")
    await bot.fake.wait_for_messages(STAFF_CHAT, before + 1)
    await bot.fake.wait_for(lambda: any(
        "Resolved by Nurse" in e["text"] and not (e.get("reply_markup") or {}).get(
            "inline_keyboard") for e in edits(bot, DOCTOR)))
    # the resolved report's buttons in the private chat change nothing any more
    notice = await staff_press(bot, DOCTOR, DOCTOR, copy, button_data(copy)[0])
    assert "resolved" in notice.lower()
    assert bot.fake.violations == []


async def test_a_stranger_pressing_a_card_button_in_a_private_chat_is_refused(
        night: BotHarness) -> None:
    bot = night
    await bot.say(511, URGENT, first_name="Fay")
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await recorded(bot, DOCTOR, copy)
    stranger = 4242
    notice = await staff_press(bot, stranger, stranger, copy, button_data(copy)[0])
    assert "staff" in notice.lower()
    report_id = int(button_data(copy)[0].split(":")[2])
    store = bot.app.bot_data.desk.store
    assert [a.action for a in await store.actions(report_id)] == ["refused"]
    report = await store.get(report_id)
    assert report is not None and report.status == "open"


# --- a patient's words added to an open report, at night ---------------------------------

FOLLOW_UP = "no one is here with me, what do I do"
ANSWER = "Stay where you are, I am calling you now."


def wrote(bot: BotHarness, chat_id: int, words: str) -> list[dict[str, Any]]:
    """The bot's messages in `chat_id` that pass on the patient's `words`."""
    return [m for m in bot.fake.sent_messages(chat_id) if f'"{words}"' in m.get("text", "")]


async def passed_on(bot: BotHarness, chat_id: int, words: str) -> dict[str, Any]:
    """Wait for the one message in `chat_id` that passes on the patient's `words`."""
    await bot.fake.wait_for(lambda: bool(wrote(bot, chat_id, words)))
    (message,) = wrote(bot, chat_id, words)
    return message


def forged_reply(bot: BotHarness, user_id: int, text: str, sent: dict[str, Any]) -> None:
    """`user_id` writes in their own private chat as if replying to `sent`, a message of
    another chat (no Telegram client can; a forged update can say so)."""
    replied = bot.fake.state.get_message(sent["chat_id"], sent["message_id"])
    assert replied is not None
    user = {"id": user_id, "is_bot": False, "first_name": "Nurse", "language_code": "en"}
    chat = {"id": user_id, "type": "private", "first_name": "Nurse"}
    bot.fake.state.remember_chat(chat)
    message = {"message_id": bot.fake.state.next_message_id(user_id), "from": user,
               "chat": chat, "date": replied["date"], "text": text,
               "reply_to_message": replied}
    bot.fake.state.store_message(message)
    bot.fake.push_update({"update_id": bot.fake.state.next_update_id(), "message": message})


async def test_a_follow_up_at_night_reaches_on_call_and_their_reply_only_that_patient(
        night: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    """While an urgent report is open at night the patient writes again ("no one is here
    with me"): the on-call doctor sees it in their private chat under their copy of the
    card, as the staff chat does; their reply to it there reaches that patient and nobody
    else; a reply to it from another chat (forged) or by a stranger reaches nobody. A red
    flag in the thread that follows makes the report an emergency: the doctor's copy shows
    it and the words reach them too. The patient's words are in no log line."""
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="storage")
    caplog.set_level(logging.DEBUG, logger="scheduler")
    bot = night
    await bot.onboard(520, "Hana")
    await bot.onboard(521, "Kim")
    await bot.say(520, URGENT, first_name="Hana")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await bot.say(521, URGENT, first_name="Kim")
    other_copy = (await bot.fake.wait_for_messages(DOCTOR, 2))[1]
    for chat_id, message in ((STAFF_CHAT, card), (DOCTOR, copy), (DOCTOR, other_copy)):
        await recorded(bot, chat_id, message)
    report_id = int(button_data(copy)[0].split(":")[2])

    (line,) = await bot.say(520, FOLLOW_UP, first_name="Hana")
    assert "is still open" in line["text"]
    shown = await passed_on(bot, DOCTOR, FOLLOW_UP)
    assert f"Hana (report #{report_id})" in shown["text"]
    assert shown["reply_parameters"]["message_id"] == copy["message_id"]
    assert (await passed_on(bot, STAFF_CHAT, FOLLOW_UP))["text"] == shown["text"]
    assert bot.fake.sent_messages(NURSE) == []  # only the on-call list
    await recorded(bot, DOCTOR, shown)

    # the doctor answers it in their private chat: that patient only
    hana, kim = len(bot.fake.sent_messages(520)), len(bot.fake.sent_messages(521))
    bot.fake.user_message(DOCTOR, ANSWER, first_name="Doc",
                          reply_to_message_id=shown["message_id"])
    await bot.fake.wait_for(lambda: any(ANSWER in t for t in bot.texts(520)[hana:]))
    await bot.fake.wait_for(lambda: any(f"Sent to Hana only (report #{report_id})" in t
                                        for t in bot.texts(DOCTOR)))
    store = bot.app.bot_data.desk.store

    async def replied() -> list[int]:
        return [a.actor_telegram_id for a in await store.actions(report_id)
                if a.action == "replied"]
    assert await replied() == [DOCTOR]
    hana = len(bot.fake.sent_messages(520))

    # the same reply from another chat (forged: staff, but not where it was sent), or from
    # a stranger, reaches nobody
    forged_reply(bot, NURSE, "forged answer", shown)
    forged_reply(bot, 4242, "stranger's answer", shown)
    await quiet(bot.app, bot.fake)
    assert len(bot.fake.sent_messages(520)) == hana
    assert len(bot.fake.sent_messages(521)) == kim
    assert not any("Sent to" in t for t in bot.texts(NURSE) + bot.texts(4242))
    assert await replied() == [DOCTOR]

    # the thread goes on: a red flag in it makes the report an emergency; the doctor's copy
    # is edited to show it, and the words reach them under it in the loud raise message
    worse = "my lips and tongue are swelling now and I can't breathe"
    (advice,) = await bot.say(520, worse, first_name="Hana")
    assert "emergency" in advice["text"].lower()
    await bot.fake.wait_for(lambda: any(
        e["message_id"] == copy["message_id"] and "EMERGENCY" in e["text"]
        for e in edits(bot, DOCTOR)))
    raised = await passed_on(bot, DOCTOR, worse)
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — 💬 Hana (report #{report_id})")
    assert raised["reply_parameters"]["message_id"] == copy["message_id"]
    assert not any(e["message_id"] == other_copy["message_id"] for e in edits(bot, DOCTOR))

    # by day the thread is the staff chat's alone again
    bot.clock.now = MONDAY_10AM
    doctor = len(bot.fake.sent_messages(DOCTOR))
    morning = "thank you, I am feeling better this morning"
    await bot.say(520, morning, first_name="Hana")
    await passed_on(bot, STAFF_CHAT, morning)
    await quiet(bot.app, bot.fake)
    assert len(bot.fake.sent_messages(DOCTOR)) == doctor
    for words in (FOLLOW_UP, worse, morning, ANSWER):
        assert words not in caplog.text
    assert bot.fake.violations == []


async def test_by_day_a_follow_up_reaches_the_staff_chat_only(fake_telegram: FakeTelegram,
                                                              tmp_path: Path,
                                                              advisor: Advisor) -> None:
    async for bot in started(fake_telegram, tmp_path, advisor, MONDAY_10AM,
                             AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        card = await card_for(bot, 522, "Lea", EMERGENCY)
        (line,) = await bot.say(522, FOLLOW_UP, first_name="Lea")
        assert "call it now" in line["text"]
        shown = await passed_on(bot, STAFF_CHAT, FOLLOW_UP)
        assert shown["reply_parameters"]["message_id"] == card["message_id"]
        await quiet(bot.app, bot.fake)
        assert bot.fake.sent_messages(DOCTOR) == [] and bot.fake.sent_messages(NURSE) == []


async def test_whoever_is_no_longer_on_call_gets_no_follow_up(fake_telegram: FakeTelegram,
                                                              tmp_path: Path,
                                                              advisor: Advisor) -> None:
    """The on-call list is read for each follow-up: the doctor who held the copy is taken
    off it (the bot restarted with another list) and gets nothing more; the nurse now on
    call gets the follow-up of the urgent report, though she holds no copy of its card."""
    async for bot in started(fake_telegram, tmp_path, advisor, SUNDAY_2AM,
                             AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        await bot.onboard(523, "Mia")
        await bot.say(523, URGENT, first_name="Mia")
        (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
        await recorded(bot, DOCTOR, copy)
    async for bot in started(fake_telegram, tmp_path, advisor,
                             SUNDAY_2AM + dt.timedelta(minutes=30),
                             AFTERCARE_ONCALL_IDS=str(NURSE)):
        await bot.say(523, FOLLOW_UP, first_name="Mia")
        shown = await passed_on(bot, NURSE, FOLLOW_UP)
        assert "reply_parameters" not in shown  # no copy of hers to go under
        await quiet(bot.app, bot.fake)
        assert bot.fake.sent_messages(DOCTOR) == [copy]


async def test_a_check_in_problem_described_at_night_reaches_the_on_call_doctor(
        night: BotHarness) -> None:
    """A "Something's wrong" check-in answered in the evening, then described with a red
    flag: the report becomes urgent, and the on-call doctor, who held no card of it (it was
    not urgent when raised), gets the card and, under it, the raise with the patient's words,
    and can answer them from there."""
    bot = night
    await bot.onboard(524, "Noa")
    (picker,) = await bot.say(524, "/session", first_name="Noa")
    await bot.press(524, picker, "session:today", first_name="Noa")  # Sunday
    before = len(bot.fake.sent_messages(524))
    bot.clock.now = dt.datetime(2026, 11, 30, 19, 45, tzinfo=LONDON).astimezone(dt.UTC)
    await bot.app.bot_data.checkins.service.tick()  # Monday evening: closed since 17:30
    (day1,) = await bot.replies_after(524, before, 1)
    labels = [b["text"] for row in day1["reply_markup"]["inline_keyboard"] for b in row]
    await bot.press(524, day1, button_data(day1)[labels.index("Something's wrong")],
                    first_name="Noa")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    report_id = int(card["text"].split("report #")[1].split()[0])
    words = "there is yellow pus on my cheek"
    await bot.say(524, words, n=2, first_name="Noa")
    copy, shown = await bot.fake.wait_for_messages(DOCTOR, 2)
    assert copy["text"].startswith("URGENT: Noa") and button_data(copy)
    assert shown["text"].startswith(f"⬆️ Now URGENT — 💬 Noa (report #{report_id})")
    assert shown["reply_parameters"]["message_id"] == copy["message_id"]
    await recorded(bot, DOCTOR, shown)
    before = len(bot.fake.sent_messages(524))
    bot.fake.user_message(DOCTOR, ANSWER, first_name="Doc",
                          reply_to_message_id=shown["message_id"])
    await bot.fake.wait_for(lambda: any(ANSWER in t for t in bot.texts(524)[before:]))
    assert bot.fake.sent_messages(NURSE) == []


# --- a report whose urgency rises: a loud message, not only an edit ---------------------------
HOT_FACE = "my face is really hot and red and it hurts loads"  # urgent
SORE_CHEEK = "my cheek is a bit sore since this morning"  # a /report: no red flag
TINGLY_LIPS = "my lips feel tingly and a bit puffy"  # emergency


@pytest.fixture
async def day(fake_telegram: FakeTelegram, tmp_path: Path,
              advisor: Advisor) -> AsyncIterator[BotHarness]:
    async for harness in started(fake_telegram, tmp_path, advisor, MONDAY_10AM,
                                 AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        yield harness


async def sender_looks(bot: BotHarness, seconds: float = 11) -> None:
    """Move the bot's clock past the card edit's coalescing wait and let the alert sender
    make a whole pass, its sends recorded."""
    alerts = bot.app.bot_data.checkins.alerts
    assert alerts is not None
    bot.clock.advance(seconds=seconds)
    alerts.wake()
    await asyncio.wait_for(alerts.passes.next(), 20)
    await bot.fake.settled()


async def card_shows(bot: BotHarness, chat_id: int, card: dict[str, Any], words: str) -> str:
    """Wait until `card` in `chat_id` was edited to show `words`; its text now."""
    async def shown() -> bool:
        await sender_looks(bot)
        now = bot.fake.state.get_message(chat_id, card["message_id"]) or {}
        return words in (now.get("text") or "")
    await eventually(shown)
    return str((bot.fake.state.get_message(chat_id, card["message_id"]) or {})["text"])


def report_of(card: dict[str, Any]) -> int:
    return int(button_data(card)[0].split(":")[2])


async def test_an_urgent_report_that_becomes_an_emergency_alerts_the_staff_chat_again(
        day: BotHarness) -> None:
    bot = day
    await bot.onboard(520, "Ben")
    await bot.say(520, HOT_FACE, first_name="Ben")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert card["text"].startswith("URGENT: Ben")
    await recorded(bot, STAFF_CHAT, card)
    report_id = report_of(card)

    (advice,) = await bot.say(520, TINGLY_LIPS, first_name="Ben")
    assert advice["text"] == bot.conversation.advisor.ask(TINGLY_LIPS, None).answer  # unchanged
    # a new message (Telegram notifies for it; an edit notifies nobody), under the card
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — report #{report_id}")
    assert TINGLY_LIPS in raised["text"]
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    assert f"tg://user?id={NURSE}" in raised["text"] and f"tg://user?id={DOCTOR}" in raised["text"]
    await recorded(bot, STAFF_CHAT, raised)  # linked: erased with the report, a reply reaches her
    # ... and the card itself now says EMERGENCY
    shown = await card_shows(bot, STAFF_CHAT, card, TINGLY_LIPS)
    assert shown.startswith("EMERGENCY: Ben")
    assert bot.fake.sent_messages(DOCTOR) == []  # by day nobody is on call
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 2

    # the next worried red flag at the same tier is threaded in quietly: an edit only
    await bot.say(520, "my lips are getting more swollen now", first_name="Ben")
    await card_shows(bot, STAFF_CHAT, card, "more swollen now")
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 2
    assert bot.fake.violations == []


async def test_a_same_tier_repeat_is_only_an_edit_of_the_card(day: BotHarness) -> None:
    bot = day
    card = await card_for(bot, 521, "Cal", URGENT)
    await bot.say(521, HOT_FACE, first_name="Cal")  # urgent again
    shown = await card_shows(bot, STAFF_CHAT, card, HOT_FACE)
    assert shown.startswith("URGENT: Cal")
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 1  # no flood of new messages
    assert bot.fake.violations == []


async def test_at_night_the_raise_reaches_the_on_call_doctor_under_their_copy(
        night: BotHarness) -> None:
    bot = night
    await bot.onboard(522, "Dee")
    await bot.say(522, HOT_FACE, first_name="Dee")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)
    await recorded(bot, STAFF_CHAT, card)
    await recorded(bot, DOCTOR, copy)
    report_id = report_of(card)

    await bot.say(522, TINGLY_LIPS, first_name="Dee")
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — report #{report_id}")
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    (private,) = (await bot.fake.wait_for_messages(DOCTOR, 2))[1:]
    assert private["text"].startswith(f"⬆️ Now EMERGENCY — report #{report_id}")
    assert TINGLY_LIPS in private["text"]
    assert private["reply_parameters"]["message_id"] == copy["message_id"]
    await bot.fake.wait_for(lambda: any(
        e["message_id"] == copy["message_id"] and e["text"].startswith("EMERGENCY: Dee")
        for e in edits(bot, DOCTOR)))  # the copy shows the new tier too
    assert bot.fake.sent_messages(NURSE) == []  # only the on-call list
    assert bot.fake.violations == []


async def test_a_taken_report_that_becomes_an_emergency_stays_taken_and_pings_its_taker(
        day: BotHarness) -> None:
    bot = day
    card = await card_for(bot, 523, "Eve", HOT_FACE)
    report_id = report_of(card)
    assert "You took" in await staff_press(bot, DOCTOR, STAFF_CHAT, card, button_data(card)[0])
    await bot.fake.wait_for(lambda: any("taken by Doc" in t for t in bot.texts(STAFF_CHAT)))
    before = len(bot.fake.sent_messages(STAFF_CHAT))

    await bot.say(523, TINGLY_LIPS, first_name="Eve")
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, before + 1))[before:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — report #{report_id}")
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    assert f'<a href="tg://user?id={DOCTOR}">Doc</a> has it' in raised["text"]
    report = await bot.app.bot_data.desk.store.get(report_id)
    assert report is not None and report.status == "taken" and report.taken_by == DOCTOR
    assert report.urgency == "emergency"
    assert bot.fake.violations == []


async def test_after_a_raise_the_re_post_waits_the_emergency_minutes_from_the_raise(
        day: BotHarness) -> None:
    bot = day
    await bot.onboard(524, "Fay")
    await bot.say(524, HOT_FACE, first_name="Fay")  # 10:00, urgent: 60 opening minutes
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    await recorded(bot, STAFF_CHAT, card)
    bot.clock.advance(minutes=5)
    await bot.say(524, TINGLY_LIPS, first_name="Fay")  # 10:05: now an emergency (15 min)
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    await recorded(bot, STAFF_CHAT, raised)

    bot.clock.now = MONDAY_10AM + dt.timedelta(minutes=19)  # the card 19 min, the raise 14
    await escalate(bot)
    await bot.say(525, "thanks")  # a round trip: anything owed has had its chance
    await sender_looks(bot, seconds=0)
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 2  # the raise just alerted everyone

    bot.clock.now = MONDAY_10AM + dt.timedelta(minutes=21)  # 16 min after the raise
    await escalate(bot)
    (repost,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 3))[2:]
    assert "Not taken after" in repost["text"] and "EMERGENCY: Fay" in repost["text"]
    assert f"tg://user?id={NURSE}" in repost["text"]
    assert bot.fake.violations == []


async def test_a_day_card_risen_at_night_reaches_on_call_with_the_card_itself(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor) -> None:
    """Raised by day (no on-call copy), risen after closing: the on-call doctor is sent the
    card first (its buttons work there), then the new message under it."""
    closing = dt.datetime(2026, 11, 30, 17, 20, tzinfo=LONDON).astimezone(dt.UTC)
    async for bot in started(fake_telegram, tmp_path, advisor, closing,
                             AFTERCARE_ONCALL_IDS=str(DOCTOR)):
        card = await card_for(bot, 526, "Gus", HOT_FACE)
        bot.clock.advance(minutes=20)  # 17:40: closed, the doctor is on call
        await bot.say(526, TINGLY_LIPS, first_name="Gus")
        (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
        assert raised["reply_parameters"]["message_id"] == card["message_id"]
        copy, private = await bot.fake.wait_for_messages(DOCTOR, 2)
        assert copy["text"].startswith("EMERGENCY: Gus")
        assert button_data(copy) == button_data(card)
        assert private["text"].startswith(f"⬆️ Now EMERGENCY — report #{report_of(card)}")
        assert private["reply_parameters"]["message_id"] == copy["message_id"]
        await recorded(bot, DOCTOR, copy)
        assert "You took" in await staff_press(bot, DOCTOR, DOCTOR, copy, button_data(copy)[0])
        assert bot.fake.violations == []


# --- a red flag written inside a report that is already a thread raises it the same way -------
def since(bot: BotHarness, chat_id: int, before: int) -> list[dict[str, Any]]:
    return bot.fake.sent_messages(chat_id)[before:]


async def test_a_red_flag_in_the_staff_thread_raises_the_report_like_a_repeat(
        day: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    """An urgent report the doctor took and answered; the patient answers in that thread
    with an emergency sign. Staff get one loud message under the card (her words, the tier,
    everyone mentioned, the taker named), not a second "💬" line; the card says EMERGENCY;
    the report stays the doctor's; the patient is answered as before. Her words are in no
    log line."""
    for logger in ("bot", "storage", "scheduler"):
        caplog.set_level(logging.DEBUG, logger=logger)
    bot = day
    card = await card_for(bot, 530, "Ida", HOT_FACE)
    report_id = report_of(card)
    assert "You took" in await staff_press(bot, DOCTOR, STAFF_CHAT, card, button_data(card)[0])
    before = len(bot.fake.sent_messages(530))
    bot.fake.user_message(DOCTOR, ANSWER, first_name="Doc", chat_id=STAFF_CHAT,
                          chat_type="supergroup", reply_to_message_id=card["message_id"])
    await bot.fake.wait_for(lambda: any(ANSWER in t for t in bot.texts(530)[before:]))
    await bot.fake.wait_for(lambda: any("Sent to Ida only" in t for t in bot.texts(STAFF_CHAT)))
    await quiet(bot.app, bot.fake)
    staff = len(bot.fake.sent_messages(STAFF_CHAT))

    (advice,) = await bot.say(530, TINGLY_LIPS, first_name="Ida")
    assert advice["text"] == bot.conversation.advisor.ask(TINGLY_LIPS, None).answer
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, staff + 1))[staff:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — 💬 Ida (report #{report_id})")
    assert f'"{TINGLY_LIPS}"' in raised["text"]
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    assert f"tg://user?id={NURSE}" in raised["text"] and f"tg://user?id={DOCTOR}" in raised["text"]
    assert f'<a href="tg://user?id={DOCTOR}">Doc</a> has it' in raised["text"]
    await card_shows(bot, STAFF_CHAT, card, "EMERGENCY: Ida")
    await quiet(bot.app, bot.fake)
    assert len(since(bot, STAFF_CHAT, staff)) == 1  # one message for one message
    report = await bot.app.bot_data.desk.store.get(report_id)
    assert report is not None and (report.status, report.taken_by) == ("taken", DOCTOR)
    assert report.urgency == "emergency"

    # a reply to the raise reaches that patient, as a reply to the card does
    await recorded(bot, STAFF_CHAT, raised)
    before = len(bot.fake.sent_messages(530))
    bot.fake.user_message(DOCTOR, "Call 999 now, I am calling you too.", first_name="Doc",
                          chat_id=STAFF_CHAT, chat_type="supergroup",
                          reply_to_message_id=raised["message_id"])
    await bot.fake.wait_for(lambda: any("Call 999 now" in t for t in bot.texts(530)[before:]))
    assert TINGLY_LIPS not in caplog.text
    assert bot.fake.violations == []


async def test_report_details_that_raise_it_restart_the_re_post_wait(day: BotHarness) -> None:
    """/report "a bit sore" (no urgency) at 10:00, then the details at 10:05 name an
    emergency sign: staff are alerted (mentions) under the card and the card says
    EMERGENCY; the next re-post waits the emergency's 15 minutes from 10:05, not from the
    report."""
    bot = day
    card = await card_for(bot, 531, "Jo", "/report", SORE_CHEEK)
    report_id = report_of(card)
    bot.clock.advance(minutes=5)
    await bot.say(531, TINGLY_LIPS, first_name="Jo")
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — 💬 Jo (report #{report_id})")
    assert f"tg://user?id={NURSE}" in raised["text"]
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    await recorded(bot, STAFF_CHAT, raised)
    assert (await card_shows(bot, STAFF_CHAT, card, "EMERGENCY")).startswith("EMERGENCY: Jo")

    bot.clock.now = MONDAY_10AM + dt.timedelta(minutes=19)  # the report 19 min, the raise 14
    await escalate(bot)
    await bot.say(532, "thanks")  # a round trip: anything owed has had its chance
    await sender_looks(bot, seconds=0)
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == 2

    bot.clock.now = MONDAY_10AM + dt.timedelta(minutes=21)  # 16 min after the raise
    await escalate(bot)
    (repost,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 3))[2:]
    assert "Not taken after" in repost["text"] and "EMERGENCY: Jo" in repost["text"]
    assert bot.fake.violations == []


async def test_a_thread_raise_is_retried_until_telegram_takes_it(day: BotHarness) -> None:
    """Telegram fails the loud message twice: it is owed in the alert outbox and retried,
    delivered once."""
    bot = day
    await card_for(bot, 533, "Kit", "/report", SORE_CHEEK)
    bot.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error",
                       chat_id=STAFF_CHAT, times=2)
    await bot.say(533, TINGLY_LIPS, first_name="Kit")

    def raises() -> list[dict[str, Any]]:
        return [m for m in bot.fake.sent_messages(STAFF_CHAT) if TINGLY_LIPS in m["text"]]

    for _ in range(60):  # each failure is retried after its back-off on the injected clock
        if raises():
            break
        await sender_looks(bot, seconds=10)
    (raised,) = raises()
    assert raised["text"].startswith("⬆️ Now EMERGENCY")
    await sender_looks(bot, seconds=30)
    await bot.say(534, "thanks")
    assert len(raises()) == 1
    assert bot.fake.violations == []


async def test_a_check_in_description_that_raises_it_at_night_reaches_on_call_as_a_raise(
        night: BotHarness) -> None:
    """A "Something's wrong" check-in answered at night (no urgency, no on-call copy), then
    described with an emergency sign: the on-call doctor gets the card (its buttons) and the
    loud message with the words under it; the staff chat gets the message under its card."""
    bot = night
    await bot.onboard(535, "Lou")
    (picker,) = await bot.say(535, "/session", first_name="Lou")
    await bot.press(535, picker, "session:today", first_name="Lou")
    before = len(bot.fake.sent_messages(535))
    bot.clock.now = dt.datetime(2026, 11, 30, 19, 45, tzinfo=LONDON).astimezone(dt.UTC)
    await bot.app.bot_data.checkins.service.tick()
    (day1,) = await bot.replies_after(535, before, 1)
    labels = [b["text"] for row in day1["reply_markup"]["inline_keyboard"] for b in row]
    await bot.press(535, day1, button_data(day1)[labels.index("Something's wrong")],
                    first_name="Lou")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    await recorded(bot, STAFF_CHAT, card)
    report_id = int(card["text"].split("report #")[1].split()[0])
    await bot.say(535, TINGLY_LIPS, n=2, first_name="Lou")
    copy, private = await bot.fake.wait_for_messages(DOCTOR, 2)
    assert copy["text"].startswith("EMERGENCY: Lou") and button_data(copy)
    assert private["text"].startswith(f"⬆️ Now EMERGENCY — 💬 Lou (report #{report_id})")
    assert f'"{TINGLY_LIPS}"' in private["text"]
    assert private["reply_parameters"]["message_id"] == copy["message_id"]
    (raised,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    assert raised["text"].startswith(f"⬆️ Now EMERGENCY — 💬 Lou (report #{report_id})")
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    await quiet(bot.app, bot.fake)
    assert len(bot.fake.sent_messages(DOCTOR)) == 2 and len(bot.fake.sent_messages(STAFF_CHAT)) == 2
    assert bot.fake.sent_messages(NURSE) == []
    assert bot.fake.violations == []
