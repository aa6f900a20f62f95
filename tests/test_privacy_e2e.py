"""A patient's "No thanks" means what it says; staff refusals are audited (issue 14, point 6).

The real Application against the fake Bot API, on SQLite and PostgreSQL, with the clock the
test moves:
* a patient invited by the clinic who presses "No thanks" gets no check-in afterwards (days
  of them, clock advanced), an old check-in button they press is answered but not stored,
  and their messages are not stored;
* /invite and /addsession refusals (not staff, bad arguments) are audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from storage.clock import ManualClock
from storage.models import (
    CheckIn,
    Message,
    ReportActionRow,
)
from tests.bot_harness import CLINIC, START, button_data, button_labels, eventually
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
NURSE = 9001
ERASED = "[erased at the patient's request]"


class Bot:
    """The running bot seen from patients' chats and the staff chat."""

    def __init__(self, fake: FakeTelegram, app: Any, clock: ManualClock) -> None:
        self.fake, self.app, self.clock = fake, app, clock
        self.repo = app.bot_data.repo
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
                    and await self.app.bot_data.alerts.connector.owed() == 0)
        await eventually(idle, timeout=15)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.store.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, database_url: str,
              advisor: Advisor) -> AsyncIterator[Bot]:
    fake_telegram.handlers.max_poll_wait = 0.1
    settings = load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake_telegram.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS=str(NURSE),
        AFTERCARE_DATABASE_URL=database_url, AFTERCARE_TIMEZONE="Europe/London",
        AFTERCARE_CLINIC_NAME=CLINIC.name, AFTERCARE_CLINIC_CONTACT=CLINIC.contact,
        AFTERCARE_BOT_USERNAME="aftercare_test_bot", AFTERCARE_MAX_SENDS_PER_SECOND=0)
    clock = ManualClock(START)
    db = await Database.connect(database_url)
    app = build_application(settings, db, advisor, clock=clock)
    try:
        async with running(app, settings):
            yield Bot(fake_telegram, app, clock)
    finally:
        await db.close()


async def checkins_until(bot: Bot, user_id: int, until: dt.datetime) -> list[dict[str, Any]]:
    """Move the clock hour by hour to `until`, running the dispatcher at each step; the
    check-in messages `user_id` received meanwhile."""
    before = len(bot.sent(user_id))
    while bot.clock() < until:
        bot.clock.advance(hours=1)
        await bot.app.bot_data.checkins.tick()
    await asyncio.sleep(0.2)  # a send in flight
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
    await bot.app.bot_data.conversation.log.flush()
    stored = await bot.repo.get_patient(patient)
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
