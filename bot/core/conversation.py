"""The conversation with a patient, independent of Telegram: plain values in, `Reply`s out.

`Conversation` is a thin facade: it dispatches every kind of input (text, commands, button
presses, media, edits, group messages) to the flow that owns it (bot/core/flows/). It stores
what it may: nothing but the Telegram id until the patient consents. Triage always runs
first; red flags always get the emergency or urgent advice, a report and a staff alert, with
or without consent.

The Telegram handlers (bot/telegram/handlers.py) and the terminal demo (bot/cli/demo.py) both
drive this class, so they behave the same. Replies are Telegram HTML with every user or
knowledge-base text escaped; long texts are already split under Telegram's limit.

Callback data is short and carries no authority ("consent:yes", "kb:<entry id>", "handoff",
"fu:<rule-out question id>:y|n",
"session:today", "delete:yes"): whatever it refers to is looked up server-side for the user
who pressed it.

Its collaborators come in through the constructor (bot/compose.py builds them): the
`FlowKit` (stores, settings, clock, texts, advisor), the count of erasures (`Erasures`: an
erasure made through any replica empties this process's caches of patients' words before the
next update is handled, bot/core/forgetting.py), and optionally the check-in
scheduler (`CheckinEvents`), the staff desk's cards (`ReportNotifier`, default: a plain
staff alert) and patient side (`PatientDesk`) and the bot's @username
(`BotIdentity`, default: the configured one), narrow Protocols of bot/core/ports.py.
The desk never holds the conversation.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.core.flows.advice import AdviceFlow
from bot.core.flows.base import STATE_TTL, BotSettings, Clock, FlowKit, TurnContext
from bot.core.flows.checkins import CheckinAnswers
from bot.core.flows.control import FlowControl
from bot.core.flows.media import MediaFlow
from bot.core.flows.onboarding import Onboarding
from bot.core.flows.privacy import PrivacyFlow
from bot.core.flows.report import ReportFlow
from bot.core.flows.sessions import SessionFlow
from bot.core.flows.staff_commands import FixedIdentity, StaffCommands, invite_link
from bot.core.flows.timezone import TimeZoneFlow
from bot.core.forgetting import Forgetting
from bot.core.logbook import MessageLog
from bot.core.ports import (
    AdvisorPort,
    BotIdentity,
    ChatStates,
    CheckinEvents,
    Erasures,
    PatientDesk,
    ReportNotifier,
)
from bot.core.replies import Button, Buttons, Reply
from knowledge.catalogue import Catalogue, Trusted
from storage import PatientInfo, ReportInfo, SessionInfo

__all__ = ["BotSettings", "Button", "Buttons", "Clock", "Conversation",
           "ONE_SHOT_CALLBACKS", "PATIENT_COMMANDS", "Reply", "STAFF_COMMANDS", "STATE_TTL",
           "invite_link"]

PATIENT_COMMANDS = ("start", "session", "report", "help", "privacy", "mydata", "delete", "stop",
                    "resume", "timezone", "cancel")
STAFF_COMMANDS = ("help", "queue", "report", "patient", "gaps", "resolve", "reopen", "cancel",
                  "addsession", "invite")
# their keyboards go after a press
ONE_SHOT_CALLBACKS = ("consent", "session", "delete", "tz", "flow", "sd", "sx")


class Conversation:
    """All conversation logic. Every public method returns the replies to send, in order."""

    def __init__(self, kit: FlowKit, *, cards: ReportNotifier, erasures: Erasures,
                 checkins: CheckinEvents | None = None, desk: PatientDesk | None = None,
                 identity: BotIdentity | None = None) -> None:
        self.kit = kit
        self.identity: BotIdentity = identity or FixedIdentity(kit.settings.bot_username)
        self.checkins = checkins
        self.desk = desk
        self.alerts = cards  # the staff desk's cards (bot/core/desk/cards.py)
        self.control = FlowControl(kit)  # the rules every multi-step flow follows
        self.zones = TimeZoneFlow(kit, self.control, checkins)
        self.onboarding = Onboarding(kit, self.zones, checkins)
        self.sessions = SessionFlow(kit, self.control, checkins)
        self.advice = AdviceFlow(kit, self.alerts, checkins, self.sessions, desk)
        # an erasure made through any replica empties this process's caches of words
        self.forgetting = Forgetting(erasures, self.advice, kit.clock)
        self.checkin_answers = CheckinAnswers(kit, checkins, self.alerts, self.control, desk)
        self.privacy = PrivacyFlow(kit, self.control, checkins, self.forgetting)
        self.report = ReportFlow(kit, desk, self.advice, self.control) if desk else None
        self.staff_commands = StaffCommands(kit, self.sessions, self.identity)
        self.other = MediaFlow(kit, self.message)

    # --- shared parts, as other code and tests know them -------------------------------
    @property
    def advisor(self) -> AdvisorPort:
        """What answers patients' questions (shared with the desk through the kit; it
        follows the clinic's KB additions, bot/core/advisors.py)."""
        return self.kit.advisor

    @property
    def settings(self) -> BotSettings:
        return self.kit.settings

    @property
    def clock(self) -> Clock:
        return self.kit.clock

    @property
    def messages(self) -> Catalogue:
        return self.kit.messages

    @property
    def log(self) -> MessageLog:
        return self.kit.log

    @property
    def chat_states(self) -> ChatStates:
        return self.kit.chat_states

    @property
    def bot_username(self) -> str | None:
        """The bot's @username (configured, or from Telegram's getMe), None while unknown."""
        return self.identity.username

    def say(self, key: str, buttons: Buttons = (), **values: Any) -> list[Reply]:
        """A catalogue message as replies (split if long; buttons on the last part)."""
        return self.kit.say(key, buttons, **values)

    @staticmethod
    def html(text: str, buttons: Buttons = ()) -> list[Reply]:
        """Already-safe HTML as replies, split under Telegram's limit."""
        return FlowKit.html(text, buttons)

    def notice(self, key: str, **values: Any) -> Reply:
        """A button-press notice (plain text for answerCallbackQuery)."""
        return self.kit.notice(key, **values)

    def today(self, patient: PatientInfo | None) -> dt.date:
        """Today's date in the patient's time zone (or the clinic's)."""
        return self.kit.today(patient)

    def day_of(self, patient: PatientInfo | None, session: SessionInfo | None) -> int | None:
        """Recovery day from the latest session (None without one)."""
        return self.kit.day_of(patient, session)

    async def context(self, user_id: int) -> TurnContext:
        """Patient, latest session, recovery day and conversation states (one round trip)."""
        return await self.kit.context(user_id)

    def consent_buttons(self) -> Buttons:
        """"I agree" / "No thanks"."""
        return self.kit.consent_buttons()

    def session_buttons(self) -> Buttons:
        """Today / Yesterday / Another date."""
        return self.sessions.buttons()

    def notify_staff(self, report: ReportInfo) -> list[Reply]:
        """The staff-chat alert or card for `report`."""
        return self.alerts.notify(report)

    def command_list(self, staff: bool = False) -> Trusted:
        """The commands as HTML lines ("/mydata - see what is stored about you")."""
        names = STAFF_COMMANDS if staff else PATIENT_COMMANDS
        section = "staff_commands" if staff else "commands"
        lines = [f"/{name} — {html.escape(str(self.messages.raw(f'{section}.{name}')))}"
                 for name in names]
        return Trusted("\n".join(lines))

    def command_descriptions(self, staff: bool = False) -> list[tuple[str, str]]:
        """(command, description) pairs for setMyCommands."""
        section = "staff_commands" if staff else "commands"
        names = STAFF_COMMANDS if staff else PATIENT_COMMANDS
        return [(name, str(self.messages.raw(f"{section}.{name}"))[:256]) for name in names]

    # --- dispatch --------------------------------------------------------------------------
    async def start(self, user_id: int, chat_id: int, first_name: str,
                    payload: str | None = None) -> list[Reply]:
        """Welcome (or welcome back); a deep-link payload redeems an invite first."""
        await self.forgetting.before_update()
        return await self.onboarding.start(user_id, chat_id, first_name, payload)

    async def message(self, user_id: int, chat_id: int, first_name: str,
                      text: str, language_code: str | None = None,
                      message_id: int | None = None) -> list[Reply]:
        """A patient's text: the open flow's input (a place, a date, a report, a check-in
        problem's description) when it is for that flow, otherwise a thread with staff or
        triage + advice (and the open flow shown again). `message_id` (Telegram's) is kept
        with a report the text raises, so that an edit of the message updates it."""
        await self.forgetting.before_update()
        text = without_nul(text)
        kit = self.kit
        ctx = await kit.context(user_id)
        if ctx.patient is not None and not ctx.patient.active:
            await kit.patients.reactivate(user_id)  # writing again means they unblocked us

        async def answer() -> list[Reply]:
            if self.desk is not None:  # a thread with staff about an open report
                handled = await self.desk.patient_text(
                    user_id, chat_id, first_name, text,
                    may_have_thread=ctx.has_open_report,
                    states=ctx.states)
                if handled is not None:
                    return list(handled)
            source = (chat_id, message_id) if message_id is not None else None
            return await self.advice.ask(user_id, ctx, text, language_code, source)

        # "yes" / "no" typed to an open rule-out question is its answer, before any flow or
        # thread reads the word: a Yes must never get a thumbs-up
        typed = await self.advice.typed_follow_up(user_id, ctx, text)
        if typed is not None:
            return self.control.attach(typed, await self.control.live(user_id, ctx))
        consent = self.onboarding.typed_consent(ctx, text)
        if consent is not None:
            return consent
        placed = await self.zones.typed_place(user_id, ctx, text)
        if placed is not None:
            return placed
        return await self.control.text(user_id, ctx, text, answer)

    async def location(self, user_id: int, chat_id: int, first_name: str, latitude: float,
                       longitude: float) -> list[Reply]:
        """A shared location: the patient's time zone from it (consent needed)."""
        await self.forgetting.before_update()
        zoned = await self.zones.location(user_id, latitude, longitude)
        if zoned is not None:
            return zoned
        return await self.other.media(user_id, chat_id, first_name, "location")

    async def edited(self, user_id: int, chat_id: int, first_name: str,
                     text: str, language_code: str | None = None,
                     message_id: int | None = None) -> list[Reply]:
        """An edited message: ignored by design, unless the new text raises a red flag.

        Answering every edit again would repeat advice the patient already has; but a
        warning sign added in an edit must not be missed, so edits are re-triaged. An edit
        of the message that raised an open report (matched by chat and `message_id`)
        updates that report and its card instead of raising another.
        """
        await self.forgetting.before_update()
        text = without_nul(text)
        source = (chat_id, message_id) if message_id is not None else None
        return await self.advice.edited(user_id, text, language_code, source)

    async def callback(self, user_id: int, chat_id: int, first_name: str,
                       data: str) -> list[Reply]:
        """A pressed inline button. Unknown or stale data gets a notice, never an error."""
        await self.forgetting.before_update()
        kind, _, argument = data.partition(":")
        if kind == "consent":
            return await self.onboarding.consent(user_id, chat_id, first_name, argument)
        if kind == "kb" and argument:
            return await self.advice.chosen_entry(user_id, argument)
        if kind == "handoff":
            return await self.advice.handoff(user_id)
        if kind == "fu" and argument:
            return await self.advice.follow_up_answer(user_id, argument)
        if kind == "session":
            return await self.sessions.choice(user_id, argument)
        if kind == "delete":
            return await self.privacy.delete_choice(user_id, argument)
        if kind == "tz":
            return await self.zones.choice(user_id, argument)
        if kind == "flow" and argument == "send" and self.report is not None:
            return await self.report.send(user_id)
        if kind == "flow":
            return await self.control.button(user_id, argument)
        if kind == "sd":
            return await self.sessions.confirmed(user_id, argument)
        if kind == "sx":
            return await self.sessions.fix(user_id, argument)
        if kind == "ci" and self.checkin_answers.attached:
            return await self.checkin_answers.answer(user_id, data)
        return [self.notice("button_expired")]

    async def command(self, user_id: int, chat_id: int, first_name: str, name: str,
                      args: Sequence[str] = ()) -> list[Reply]:
        """A /command other than /start (which has its own method)."""
        await self.forgetting.before_update()
        name = name.lower()
        if name in ("addsession", "invite"):
            return await self.staff_commands.run(user_id, name, list(args))
        if name == "cancel" and chat_id != self.settings.staff_chat_id:
            return await self.control.cancel(user_id)
        if name == "report" and self.report is not None:
            return await self.report.command(user_id)
        handlers: dict[str, Callable[[int], Awaitable[list[Reply]]]] = {
            "help": self._help, "session": self.sessions.command,
            "privacy": self.privacy.privacy, "mydata": self.privacy.mydata,
            "delete": self.privacy.delete_command, "stop": self.privacy.stop,
            "resume": self.privacy.resume, "timezone": self.zones.command,
        }
        handler = handlers.get(name)
        if handler is None:
            return self.say("unknown_command", commands=self.command_list())
        return await self.control.after_command(user_id, name, await handler(user_id))

    async def _help(self, user_id: int) -> list[Reply]:
        text = self.messages.render("help", commands=self.command_list())
        hours = self.kit.availability.help_lines()  # when the team reads messages
        replies = self.html(text + "\n\n" + hours if hours else text)
        if self.settings.is_staff(user_id):
            replies += self.html(self.command_list(staff=True))
        return replies

    async def media(self, user_id: int, chat_id: int, first_name: str, kind: str,
                    caption: str | None = None) -> list[Reply]:
        """A sticker, voice note, photo, ...: a short reply; a caption is read as text."""
        await self.forgetting.before_update()
        caption = without_nul(caption) if caption is not None else None
        return await self.other.media(user_id, chat_id, first_name, kind, caption)

    def group_message(self, chat_id: int) -> list[Reply]:
        """A message in a group chat: one "private chats only" line per group, then silence."""
        return self.other.group_message(chat_id)

    async def blocked(self, *, user_id: int | None = None, chat_id: int | None = None) -> None:
        """The user blocked the bot (403 on a send, or a my_chat_member "kicked")."""
        await self.other.blocked(user_id=user_id, chat_id=chat_id)

    async def unblocked(self, user_id: int) -> None:
        """The user unblocked the bot (my_chat_member back to "member")."""
        await self.other.unblocked(user_id)


def without_nul(text: str) -> str:
    """The text without NUL characters: PostgreSQL cannot store them in text columns, and a
    patient's message must never be lost over an invisible character."""
    return text.replace("\x00", "")
