"""What patients are promised and staff are told holds (issue 14, point 6).

The real Application against the fake Bot API, on SQLite and PostgreSQL, with the clock the
test moves:
* a patient invited by the clinic who presses "No thanks" gets no check-in afterwards (days
  of them, clock advanced), an old check-in button they press is answered but not stored,
  and their messages are not stored;
* /delete of someone who never agreed forgets the question kept in memory for "ask the
  clinic"; /delete of a patient with a report leaves no photo, staff reply or staff answer
  pending about them, and every staff-chat message naming them (the card, their photo,
  "Sent to ...", the Reply prompt) says "[erased at the patient's request]";
* /invite and /addsession refusals (not staff, bad arguments) are audited;
* a staff photo whose caption would pass Telegram's 1,024 characters reaches the patient
  whole (the photo, then the text), and staff are told so; "Sent" and the "replied" audit
  come only once Telegram took the answer, a blocked patient is reported to staff as "Not
  delivered", and a Telegram error (500) is retried until the answer arrives, once;
* an edit of the message that raised a report updates that report and its card;
* "²" and other digits int() cannot read, in session buttons, are refused, never raised;
  NUL characters (PostgreSQL refuses them) are dropped from everything stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from knowledge.advisor import Advisor
from storage.clock import ManualClock
from storage.models import ChatState, CheckIn, Message, Report, ReportActionRow, ReportPhoto
from tests.bot_harness import (
    START,
    button_data,
    button_labels,
    eventually,
    quiet,
    running_app,
)
from tests.fake_telegram import FakeTelegram
from tests.stores import Stores

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
NURSE = 9001
ERASED = "[erased at the patient's request]"
HOUR = dt.timedelta(hours=1)


class Bot:
    """The running bot seen from patients' chats and the staff chat."""

    def __init__(self, fake: FakeTelegram, app: Any, clock: ManualClock) -> None:
        self.fake, self.app, self.clock = fake, app, clock
        self.repo = Stores.of(app.bot_data)
        self.store = app.bot_data.desk.store

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id)

    async def new(self, chat_id: int, before: int, n: int = 1) -> list[dict[str, Any]]:
        return (await self.fake.wait_for_messages(chat_id, before + n, 15.0))[before:]

    async def say(self, user_id: int, text: str, n: int = 1) -> list[dict[str, Any]]:
        before = len(self.sent(user_id))
        self.fake.user_message(user_id, text, first_name="Ana")
        return await self.new(user_id, before, n)

    async def press(self, user_id: int, message: dict[str, Any], data: str,
                    n: int = 1) -> list[dict[str, Any]]:
        before = len(self.sent(user_id))
        self.fake.callback_query(user_id, data, message["message_id"], first_name="Ana")
        return await self.new(user_id, before, n)

    async def staff(self, text: str, user_id: int = NURSE, chat_id: int = STAFF_CHAT,
                    reply_to: int | None = None, n: int = 1) -> list[dict[str, Any]]:
        before = len(self.sent(chat_id))
        self.fake.user_message(user_id, text, first_name="Nurse", chat_id=chat_id,
                               chat_type="supergroup" if chat_id < 0 else "private",
                               reply_to_message_id=reply_to)
        return await self.new(chat_id, before, n) if n else []

    async def settled(self) -> None:
        """Every update handled and every owed alert delivered."""
        async def idle() -> bool:
            return (self.app.update_queue.empty()
                    and await self.app.bot_data.checkins.alerts.connector.owed() == 0)
        await eventually(idle, timeout=15)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.store.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, database_url: str,
              advisor: Advisor) -> AsyncIterator[Bot]:
    clock = ManualClock(START)
    async with running_app(fake_telegram, database_url, advisor, clock, NURSE,
                           AFTERCARE_BOT_USERNAME="aftercare_test_bot") as app:
        yield Bot(fake_telegram, app, clock)


async def checkins_until(bot: Bot, user_id: int, until: dt.datetime) -> list[dict[str, Any]]:
    """Move the clock to `until`, running the dispatcher at each moment a pending check-in
    falls due on the way (hour by hour while one is due but not sent); the check-in messages
    `user_id` received meanwhile. Every pending check-in is given its due time, inside its
    delivery window, as stepping hour by hour gave it, without the hundreds of idle ticks."""
    before = len(bot.sent(user_id))
    service = bot.app.bot_data.checkins.service
    while bot.clock() < until:
        now, due = bot.clock(), await service.connector.next_due()
        step = until - now if due is None else due - now if due > now else HOUR
        bot.clock.advance(min(step, until - now))
        await service.tick()
    # one more tick waits for a tick the JobQueue may have started meanwhile (one at a time)
    # and sends what is due; a tick returns only once its sends were answered
    await bot.app.bot_data.checkins.service.tick()
    await bot.fake.settled()
    return [m for m in bot.sent(user_id)[before:]
            if any(d.startswith("ci:") for d in button_data(m))]


# --- 1. "No thanks" -----------------------------------------------------------------------
async def test_no_thanks_stops_checkins_and_stores_no_answers(bot: Bot) -> None:
    patient = 401
    (welcome,) = await bot.say(patient, "/start")
    assert button_data(welcome) == ["consent:yes", "consent:no"]
    (added,) = await bot.staff(f"/addsession {patient} {START.date().isoformat()}")
    assert START.date().isoformat() in added["text"]
    (day1,) = await checkins_until(bot, patient, dt.datetime(2026, 3, 11, 19, 30, tzinfo=dt.UTC))

    (declined,) = await bot.press(patient, welcome, "consent:no")
    assert "won't store" in declined["text"] and "check-in" in declined["text"]
    fine = button_data(day1)[button_labels(day1).index("Fine")]
    (answered,) = await bot.press(patient, day1, fine)  # a button from before: answered ...
    assert "Glad to hear it" in answered["text"]
    (advice,) = await bot.say(patient, "can I wear makeup?")
    assert "makeup" in advice["text"].lower()

    later = await checkins_until(bot, patient, dt.datetime(2026, 3, 25, 12, 0, tzinfo=dt.UTC))
    assert later == []  # days 2, 3, 7 and 14 came and went: nothing was sent
    await bot.app.bot_data.patient.conversation.log.flush()
    stored = await bot.repo.patients.get(patient)
    assert stored is not None and stored.consent_at is None and stored.name is None
    assert await bot.count(Message) == 0  # ... and nothing of it is stored
    assert await bot.count(CheckIn, CheckIn.answer.is_not(None)) == 0

    (again,) = await bot.say(patient, "/start")  # changing their mind turns them back on
    (thanks,) = await bot.press(patient, again, "consent:yes")
    assert "Thank you" in thanks["text"]
    assert await bot.count(CheckIn, CheckIn.status == "pending") > 0


# --- 3. /invite and /addsession refusals are audited ----------------------------------------
async def test_invite_and_addsession_refusals_are_audited(bot: Bot) -> None:
    stranger = 4242
    (refused,) = await bot.staff("/addsession 401", user_id=stranger)
    assert "staff only" in refused["text"]
    (refused,) = await bot.staff("/invite Bea", user_id=stranger, chat_id=stranger)
    assert "staff only" in refused["text"]
    (usage,) = await bot.staff("/addsession twelve")
    assert "Usage: /addsession" in usage["text"]
    (usage,) = await bot.staff("/invite", user_id=NURSE, chat_id=NURSE)
    assert "Usage: /invite" in usage["text"]
    (unknown,) = await bot.staff("/addsession 777")
    assert "777" in unknown["text"]
    (invite,) = await bot.staff("/invite Bea")  # what works is not a refusal
    assert "https://t.me/aftercare_test_bot?start=" in invite["text"]

    async with bot.store.sessions() as s:
        rows = (await s.execute(select(ReportActionRow.actor_telegram_id, ReportActionRow.note)
                                .where(ReportActionRow.action == "refused")
                                .order_by(ReportActionRow.id))).all()
    assert [tuple(r) for r in rows] == [
        (stranger, "use /addsession: not staff"), (stranger, "use /invite: not staff"),
        (NURSE, "use /addsession: bad arguments"), (NURSE, "use /invite: bad arguments"),
        (NURSE, "use /addsession: no such patient")]


# --- 2. /delete leaves nothing behind -------------------------------------------------------
async def test_delete_forgets_the_question_of_someone_who_never_agreed(bot: Bot) -> None:
    question = "is it normal that my dog sneezes"
    for user, start in ((403, False), (404, True)):  # no row at all / a bare row
        if start:
            await bot.say(user, "/start")
        (answer,) = await bot.say(user, question)
        assert "handoff" in button_data(answer)  # "ask the clinic" would pass it on
        (confirm,) = await bot.say(user, "/delete")
        if start:
            (done,) = await bot.press(user, confirm, "delete:yes")
            assert "erased everything" in done["text"]
        (nothing,) = await bot.press(user, answer, "handoff")
        assert "type your question first" in nothing["text"]
        await bot.settled()
    assert await bot.count(Report) == 0  # the question was forgotten, not handed on
    assert not any(question in (m.get("text") or "") for m in bot.sent(STAFF_CHAT))


async def test_delete_erases_photos_staff_replies_pending_answers_and_staff_messages(
        bot: Bot) -> None:
    patient = 405
    (welcome,) = await bot.say(patient, "/start")
    await bot.press(patient, welcome, "consent:yes")
    staff_before = len(bot.sent(STAFF_CHAT))
    await bot.say(patient, "there is yellow pus and a fever")
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    assert card["text"].startswith("URGENT: Ana")
    buttons = {d.split(":")[1]: d for d in button_data(card)}

    staff_before = len(bot.sent(STAFF_CHAT))
    bot.fake.user_photo(patient, first_name="Ana")  # joins the report raised just now
    (photo,) = await bot.new(STAFF_CHAT, staff_before)
    assert photo["method"] == "sendPhoto"
    sent = await bot.staff("Please keep it clean and dry", reply_to=card["message_id"], n=2)
    assert "Sent to Ana only" in sent[-1]["text"]
    staff_before = len(bot.sent(STAFF_CHAT))
    bot.fake.callback_query(NURSE, buttons["reply"], card["message_id"], chat_id=STAFF_CHAT,
                            first_name="Nurse")  # the nurse's next message would go to her
    (prompt,) = await bot.new(STAFF_CHAT, staff_before)
    await bot.settled()

    (confirm,) = await bot.say(patient, "/delete")
    (done,) = await bot.press(patient, confirm, "delete:yes")
    assert "erased everything" in done["text"]
    assert "taken by Nurse" in sent[0]["text"]  # names nobody but the nurse: stays
    about_her = [card, photo, sent[-1], prompt]  # every staff-chat message naming her

    def erased(message: dict[str, Any]) -> bool:
        now = bot.fake.state.get_message(STAFF_CHAT, message["message_id"]) or {}
        return (now.get("text") or now.get("caption")) == ERASED

    async def all_erased() -> bool:
        return all(erased(m) for m in about_her)
    try:
        await eventually(all_erased, timeout=15)
    except TimeoutError:
        raise AssertionError([bot.fake.state.get_message(STAFF_CHAT, m["message_id"])
                              for m in about_her if not erased(m)]) from None
    assert await bot.count(Report) == 0
    assert await bot.count(ReportPhoto) == 0
    assert await bot.count(ReportActionRow, ReportActionRow.report_id.is_not(None)) == 0
    assert await bot.count(ChatState, ChatState.telegram_id == NURSE) == 0  # no pending Reply

    patient_before = len(bot.sent(patient))
    await bot.staff("Ana, did it help?", n=0)  # was "the next message goes to Ana"
    await bot.staff("Ana?", reply_to=card["message_id"], n=0)
    await bot.settled()
    await quiet(bot.app, bot.fake)  # both handled: anything they sent is recorded
    assert len(bot.sent(patient)) == patient_before
    async with bot.store.sessions() as s:
        notes = list(await s.scalars(select(ReportActionRow.note)))
    assert not any("keep it clean" in (n or "") for n in notes)


# --- 4 and 5. staff answers: whole, and "Sent" only when they arrived -------------------------
async def red_flag_card(bot: Bot, patient: int) -> tuple[dict[str, Any], int]:
    (welcome,) = await bot.say(patient, "/start")
    await bot.press(patient, welcome, "consent:yes")
    staff_before = len(bot.sent(STAFF_CHAT))
    await bot.say(patient, "there is yellow pus and a fever")
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    return card, int(button_data(card)[0].split(":")[2])


async def replied(bot: Bot, report_id: int) -> list[tuple[int | None, str | None]]:
    return [(a.actor_telegram_id, a.note) for a in await bot.store.actions(report_id)
            if a.action == "replied"]


async def test_a_long_photo_caption_reaches_the_patient_whole(bot: Bot) -> None:
    patient = 406
    card, report_id = await red_flag_card(bot, patient)
    words = ("Clean it twice a day with cooled boiled water and pat it dry; " * 16
             + "Call us if you are unsure.")
    assert 1010 < len(words) <= 1024  # as long as Telegram lets staff write a caption
    sizes = [{**bot.fake._file_meta(b"\xff\xd8 leaflet", "photos", "jpg"),
              "width": w, "height": w} for w in (90, 800)]
    message = bot.fake._user_message(NURSE, {"photo": sizes, "caption": words},
                                     first_name="Nurse", chat_id=STAFF_CHAT,
                                     chat_type="supergroup")
    message["reply_to_message"] = bot.fake.state.get_message(STAFF_CHAT, card["message_id"])
    patient_before, staff_before = len(bot.sent(patient)), len(bot.sent(STAFF_CHAT))
    bot.fake._push_message(message)
    taken, photo, text = await bot.new(patient, patient_before, 3)
    assert "looking at your report" in taken["text"]
    assert photo["method"] == "sendPhoto" and "message follows" in photo["caption"]
    assert words in text["text"] and "Glow Clinic" in text["text"]  # nothing cut off
    told = await bot.new(STAFF_CHAT, staff_before, 2)
    assert "Sent to Ana only" in told[-1]["text"] and "separate message" in told[-1]["text"]
    assert await replied(bot, report_id) == [(NURSE, f"[photo] {words}")]
    assert bot.fake.violations == []


async def test_an_answer_that_did_not_arrive_is_not_called_sent(bot: Bot) -> None:
    patient = 407
    card, report_id = await red_flag_card(bot, patient)
    bot.fake.block_chat(patient)
    told = await bot.staff("Please call us today", reply_to=card["message_id"], n=2)
    assert "Not delivered to Ana" in told[-1]["text"] and "blocked" in told[-1]["text"]
    assert not any("Sent to" in m.get("text", "") for m in bot.sent(STAFF_CHAT))
    assert await replied(bot, report_id) == []  # audited only once delivered

    bot.fake.unblock_chat(patient)
    staff_before = len(bot.sent(STAFF_CHAT))
    (line,) = await bot.say(patient, "hello again")  # writing again: reachable again
    # the urgent report is still open: the safety line, and the words join the report
    assert "still open" in line["text"]
    await bot.new(STAFF_CHAT, staff_before)
    bot.fake.fail_next("sendMessage", 500, chat_id=patient)  # Telegram has a bad moment
    patient_before, staff_before = len(bot.sent(patient)), len(bot.sent(STAFF_CHAT))
    await bot.staff("Please call us today", reply_to=card["message_id"], n=0)
    await bot.fake.wait_for(lambda: any(c.status == 500 for c in bot.fake.calls("sendMessage")))
    # not given up, not called sent: the answer waits in the desk outbox for its retry
    assert len(bot.sent(STAFF_CHAT)) == staff_before and len(bot.sent(patient)) == patient_before
    assert await replied(bot, report_id) == []
    bot.clock.advance(seconds=5)  # the back-off has passed: the desk-outbox job sends it
    (sent,) = await bot.new(STAFF_CHAT, staff_before)
    assert "Sent to Ana only" in sent["text"]
    assert ["Please call us today" in m["text"] for m in bot.sent(patient)[patient_before:]] == [
        True]  # once
    assert await replied(bot, report_id) == [(NURSE, "Please call us today")]


# --- 6. an edit of a triaged message updates its report and card ------------------------------
async def test_editing_a_triaged_message_updates_its_report_and_card(bot: Bot) -> None:
    patient = 408
    (welcome,) = await bot.say(patient, "/start")
    await bot.press(patient, welcome, "consent:yes")
    staff_before = len(bot.sent(STAFF_CHAT))
    (advice,) = await bot.say(patient, "there is yellow pus and a fever")
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    assert card["text"].startswith("URGENT: Ana")
    asked = bot.fake.state.get_message(patient, advice["message_id"] - 1)
    assert asked is not None and asked["text"] == "there is yellow pus and a fever"

    async def card_says(words: str) -> None:
        async def shown() -> bool:
            bot.clock.advance(seconds=5)  # card edits wait a few seconds to coalesce
            now = bot.fake.state.get_message(STAFF_CHAT, card["message_id"]) or {}
            return words in (now.get("text") or "")
        await eventually(shown, timeout=30)
        await bot.settled()

    patient_before = len(bot.sent(patient))
    edited = "there is yellow pus and a fever of 39 since this morning"
    bot.fake.edited_message(patient, asked["message_id"], edited)
    await card_says("fever of 39")  # the card shows the newest words ...
    now = bot.fake.state.get_message(STAFF_CHAT, card["message_id"]) or {}
    assert now["text"].startswith("URGENT: Ana") and "Take" in str(now.get("reply_markup"))
    assert len(bot.sent(patient)) == patient_before  # same advice: not said again
    assert len(bot.sent(STAFF_CHAT)) == staff_before + 1  # same tier: the edit is quiet

    bot.fake.edited_message(patient, asked["message_id"],
                            "yellow pus and now my lips are swelling and my throat feels tight")
    (emergency,) = await bot.new(patient, patient_before)  # more urgent: the patient hears it
    assert "999" in emergency["text"]
    # ... and staff are alerted again: a new message (an edit notifies nobody) under the card
    (raised,) = await bot.new(STAFF_CHAT, staff_before + 1)
    assert raised["text"].startswith("⬆️ Now EMERGENCY — report #")
    assert "throat feels tight" in raised["text"] and "tg://user?id=" in raised["text"]
    assert raised["reply_parameters"]["message_id"] == card["message_id"]
    await card_says("throat feels tight")
    now = bot.fake.state.get_message(STAFF_CHAT, card["message_id"]) or {}
    assert now["text"].startswith("EMERGENCY: Ana")

    (report,) = await bot.store.queue()  # ... one report, one card: nothing duplicated
    assert report.urgency == "emergency" and "throat feels tight" in report.text
    assert report.repeats == 0
    assert f"report #{report.id}" in raised["text"]
    cards = [m for m in bot.sent(STAFF_CHAT) if m.get("reply_markup")
             and f"report #{report.id}" in (m.get("text") or "")]
    assert cards == [card]
    notes = [a.note for a in await bot.store.actions(report.id) if a.action == "patient"]
    assert notes == [f"[edited] {edited}", "[edited] yellow pus and now my lips are swelling "
                     "and my throat feels tight"]
    assert bot.fake.violations == []


# --- 7. odd digits in button data are refused, never raised -----------------------------------
async def press_notice(bot: Bot, user_id: int, message: dict[str, Any], data: str) -> str:
    answered = len(bot.fake.calls("answerCallbackQuery"))
    bot.fake.callback_query(user_id, data, message["message_id"], first_name="Ana")
    await bot.fake.wait_for(lambda: len(bot.fake.calls("answerCallbackQuery")) > answered)
    return str(bot.fake.calls("answerCallbackQuery")[answered].params.get("text", ""))


async def test_session_buttons_with_odd_digits_are_refused(bot: Bot) -> None:
    patient = 409
    (welcome,) = await bot.say(patient, "/start")
    await bot.press(patient, welcome, "consent:yes")
    bot.clock.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    (picker,) = await bot.say(patient, "/session")
    await bot.press(patient, picker, "session:other")
    (unread,) = await bot.say(patient, "²/¹²")  # digits int() cannot read: asked again
    assert "date" in unread["text"].lower()
    (confirm,) = await bot.say(patient, "20/12")  # last year or this year?
    assert button_data(confirm) == ["sd:0", "sd:1", "flow:cancel"]
    for data in ("sd:²", "sd:١", "sd:99999999999999999999"):
        assert "no longer" in (await press_notice(bot, patient, confirm, data)).lower()
    (booked,) = await bot.press(patient, confirm, "sd:1")  # the real choice still works
    assert "booked for Sun 20 Dec 2026" in booked["text"]

    (menu,) = await bot.say(patient, "/session")
    assert any(d.startswith("sx:change:") for d in button_data(menu))
    for data in ("sx:change:²", "sx:remove:²", "sx:remove:99999999999999"):
        assert "no longer" in (await press_notice(bot, patient, menu, data)).lower()
    patient_row = await bot.repo.patients.get(patient)
    assert patient_row is not None
    assert len(await bot.repo.treatments.of_patient(patient_row.id)) == 1
    assert bot.fake.violations == []


async def test_nul_characters_never_cost_a_patient_their_words(bot: Bot) -> None:
    """PostgreSQL's text columns refuse NUL: every stored text drops it instead."""
    patient = 410
    bot.fake.user_message(patient, "/start", first_name="Ana\x00")
    (welcome,) = await bot.new(patient, 0)
    before = len(bot.sent(patient))
    bot.fake.callback_query(patient, "consent:yes", welcome["message_id"], first_name="Ana\x00")
    await bot.new(patient, before)
    staff_before = len(bot.sent(STAFF_CHAT))
    await bot.say(patient, "there is yellow pus\x00 and a fever")
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    report_id = int(button_data(card)[0].split(":")[2])
    sent = await bot.staff("Keep it\x00 clean", reply_to=card["message_id"], n=2)
    assert "Sent to Ana only" in sent[-1]["text"]
    staff_before = len(bot.sent(STAFF_CHAT))
    bot.fake.user_photo(patient, caption="it is spreading\x00 now", first_name="Ana")
    await bot.new(STAFF_CHAT, staff_before, 2)  # the words under the card, then the photo
    await bot.settled()

    stored = await bot.repo.patients.get(patient)
    assert stored is not None and stored.name == "Ana"
    report = await bot.store.get(report_id)
    assert report is not None and report.text == "there is yellow pus and a fever"
    notes = [(a.action, a.note) for a in await bot.store.actions(report_id)]
    assert ("replied", "Keep it clean") in notes and ("patient", "it is spreading now") in notes
