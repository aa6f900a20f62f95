"""The terminal demo: chat with the bot as a patient, with a simulated clock.

``aftercare demo`` (and ``aftercare start`` without a token) reads lines from standard input
(interactive or piped) and prints the bot's replies: buttons are numbered and typing a number
presses one; ``/advance 1d`` (or 3h, 30m, "1d 6h") moves the simulated clock; ``/quit`` leaves.
Staff alerts print as ``[staff chat] ...``. It drives the same `Conversation` as the Telegram
bot, over a SQLite file in a temporary folder unless AFTERCARE_DATABASE_URL is set.

The services come from bot/compose.py like the bot's; check-ins go to a `DemoSender` and are
shown after each /advance step (`Demo.ticks`: async callbacks ``tick(now) -> list[Reply]``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.compose import build_services
from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.formatting import html_to_text
from bot.core.replies import Reply
from scheduler.dispatcher import OutgoingCheckin
from storage import Database, utcnow

DEMO_USER_ID = 100001
DEMO_STAFF_CHAT_ID = -1000000000001
Tick = Callable[[dt.datetime], Awaitable[list[Reply]]]
_AMOUNT = re.compile(r"(\d+)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


ADVANCE_STEP = dt.timedelta(minutes=30)  # /advance runs the check-in dispatcher this often


class SimulatedClock:
    """A clock that only moves when told to; call it for "now" (aware UTC)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move forward by `delta`; returns the new time."""
        self.now += delta
        return self.now


def parse_advance(text: str) -> dt.timedelta | None:
    """"1d", "3h", "30m", "1d 6h" -> timedelta; None when malformed or zero."""
    cleaned = text.strip().lower()
    parts = _AMOUNT.findall(cleaned)
    if not parts or _AMOUNT.sub("", cleaned).strip():
        return None
    delta = dt.timedelta()
    for amount, unit in parts:
        delta += dt.timedelta(**{_UNITS[unit]: int(amount)})
    return delta or None


class Demo:
    """One terminal patient talking to a `Conversation`."""

    def __init__(self, conversation: Conversation, clock: SimulatedClock, out: TextIO,
                 user_id: int = DEMO_USER_ID, first_name: str = "Demo patient") -> None:
        self.conversation = conversation
        self.clock = clock
        self.out = out
        self.user_id = user_id
        self.first_name = first_name
        self.ticks: list[Tick] = []
        self.buttons: list[str] = []

    def show(self, replies: list[Reply]) -> None:
        """Print replies; number the buttons of the latest ones."""
        buttons: list[str] = []
        for reply in replies:
            text = html_to_text(reply.text)
            if reply.notice:
                self.out.write(f"bot (notice)> {text}\n")
            elif reply.to_chat is not None and reply.to_chat != self.user_id:
                self.out.write(f"[staff chat] {text}\n")
            else:
                self.out.write(f"bot> {text}\n")
            labels = []
            for row in reply.buttons:
                for label, data in row:
                    buttons.append(data)
                    labels.append(f"[{len(buttons)}] {label}")
            if labels:
                self.out.write("     " + "   ".join(labels) + "\n")
        if buttons:
            self.buttons = buttons
        self.out.flush()

    def say(self, text: str) -> None:
        """A line from the demo itself (not the bot)."""
        self.out.write(f"-- {text}\n")
        self.out.flush()

    async def handle(self, line: str) -> bool:
        """Act on one input line; False when the user wants to quit."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if text.isascii() and text.isdecimal() and len(text) <= 3:
            await self._press(int(text))
        elif text.startswith("/advance"):
            await self._advance(text.removeprefix("/advance"))
        else:
            self.show(await self._send(text))
        return True

    async def _send(self, text: str) -> list[Reply]:
        conv, uid, name = self.conversation, self.user_id, self.first_name
        if not text.startswith("/"):
            return await conv.message(uid, uid, name, text)
        command, *args = text[1:].split()
        if command.lower() == "start":
            return await conv.start(uid, uid, name, args[0] if args else None)
        return await conv.command(uid, uid, name, command, args)

    async def _press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self.say(self.conversation.messages.render("demo.no_button", number=number))
            return
        data = self.buttons[number - 1]
        self.show(await self.conversation.callback(self.user_id, self.user_id, self.first_name,
                                                   data))

    async def _advance(self, amount: str) -> None:
        delta = parse_advance(amount)
        messages = self.conversation.messages
        if delta is None:
            self.say(messages.render("demo.bad_advance"))
            return
        target = self.clock.now + delta
        while self.clock.now < target:  # step, so check-ins arrive at their own time
            now = self.clock.advance(min(ADVANCE_STEP, target - self.clock.now))
            for tick in self.ticks:
                replies = await tick(now)
                if replies:
                    self.say(html_to_text(messages.render("demo.arrived", time=self._local(now))))
                    self.show(replies)
        ctx = await self.conversation.context(self.user_id)
        status = (messages.render("demo.day_status", day=ctx.day) if ctx.day is not None
                  else messages.render("demo.no_session"))
        self.say(html_to_text(messages.render("demo.advanced", time=self._local(target),
                                              status=status)))

    def _local(self, moment: dt.datetime) -> str:
        return moment.astimezone(self.conversation.settings.tz).strftime("%Y-%m-%d %H:%M %Z")


class DemoSender:
    """The check-in `Sender` of the demo: what the dispatcher sends is kept as replies (with
    their answer buttons) and shown after each /advance step."""

    def __init__(self) -> None:
        self.outbox: list[Reply] = []

    async def send(self, message: OutgoingCheckin) -> int:
        buttons = tuple(((label, data),) for label, data in message.buttons)
        self.outbox.append(Reply(html.escape(message.text, quote=False), buttons))
        return len(self.outbox)

    def take(self) -> list[Reply]:
        """What was sent since the last call."""
        sent, self.outbox = self.outbox, []
        return sent


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: a staff chat to print cards to, and check-ins sent at once."""
    update: dict[str, object] = {"checkin_rate": 0.0, "checkin_per_chat_seconds": 0.0}
    if settings.staff_chat_id is None:
        update["staff_chat_id"] = DEMO_STAFF_CHAT_ID
    return settings.model_copy(update=update)


async def _read_line(source: TextIO) -> str:
    return await asyncio.to_thread(source.readline)


async def run_demo(settings: Settings, source: TextIO = sys.stdin,
                   out: TextIO = sys.stdout) -> int:
    """The interactive loop; returns the exit status."""
    settings = demo_settings(settings)
    with tempfile.TemporaryDirectory(prefix="aftercare-demo-") as folder:
        url = (settings.database_url if "database_url" in settings.model_fields_set
               else f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}")
        db = await Database.connect(url)
        conversation: Conversation | None = None
        try:
            clock = SimulatedClock()
            sender = DemoSender()
            services = build_services(settings, db, sender, clock)
            conversation = services.conversation
            demo = Demo(conversation, clock, out)

            async def checkins_sent(_now: dt.datetime) -> list[Reply]:
                await services.checkins.tick()
                return sender.take()

            demo.ticks.append(checkins_sent)
            out.write(html_to_text(conversation.messages.render("demo.intro")) + "\n")
            interactive = source.isatty()
            demo.show(await conversation.start(demo.user_id, demo.user_id, demo.first_name))
            while True:
                if interactive:
                    out.write("you> ")
                    out.flush()
                line = await _read_line(source)
                if not line:
                    break
                if not interactive:
                    out.write(f"you> {line.rstrip()}\n")
                if not await demo.handle(line):
                    break
        finally:
            if conversation is not None:
                await conversation.log.flush()
            await db.close()
    return 0
