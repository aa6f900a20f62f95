"""The terminal demo: chat with the bot as a patient, with a simulated clock.

``aftercare demo`` (and ``aftercare start`` without a token) reads lines from standard input
(interactive or piped) and prints the bot's replies: buttons are numbered and typing a number
presses one; ``/advance 1d`` (or 3h, 30m, "1d 6h") moves the simulated clock; ``/quit`` leaves.
Staff alerts print as ``[staff chat] ...``. It drives the same `Conversation` as the Telegram
bot, over a SQLite file in a temporary folder unless AFTERCARE_DATABASE_URL is set.

The services come from bot/compose.py like the bot's; check-ins go to a `DemoSender`. The
advisor is warmed up in the background as the demo starts (bot/warmup.py).
Typed numbers press buttons of the newest output only (a stray "2" never presses an old
keyboard); check-ins that arrive together are numbered on, and each stays answerable.
``/advance`` jumps from one due check-in to the next (refused beyond `MAX_ADVANCE`).
``/staff`` is the clinic's side: the open reports with Take / Reply / Resolve buttons;
``/staff TEXT`` writes in the staff chat (the reply or note after pressing Reply or Resolve),
``/staff /resolve N note`` and other staff commands work too.
`Demo.ticks` is a list of async callbacks ``tick(now) -> list[Reply]`` run as the clock moves
(the check-in dispatcher is one).
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

from bot.cli.texts import text
from bot.compose import build_services
from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.desk import DeskJobs
from bot.core.formatting import html_to_text
from bot.core.replies import Reply
from bot.datafiles import check_alert_topics, check_texts, load_advisor
from bot.warmup import warm_for_patients, warm_in_background
from knowledge.advisor import Advisor
from scheduler.alerts import AlertDispatcher, OutgoingAlert
from scheduler.dispatcher import OutgoingCheckin
from scheduler.service import CheckinService
from storage import Database, ManualClock
from storage.clock import utcnow

DEMO_USER_ID = 100001
DEMO_STAFF_ID = 100002  # you, as the clinic's nurse, after /staff
DEMO_STAFF_CHAT_ID = -1000000000001
STAFF_PREFIX = "staff:"  # the demo's own marker for a /staff button
MAX_ADVANCE = dt.timedelta(days=400)  # longer jumps are refused (the course is ~6 weeks)
Tick = Callable[[dt.datetime], Awaitable[list[Reply]]]
_AMOUNT = re.compile(r"(\d+)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


ADVANCE_STEP = dt.timedelta(minutes=30)  # /advance runs the check-in dispatcher this often


def parse_advance(text: str) -> dt.timedelta | None:
    """"1d", "3h", "30m", "1d 6h" -> timedelta; None when malformed or zero."""
    cleaned = text.strip().lower()
    parts = _AMOUNT.findall(cleaned)
    if not parts or _AMOUNT.sub("", cleaned).strip():
        return None
    delta = dt.timedelta()
    try:
        for amount, unit in parts:
            delta += dt.timedelta(**{_UNITS[unit]: int(amount)})
    except OverflowError:  # "/advance 99999999999d": far beyond any limit
        return dt.timedelta.max
    return delta or None


class Demo:
    """One terminal patient talking to a `Conversation`."""

    def __init__(self, conversation: Conversation, clock: ManualClock, out: TextIO,
                 user_id: int = DEMO_USER_ID, first_name: str | None = None,
                 staff_chat: DemoStaffChat | None = None, desk: DeskJobs | None = None,
                 checkins: CheckinService | None = None) -> None:
        self.conversation = conversation
        self.clock = clock
        self.out = out
        self.user_id = user_id
        self.first_name = first_name or text("demo.patient_name")
        self.ticks: list[Tick] = []
        self.buttons: list[str] = []  # callback data of the newest output's buttons
        self.open_checkins: list[Reply] = []  # check-ins of the last jump not yet answered
        self.staff_chat = staff_chat or DemoStaffChat()  # hands out staff-chat message ids
        self.desk = desk  # the clinic's side, for /staff
        self.checkins = checkins  # to jump to the next due check-in
        self.staff_id = DEMO_STAFF_ID
        self.after_input: list[Callable[[], Awaitable[list[Reply]]]] = []  # e.g. staff cards

    def show(self, replies: list[Reply], checkins: bool = False, keep: bool = False) -> None:
        """Print replies; number their buttons. Typed numbers press buttons of this newest
        output only: older buttons stop working (like a stray "2" pressing an old keyboard
        would be a surprise). Several check-ins in one output are numbered on (1-3, 4-6,
        ...); one that is still unanswered after another is answered is shown again."""
        buttons: list[str] = list(self.buttons) if keep else []
        for reply in replies:
            shown = html_to_text(reply.text)
            if reply.notice:
                self.out.write(f"{text('demo.notice')}{shown}\n")
            elif reply.to_chat is not None and reply.to_chat != self.user_id:
                self.out.write(f"{text('demo.staff_chat')}{shown}\n")
                continue  # staff buttons are pressed through /staff
            else:
                self.out.write(f"{text('demo.bot')}{shown}\n")
            labels = []
            for row in reply.buttons:
                for label, data in row:
                    buttons.append(data)
                    labels.append(f"[{len(buttons)}] {label}")
            if labels:
                self.out.write("     " + "   ".join(labels) + "\n")
            if checkins and any(d.startswith("ci:") for row in reply.buttons for _, d in row):
                self.open_checkins.append(reply)
        self.buttons = buttons
        self.out.flush()

    def say(self, line: str) -> None:
        """A line from the demo itself (not the bot)."""
        self.out.write(f"{text('demo.aside')}{line}\n")
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
        elif text == "/staff" or text.startswith("/staff "):
            await self.staff(text.removeprefix("/staff"))
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
        if data.startswith(STAFF_PREFIX):
            await self._staff_press(data.removeprefix(STAFF_PREFIX))
            return
        self.open_checkins = [c for c in self.open_checkins
                              if data not in {d for row in c.buttons for _, d in row}]
        replies = await self.conversation.callback(self.user_id, self.user_id, self.first_name,
                                                   data)
        if data.startswith("ci:") and self.open_checkins:  # the others can still be answered
            replies = [*replies, *self.open_checkins]
        self.show(replies)

    async def _advance(self, amount: str) -> None:
        delta = parse_advance(amount)
        messages = self.conversation.messages
        if delta is None:
            self.say(messages.render("demo.bad_advance"))
            return
        if delta > MAX_ADVANCE:
            self.say(messages.render("demo.too_far", days=MAX_ADVANCE.days))
            return
        target = self.clock.now + delta
        self.buttons, self.open_checkins = [], []  # old buttons stop working
        while self.clock.now < target:  # jump from one due check-in to the next
            step = min(ADVANCE_STEP, target - self.clock.now)
            due = await self._next_due()
            if due is None:
                step = target - self.clock.now
            elif due > self.clock.now + step:
                step = min(due - self.clock.now, target - self.clock.now)
            now = self.clock.advance(step)
            for tick in self.ticks:
                replies = await tick(now)
                if replies:
                    self.say(html_to_text(messages.render("demo.arrived", time=self._local(now))))
                    self.show(replies, checkins=True, keep=True)
        ctx = await self.conversation.context(self.user_id)
        status = (messages.render("demo.day_status", day=ctx.day) if ctx.day is not None
                  else messages.render("demo.no_session"))
        self.say(html_to_text(messages.render("demo.advanced", time=self._local(target),
                                              status=status)))

    async def _next_due(self) -> dt.datetime | None:
        """When the next check-in is due (None: none pending), so a long /advance jumps."""
        service = self.checkins
        if service is None:
            return self.clock.now + ADVANCE_STEP
        pending = await service.manager.list(statuses=("pending",))
        return min((c.due_at for c in pending), default=None)

    # --- the staff side ---------------------------------------------------------------------
    async def staff(self, typed: str) -> None:
        """/staff: the queue with Take / Reply / Resolve buttons; /staff TEXT: a message in
        the staff chat (a reply or a resolve note after pressing Reply or Resolve);
        /staff /COMMAND: a staff command (/queue, /report N, /resolve N note, ...)."""
        desk = self.desk
        if desk is None:
            return
        typed = typed.strip()
        if not typed:
            await self._staff_queue()
            return
        message_id = self.staff_chat.next_id()
        nurse = text("demo.staff_name")
        if typed.startswith("/"):
            name, *args = typed[1:].split()
            replies = await desk.commands.staff_command(self.staff_id, nurse,
                                                        DEMO_STAFF_CHAT_ID, message_id,
                                                        name.lower(), args)
        else:
            replies = await desk.staff_chat.staff_message(self.staff_id, nurse,
                                                          DEMO_STAFF_CHAT_ID, message_id, typed)
        if replies is None:
            replies = [Reply(self.conversation.messages.render("demo.staff_nothing"),
                             to_chat=DEMO_STAFF_CHAT_ID)]
        self.show(await self._delivered(replies))

    async def _delivered(self, replies: list[Reply]) -> list[Reply]:
        """The replies as printed: a staff answer shown to the patient counts as delivered
        (audited, and the staff chat is told), as the Telegram sender does."""
        desk = self.desk
        shown: list[Reply] = []
        for reply in replies:
            shown.append(reply)
            if reply.relay is not None and desk is not None:
                shown += await desk.relays.relay_done(reply.relay)
        return shown

    async def _staff_queue(self) -> None:
        desk = self.desk
        assert desk is not None
        self.show([Reply(await desk.views.queue_text(), to_chat=DEMO_STAFF_CHAT_ID)])
        buttons: list[str] = []
        for report in (await desk.store.queue())[:10]:
            labels = []
            for action in ("take", "reply", "resolve"):
                buttons.append(f"{STAFF_PREFIX}{action}:{report.id}")
                label = self.conversation.messages.label(f"staff_{action}")
                labels.append(f"[{len(buttons)}] {label} #{report.id}")
            self.out.write("     " + "   ".join(labels) + "\n")
        self.buttons = buttons
        self.out.flush()

    async def _staff_press(self, data: str) -> None:
        """A staff button from /staff: pressed on the report's card, as in the staff chat."""
        desk = self.desk
        assert desk is not None
        action, _, raw_id = data.partition(":")
        report_id = int(raw_id)
        card = await desk.store.latest_card(report_id)
        if card is None:  # never printed (e.g. raised before the desk was attached)
            await desk.cards.card_sent(Reply("", card_for=report_id), DEMO_STAFF_CHAT_ID,
                                       self.staff_chat.next_id())
            card = await desk.store.latest_card(report_id)
        assert card is not None
        replies = await desk.presses.staff_callback(self.staff_id, text("demo.staff_name"),
                                                    DEMO_STAFF_CHAT_ID, card.message_id,
                                                    f"st:{action}:{report_id}")
        self.show(await self._delivered(replies))

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


DEMO_EVENING = dt.time(16, 30)  # the demo's clock starts no earlier than this, local time


def demo_start(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Where the demo's simulated clock starts: now, or 16:30 today (local) if that is later,
    so the README tour's "/advance 1d 3h" always reaches the day 1 evening check-in (started
    in the morning, it stopped short of it)."""
    evening = dt.datetime.combine(now.astimezone(tz).date(), DEMO_EVENING, tz)
    return max(now, evening.astimezone(dt.UTC))


def demo_settings(settings: Settings) -> Settings:
    """The demo's settings: a staff chat to print cards to, and check-ins sent at once."""
    update: dict[str, object] = {"checkin_rate": 0.0, "checkin_per_chat_seconds": 0.0}
    if settings.staff_chat_id is None:
        update["staff_chat_id"] = DEMO_STAFF_CHAT_ID
    update["staff_ids"] = settings.staff_ids | {DEMO_STAFF_ID}  # you, after /staff
    return settings.model_copy(update=update)


async def _read_line(source: TextIO) -> str:
    return await asyncio.to_thread(source.readline)


class DemoStaffChat:
    """The demo's staff chat: hands out its message ids (one series for cards and for what
    you type after /staff) and, as the alert sender's `AlertSender`, collects the cards the
    outbox owes instead of calling Telegram."""

    def __init__(self) -> None:
        self.last_id = 0
        self.posted: list[Reply] = []

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    async def send(self, alert: OutgoingAlert) -> int:
        self.posted.append(Reply(alert.text, alert.buttons, to_chat=alert.chat_id))
        if alert.edit_message_id is not None:
            return alert.edit_message_id
        return self.next_id()


def staff_cards(alerts: AlertDispatcher,
                chat: DemoStaffChat) -> Callable[[], Awaitable[list[Reply]]]:
    """What the alert outbox owes the staff chat, printed as "[staff chat] ..." after each
    input."""

    async def deliver() -> list[Reply]:
        await alerts.tick()
        sent = list(chat.posted)
        chat.posted.clear()
        return sent

    return deliver


async def run_demo(settings: Settings, source: TextIO = sys.stdin,
                   out: TextIO = sys.stdout, advisor: Advisor | None = None) -> int:
    """The interactive loop; returns the exit status. `advisor`: one already loaded for these
    settings (tests share one), else it is loaded from them."""
    settings = demo_settings(settings)
    check_texts(settings)  # a broken text file stops the demo now, with its file and line
    if advisor is None:  # and broken knowledge data before the demo database is made
        advisor = load_advisor(settings)
    check_alert_topics(settings, advisor)  # a bad entry stops the demo now, file and line
    with tempfile.TemporaryDirectory(prefix="aftercare-demo-") as folder:
        url = (settings.database_url if "database_url" in settings.model_fields_set
               else f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}")
        db = await Database.connect(url)
        conversation: Conversation | None = None
        try:
            clock = ManualClock(demo_start(utcnow(), settings.tz))
            sender, staff_chat = DemoSender(), DemoStaffChat()
            services = build_services(settings, db, sender, clock, alert_sender=staff_chat,
                                      advisor=advisor)
            conversation = services.patient.conversation
            if settings.warm_up:  # the first messages typed need not compile patterns
                warm_in_background(advisor, warm_for_patients)
            demo = Demo(conversation, clock, out, staff_chat=staff_chat, desk=services.desk,
                        checkins=services.checkins.service)

            async def checkins_sent(_now: dt.datetime) -> list[Reply]:
                await services.checkins.service.tick()
                return sender.take()

            demo.ticks.append(checkins_sent)
            assert services.checkins.alerts is not None
            demo.after_input.append(staff_cards(services.checkins.alerts, staff_chat))
            out.write(html_to_text(conversation.messages.render("demo.intro")) + "\n")
            interactive = source.isatty()
            demo.show(await conversation.start(demo.user_id, demo.user_id, demo.first_name))
            while True:
                if interactive:
                    out.write(text("demo.you"))
                    out.flush()
                line = await _read_line(source)
                if not line:
                    break
                if not interactive:
                    out.write(f"{text('demo.you')}{line.rstrip()}\n")
                if not await demo.handle(line):
                    break
                for after in demo.after_input:
                    cards = await after()
                    if cards:  # an empty show would drop the newest message's buttons
                        demo.show(cards)
        finally:
            if conversation is not None:
                await conversation.log.flush()
            await db.close()
    return 0
