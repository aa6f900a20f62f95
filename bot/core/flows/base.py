"""What every conversation flow shares: `FlowKit` (the stores, settings, clock, texts, the
user's short-lived state) and the per-update `TurnContext`.

Short-lived state (the last question for "ask the clinic"; a multi-step flow in progress is
kept by `FlowStore`, bot/core/flowstate.py) lives in the database (``chat_state``,
storage/chat_state.py) for `STATE_TTL` after its last change, so the patient's next update
may reach another replica, or this one after a restart. It is read with the per-message
patient query (no extra round trip) and written only when it changes; /delete erases it with
everything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.availability import Availability, HoursSettings, Kind
from bot.core.flowstate import FlowStore
from bot.core.logbook import MessageLog
from bot.core.ports import (
    AdvisorPort,
    ChatStates,
    DataSummary,
    Invites,
    MessageStore,
    PatientContexts,
    Patients,
    Reports,
    Treatments,
)
from bot.core.replies import Button, Buttons, Reply, as_replies
from knowledge.catalogue import Catalogue, Trusted
from scheduler.days import local_today, recovery_day
from storage import PatientInfo, SessionInfo
from storage.chat_state import PATIENT_KINDS, Payload, StateKind
from storage.clock import Clock

log = logging.getLogger(__name__)

STATE_TTL = dt.timedelta(hours=1)  # a typed date / zone awaited, the question to hand on


class BotSettings(HoursSettings, Protocol):
    """What the conversation needs from `bot.config.Settings`."""

    @property
    def staff_chat_id(self) -> int | None: ...

    @property
    def invite_ttl(self) -> dt.timedelta: ...

    @property
    def bot_username(self) -> str | None: ...

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def alert_open_emergency_hours(self) -> int: ...

    @property
    def alert_open_urgent_hours(self) -> int: ...

    def is_staff(self, user_id: int) -> bool: ...


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class UserState:
    """Short-lived state of one user's conversation (database kind "patient", `STATE_TTL`)."""

    last_question: str | None = None
    last_day: int | None = None
    handed_off: bool = False
    follow_up: str | None = None  # id of the rule-out question the patient was just asked
    follow_up_text: str | None = None  # the words it was asked about (for the staff card)
    zone_asked: bool = False  # "Which time zone are you in?" shown and not answered yet

    @classmethod
    def load(cls, payload: Mapping[str, Any] | None) -> UserState:
        """From a stored payload; unknown keys or wrong types fall back to the defaults."""
        if not payload:
            return cls()
        question, day = payload.get("last_question"), payload.get("last_day")
        return cls(last_question=question if isinstance(question, str) else None,
                   last_day=day if isinstance(day, int) else None,
                   handed_off=payload.get("handed_off") is True,
                   follow_up=_text_or_none(payload.get("follow_up")),
                   follow_up_text=_text_or_none(payload.get("follow_up_text")),
                   zone_asked=payload.get("zone_asked") is True)

    @property
    def empty(self) -> bool:
        """True when there is nothing worth storing."""
        return self == UserState()

    def payload(self) -> Payload:
        """What is stored (defaults left out)."""
        defaults = UserState()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(defaults, f.name)}


@dataclass
class TurnContext:
    """The user's patient row, latest session and recovery day for one update."""

    patient: PatientInfo | None
    session: SessionInfo | None
    day: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Payload] = field(default_factory=dict)  # kind -> unexpired payload

    @property
    def consented(self) -> bool:
        return self.patient is not None and self.patient.has_consent

    @property
    def has_open_report(self) -> bool:
        """An unresolved report: a thread with staff, or a red flag whose "ok" gets the
        safety line rather than any typed-answer reading."""
        return self.patient is not None and self.patient.open_reports > 0


class FlowKit:
    """Shared tools of the flows and the staff desk: the storage aggregates they use (each
    through its narrow Protocol of bot/core/ports.py; bot/compose.py hands in the stores of
    storage/), settings, clock, texts, the advisor that answers
    patients, and the user's short-lived state."""

    def __init__(self, settings: BotSettings, clock: Clock, messages: Catalogue,
                 advisor: AdvisorPort, *, patients: Patients, treatments: Treatments,
                 invites: Invites, reports: Reports, message_log: MessageStore,
                 stats: DataSummary, contexts: PatientContexts,
                 chat_states: ChatStates) -> None:
        self.patients = patients
        self.treatments = treatments
        self.invites = invites
        self.reports = reports
        self.stats = stats
        self.contexts = contexts  # the one read across aggregates
        self.advisor = advisor  # follows the clinic's KB additions (bot/core/advisors.py)
        self.settings = settings
        self.clock = clock
        self.messages = messages
        self.log = MessageLog(message_log)  # written behind the reply path
        self.chat_states = chat_states
        self.flows = FlowStore(self.chat_states, clock)  # the patient's multi-step flow
        self.availability = Availability(settings, messages, clock)  # opening hours, on call

    # --- texts ---------------------------------------------------------------------------
    def say(self, key: str, buttons: Buttons = (), **values: Any) -> list[Reply]:
        """A catalogue message as replies (split if long; buttons on the last part)."""
        return as_replies(self.messages.render(key, **values), buttons)

    @staticmethod
    def html(text: str, buttons: Buttons = ()) -> list[Reply]:
        """Already-safe HTML as replies, split under Telegram's limit."""
        return as_replies(text, buttons)

    def notice(self, key: str, **values: Any) -> Reply:
        """A button-press notice (plain text for answerCallbackQuery)."""
        return Reply(html.unescape(self.messages.render(key, **values)), notice=True)

    def button(self, key: str, data: str) -> Button:
        """A button with a catalogue label."""
        return (self.messages.label(key), data)

    def consent_buttons(self) -> Buttons:
        """"I agree" / "No thanks"."""
        return ((self.button("agree", "consent:yes"), self.button("decline", "consent:no")),)

    # --- state ---------------------------------------------------------------------------
    async def state(self, user_id: int, ctx: TurnContext | None = None) -> UserState:
        """The user's conversation state: from `ctx` when it was read with it, else stored."""
        if ctx is not None:
            return UserState.load(ctx.states.get(StateKind.PATIENT.value))
        return UserState.load(
            await self.chat_states.get(user_id, StateKind.PATIENT, now=self.clock()))

    async def update_state(self, user_id: int, ctx: TurnContext | None = None,
                           **changes: Any) -> UserState:
        """Change fields of the user's state; written (TTL renewed) only when it changes."""
        before = await self.state(user_id, ctx)
        after = dataclasses.replace(before, **changes)
        if after == before:
            return after
        if after.empty:
            await self.chat_states.clear(user_id, StateKind.PATIENT)
        else:
            await self.chat_states.put(user_id, StateKind.PATIENT, after.payload(), STATE_TTL,
                                       now=self.clock())
        if ctx is not None:  # later steps of the same update see the change
            if after.empty:
                ctx.states.pop(StateKind.PATIENT.value, None)
            else:
                ctx.states[StateKind.PATIENT.value] = after.payload()
        return after

    # --- time ----------------------------------------------------------------------------
    def tz(self, patient: PatientInfo | None) -> ZoneInfo:
        """The patient's time zone, or the clinic's."""
        if patient is not None and patient.timezone:
            try:
                return ZoneInfo(patient.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("patient %d has an unknown time zone", patient.id)
        return self.settings.tz

    def when_read(self, kind: Kind, patient: PatientInfo | None, **values: Any) -> Trusted:
        """When a person will read it (clinic hours), in the patient's time zone: HTML."""
        own = patient is not None and bool(patient.timezone)
        return Trusted(self.availability.status(kind, self.tz(patient), own, **values))

    def closed_note(self, kind: Literal["urgent", "handoff"], language: str,
                    patient: PatientInfo | None) -> str:
        """For a reply in another language: while the clinic is closed, when it opens and what
        to do if it can't wait, in that language (""  while open or without hours): HTML."""
        own = patient is not None and bool(patient.timezone)
        note = self.availability.closed_note(kind, self.advisor.language_hours(language),
                                             self.tz(patient), own)
        return "\n\n" + note if note else ""

    def today(self, patient: PatientInfo | None) -> dt.date:
        """Today's date in the patient's time zone (or the clinic's)."""
        return local_today(self.clock(), self.tz(patient))

    def day_of(self, patient: PatientInfo | None, session: SessionInfo | None) -> int | None:
        """Recovery day from the latest session; None without one (or if it is in the future)."""
        if session is None:
            return None
        day = recovery_day(session.session_date, self.clock(), self.tz(patient))
        return day if day >= 0 else None

    async def context(self, user_id: int) -> TurnContext:
        """Patient, latest session, recovery day and conversation states (one round trip)."""
        now = self.clock()
        found = await self.contexts.patient_context(user_id, now=now)
        states = {kind.value: payload for kind in PATIENT_KINDS
                  if (payload := found.state(kind.value, now)) is not None}
        return TurnContext(found.patient, found.session,
                           self.day_of(found.patient, found.session), states=states)
