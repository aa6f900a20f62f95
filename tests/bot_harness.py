"""The running bot under test: the real Application against the in-process fake Bot API
server (fixture `bot` in conftest.py), with a clock the test moves and helpers to talk to it
as patients and staff."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.core.conversation import Conversation
from bot.telegram.app import build_application, running
from bot.telegram.context import AnyApplication
from knowledge.advisor import Advisor, Clinic
from storage import Database
from storage.clock import ManualClock
from tests.databases import connect_args, migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.stores import Stores

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
STAFF_USER = 9001
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
CLINIC = Clinic(name="Glow Clinic", contact="020 7946 0000")


def button_data(message: dict[str, Any]) -> list[str]:
    """All callback_data values of a sent message's inline keyboard."""
    markup = message.get("reply_markup") or {}
    return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]


def button_labels(message: dict[str, Any]) -> list[str]:
    """All button labels of a sent message's inline keyboard."""
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


class BotHarness:
    """A patient's view of the running bot: send, press, wait for replies."""

    def __init__(self, fake: FakeTelegram, app: AnyApplication, clock: ManualClock) -> None:
        self.fake = fake
        self.app = app  # the running Application; its services are `app.bot_data`
        self.conversation: Conversation = app.bot_data.patient.conversation
        self.repo: Stores = Stores.of(app.bot_data)
        self.clock = clock

    def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.fake.sent_messages(chat_id)]

    async def replies_after(self, chat_id: int, before: int, n: int) -> list[dict[str, Any]]:
        sent = await self.fake.wait_for_messages(chat_id, before + n)
        return sent[before:]

    async def say(self, user_id: int, text: str, n: int = 1,
                  first_name: str = "Ana") -> list[dict[str, Any]]:
        """The patient sends `text`; returns the bot's `n` new messages."""
        before = len(self.fake.sent_messages(user_id))
        self.fake.user_message(user_id, text, first_name=first_name)
        return await self.replies_after(user_id, before, n)

    async def press(self, user_id: int, message: dict[str, Any], data: str,
                    n: int = 1, first_name: str = "Ana") -> list[dict[str, Any]]:
        """Press the button with `data` on `message`; returns `n` new messages."""
        assert data in button_data(message), (data, button_data(message))
        before = len(self.fake.sent_messages(user_id))
        self.fake.callback_query(user_id, data, message["message_id"], first_name=first_name)
        return await self.replies_after(user_id, before, n)

    async def press_again(self, user_id: int, message: dict[str, Any], data: str) -> str:
        """Press a button once more; returns the notice shown (answerCallbackQuery text)."""
        answered = len(self.fake.calls("answerCallbackQuery"))
        self.fake.callback_query(user_id, data, message["message_id"])
        await self.fake.wait_for(lambda: len(self.fake.calls("answerCallbackQuery")) > answered)
        return str(self.fake.calls("answerCallbackQuery")[answered].params.get("text", ""))

    async def onboard(self, user_id: int, first_name: str = "Ana") -> None:
        (welcome,) = await self.say(user_id, "/start", first_name=first_name)
        await self.press(user_id, welcome, "consent:yes", first_name=first_name)

    async def quiet_check(self, user_id: int) -> None:
        """Send a harmless message and wait for its answer: everything before it is handled."""
        await self.say(user_id, "thanks")


async def quiet(app: AnyApplication, fake: FakeTelegram, timeout: float = 20.0) -> None:
    """Until every update is handled (confirmed to Telegram: long polling confirms an update
    once it is handled), the desk-outbox job has made a whole pass that began after that
    (asked for at once, not on the job's interval), and every call to the fake is answered:
    a message still on its way (one that should not come at all) would be recorded by
    then."""
    async def confirmed() -> bool:
        return not fake.state.pending
    await eventually(confirmed, timeout)
    await asyncio.wait_for(app.bot_data.desk.outbox_passes.next(now=True), timeout)
    await fake.settled(timeout)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    """Wait until the async `check` is true (for state no signal announces, such as rows in
    the database: it is looked at again after 10 ms, then less and less often, at least
    every 0.1 s, so a long wait does not keep the database busy)."""
    deadline = asyncio.get_running_loop().time() + timeout
    pause = 0.01
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(pause)
        pause = min(0.1, pause * 1.5)


def bot_settings(fake: FakeTelegram, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS=str(STAFF_USER),
        AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        AFTERCARE_TIMEZONE="Europe/London", AFTERCARE_CLINIC_NAME=CLINIC.name,
        AFTERCARE_CLINIC_CONTACT=CLINIC.contact)
    return load_settings(None, **{**values, **extra})  # `extra` may replace a default


async def running_bot(fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor,
                      start: dt.datetime = START, **extra: Any) -> AsyncIterator[BotHarness]:
    """The bot as ``aftercare run`` starts it, talking to `fake_telegram` (`extra`: more
    settings, by variable name)."""
    own_file = "AFTERCARE_DATABASE_URL" not in extra
    if own_file and not (tmp_path / "bot.db").exists():
        migrated_sqlite(tmp_path / "bot.db")  # the bot's file, migrated once per process
    settings = bot_settings(fake_telegram, tmp_path, **extra)
    clock = ManualClock(start)
    # the bot's own file is a migrated copy: opened without Alembic's no-op upgrade, as
    # tests/conftest.py's fixtures open theirs; a database named in `extra` is migrated
    db = await Database.connect(settings.database_url, migrate=not own_file,
                                connect_args=connect_args(settings.database_url))
    app = build_application(settings, db, advisor, clock=clock)
    try:
        async with running(app, settings):
            harness = BotHarness(fake_telegram, app, clock)
            yield harness
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def running_app(fake_telegram: FakeTelegram, database_url: str, advisor: Advisor,
                      clock: ManualClock, staff: int, *,
                      alerts_monotonic: Callable[[], float] | None = None, **extra: Any
                      ) -> AsyncIterator[AnyApplication]:
    """The real Application on `database_url` (SQLite or PostgreSQL, already migrated: the
    fixture `database_url`, opened without Alembic's no-op upgrade), talking to
    `fake_telegram`, with `staff` as the one staff member (`extra`: more settings, which may
    replace these). The desk-outbox job and the alert sender look every 0.2 s (not every
    second): a retry or card edit that fell due on the test's clock goes out soon after, and
    their passes (`DeskJobs.outbox_passes`, `AlertDispatcher.passes`) follow quickly."""
    values: dict[str, Any] = dict(
        TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake_telegram.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS=str(staff),
        AFTERCARE_DATABASE_URL=database_url, AFTERCARE_TIMEZONE="Europe/London",
        AFTERCARE_CLINIC_NAME=CLINIC.name, AFTERCARE_CLINIC_CONTACT=CLINIC.contact,
        AFTERCARE_MAX_SENDS_PER_SECOND=0, AFTERCARE_DESK_OUTBOX_SECONDS=0.2,
        AFTERCARE_ALERT_POLL_SECONDS=0.2)
    settings = load_settings(None, **{**values, **extra})
    db = await Database.connect(database_url, migrate=False,  # migrated (`database_url`)
                                connect_args=connect_args(database_url))
    app = build_application(settings, db, advisor, clock=clock,
                            alerts_monotonic=alerts_monotonic or time.monotonic)
    try:
        async with running(app, settings):
            yield app
    finally:
        await db.close()
