"""`StaffDesk`: the one object the Telegram handlers, the web desk, the demo and the tests
hold for the staff side. It does nothing itself: each call goes to the job that holds it
(bot/core/desk/*.py), all built by bot/compose.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.desk.cards import Cards
from bot.core.desk.commands import StaffCommands
from bot.core.desk.escalation import Escalations
from bot.core.desk.kit import DeskKit
from bot.core.desk.patients import PatientReports
from bot.core.desk.presses import CardPresses
from bot.core.desk.relays import Relays
from bot.core.desk.resolutions import Resolutions
from bot.core.desk.staff_chat import StaffMessages
from bot.core.desk.views import DeskViews
from bot.core.desk.web import WebActions, WebOutcome
from bot.core.flows.base import BotSettings, FlowKit
from bot.core.ports import AdvisorPort, AlertWaker, ChatStates, DeskReports
from bot.core.replies import Relay, Reply
from scheduler.alerts import OutgoingAlert
from storage import ReportInfo
from storage.alerts import ClaimedAlert


class StaffDesk:
    """The staff desk's jobs behind one entry point (see the module docstring)."""

    def __init__(self, kit: FlowKit, desk_kit: DeskKit, store: DeskReports, *, cards: Cards,
                 escalation: Escalations, presses: CardPresses, staff_chat: StaffMessages,
                 relays: Relays, resolutions: Resolutions, commands: StaffCommands,
                 views: DeskViews, web: WebActions, patients: PatientReports) -> None:
        self.kit = kit  # the flows' kit (stores, clock), as tests and tools reach it
        self.desk_kit = desk_kit
        self.store = store
        self.cards = cards
        self.escalation = escalation
        self.presses = presses
        self.staff_chat_messages = staff_chat
        self.relays = relays
        self.resolutions = resolutions
        self.commands = commands
        self.views = views
        self.web = web
        self.patients = patients

    # --- shared parts -----------------------------------------------------------------------
    @property
    def settings(self) -> BotSettings:
        """The settings every staff action checks the staff list in."""
        return self.desk_kit.settings

    @settings.setter
    def settings(self, value: BotSettings) -> None:
        self.desk_kit.settings = value

    @property
    def alerts(self) -> AlertWaker | None:
        """What wakes the alert sender."""
        return self.desk_kit.alerts

    @property
    def states(self) -> ChatStates:
        """The short-lived chat states (a staff member's pending action among them)."""
        return self.kit.chat_states

    @property
    def advisor(self) -> AdvisorPort:
        """The advisor of the moment (shared with the conversation through the kit)."""
        return self.kit.advisor

    @property
    def staff_chat(self) -> int | None:
        """The staff chat id (None when not configured)."""
        return self.desk_kit.staff_chat

    def now(self) -> dt.datetime:
        """The shared clock."""
        return self.desk_kit.now()

    def text(self, key: str, **values: Any) -> str:
        """A rendered (HTML) message of the "desk" section."""
        return self.desk_kit.text(key, **values)

    def label(self, report: ReportInfo) -> str:
        """What a card starts with ("desk.labels")."""
        return self.desk_kit.label(report)

    def plain(self, key: str, **values: Any) -> str:
        """A "desk" message as plain text."""
        return self.desk_kit.plain(key, **values)

    def to_staff(self, key: str, reply_to: int | None = None, **values: Any) -> Reply:
        """A message for the staff chat."""
        return self.desk_kit.to_staff(key, reply_to, **values)

    def staff_name(self, user_id: int | None) -> str:
        """The first name staff last used, or "staff 123"."""
        return self.desk_kit.staff_name(user_id)

    def seen(self, user_id: int, first_name: str) -> None:
        """A staff member used this first name (the web desk's login)."""
        self.desk_kit.seen(user_id, first_name)

    # --- cards and escalations --------------------------------------------------------------
    async def render(self, alert: ClaimedAlert) -> OutgoingAlert | None:
        """`AlertRenderer` (`Cards.render`)."""
        return await self.cards.render(alert)

    async def card_sent(self, reply: Reply, chat_id: int, message_id: int) -> None:
        """A card or notice was delivered (`Cards.card_sent`)."""
        await self.cards.card_sent(reply, chat_id, message_id)

    def thresholds(self) -> dict[str, dt.timedelta]:
        """How long emergency / urgent cards may wait (`Escalations.thresholds`)."""
        return self.escalation.thresholds()

    async def escalations(self) -> list[Reply]:
        """Owe re-posts of cards nobody took in time (`Escalations.escalations`)."""
        return await self.escalation.escalations()

    # --- staff actions ----------------------------------------------------------------------
    async def staff_callback(self, user_id: int, first_name: str, chat_id: int | None,
                             message_id: int | None, data: str) -> list[Reply]:
        """A press on a card (`CardPresses.staff_callback`)."""
        return await self.presses.staff_callback(user_id, first_name, chat_id, message_id, data)

    async def staff_message(self, user_id: int, first_name: str, chat_id: int, message_id: int,
                            text: str | None, reply_to: int | None = None,
                            photo: str | None = None, document: str | None = None,
                            replied_to_bot: bool = False) -> list[Reply] | None:
        """A non-command staff message (`StaffMessages.staff_message`)."""
        return await self.staff_chat_messages.staff_message(
            user_id, first_name, chat_id, message_id, text, reply_to, photo, document,
            replied_to_bot)

    async def staff_command(self, user_id: int, first_name: str, chat_id: int,
                            message_id: int | None, name: str | None,
                            args: Sequence[str]) -> list[Reply] | None:
        """A desk command (`StaffCommands.staff_command`)."""
        return await self.commands.staff_command(user_id, first_name, chat_id, message_id,
                                                 name, args)

    async def relay_done(self, relay: Relay) -> list[Reply]:
        """A staff answer reached the patient (`Relays.relay_done`)."""
        return await self.relays.relay_done(relay)

    async def relay_failed(self, relay: Relay, reason: str) -> list[Reply]:
        """A staff answer did not reach the patient (`Relays.relay_failed`)."""
        return await self.relays.relay_failed(relay, reason)

    async def web_action(self, user_id: int, first_name: str, action: str, report_id: int,
                         text: str = "") -> WebOutcome:
        """A web-desk action (`WebActions.web_action`)."""
        return await self.web.web_action(user_id, first_name, action, report_id, text)

    # --- views ------------------------------------------------------------------------------
    async def queue_text(self) -> str:
        """/queue (`DeskViews.queue_text`)."""
        return await self.views.queue_text()

    async def unreachable_lines(self, plain: bool = False) -> list[str]:
        """On-call staff the bot cannot reach (`DeskViews.unreachable_lines`)."""
        return await self.views.unreachable_lines(plain)

    # --- the patient side (`PatientDesk`, for the conversation) ----------------------------
    def notify(self, report: ReportInfo) -> list[Reply]:
        """The staff-chat card for a new report (`Cards.notify`)."""
        return self.cards.notify(report)

    async def repeat(self, user_id: int, text: str, urgency: str | None) -> int | None:
        """A repeated red flag joins the open report (`Cards.repeat`)."""
        return await self.cards.repeat(user_id, text, urgency)

    async def edited(self, user_id: int, chat_id: int, message_id: int, text: str,
                     urgency: str | None) -> tuple[int, str] | None:
        """An edited message updates the report it raised (`Cards.edited`)."""
        return await self.cards.edited(user_id, chat_id, message_id, text, urgency)

    async def patient_report(self, user_id: int, text: str) -> list[Reply]:
        """The words of a /report (`PatientReports.patient_report`)."""
        return await self.patients.patient_report(user_id, text)

    async def add_to_report(self, user_id: int, report_id: int,
                            text: str) -> list[Reply] | None:
        """More words for an open report (`PatientReports.add_to_report`)."""
        return await self.patients.add_to_report(user_id, report_id, text)

    async def patient_text(self, user_id: int, chat_id: int, first_name: str,
                           text: str, may_have_thread: bool = True,
                           states: Mapping[str, Any] | None = None) -> list[Reply] | None:
        """A patient's text in a thread with staff (`PatientReports.patient_text`)."""
        return await self.patients.patient_text(user_id, chat_id, first_name, text,
                                                may_have_thread, states)

    async def patient_photo(self, user_id: int, chat_id: int, first_name: str, file_id: str,
                            caption: str | None = None) -> list[Reply] | None:
        """A patient's photo (`PatientReports.patient_photo`)."""
        return await self.patients.patient_photo(user_id, chat_id, first_name, file_id, caption)

    async def checkin_description(self, report_id: int, text: str, label: str,
                                  urgency: str | None, reason: str | None) -> list[Reply]:
        """A check-in answer's description (`PatientReports.checkin_description`)."""
        return await self.patients.checkin_description(report_id, text, label, urgency,
                                                       reason)
