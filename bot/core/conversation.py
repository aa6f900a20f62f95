"""The conversation with a patient, independent of Telegram: plain values in, `Reply`s out.

`Conversation` decides what the bot says to every kind of input (commands, text, button
presses, media, edits, group messages) and stores what it may: nothing but the Telegram id
until the patient consents. Triage always runs first; red flags always get the emergency or
urgent advice, a report and a staff alert (`notify_staff`), with or without consent.

The Telegram handlers (bot/telegram/handlers.py) and the terminal demo (bot/cli/demo.py) both drive this
class, so they behave the same. Replies are Telegram HTML with every user or knowledge-base
text escaped; long texts are already split under Telegram's 4,096-character limit.

Callback data is short and carries no authority ("consent:yes", "kb:<entry id>", "handoff",
"session:today", "delete:yes"): whatever it refers to is looked up server-side for the user
who pressed it.

Short-lived state (a typed date or time zone being awaited, the last question for "ask the
clinic") lives in the database (``chat_state``, storage/chat_state.py) for `STATE_TTL` after
its last change, so the patient's next update may reach another replica, or this one after a
restart. It is read with the per-message patient query (no extra round trip) and written only
when it changes; /delete erases it with everything else. The one exception: the question of a
user who has not agreed to storage is kept in this process's memory only, since nothing beyond
the Telegram id may be stored before consent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.dates import DateProblem, check_session_date, parse_date
from bot.core.formatting import split_html
from bot.core.logbook import MessageLog
from bot.core.messages import Messages, Trusted
from knowledge.advisor import Advice, Advisor
from scheduler.days import local_today, recovery_day
from scheduler.zones import city_label, offered_zones, resolve_zone
from storage import (
    ConsentRequired,
    Direction,
    InactiveReason,
    PatientInfo,
    RedeemStatus,
    ReportInfo,
    ReportKind,
    Repository,
    SessionInfo,
    SessionSource,
    utcnow,
)
from storage.chat_state import PATIENT_KINDS, ChatStateStore, Payload, StateKind

log = logging.getLogger(__name__)

Button = tuple[str, str]  # (label, callback_data)
Buttons = tuple[tuple[Button, ...], ...]
Clock = Callable[[], dt.datetime]
PATIENT_COMMANDS = ("start", "session", "report", "help", "privacy", "mydata", "delete", "stop",
                    "resume", "timezone")
STAFF_COMMANDS = ("help", "queue", "report", "patient", "gaps", "resolve", "reopen", "cancel",
                  "addsession", "invite")
ONE_SHOT_CALLBACKS = ("consent", "session", "delete", "tz")  # their keyboards go after a press
MAX_CALLBACK_DATA = 64
MAX_ALERT_TEXT = 1500
STATE_TTL = dt.timedelta(hours=1)  # a typed date / zone awaited, the question to hand on
MAX_REMEMBERED_USERS = 10_000  # questions of users without consent, kept in memory only


class BotSettings(Protocol):
    """What the conversation needs from `bot.config.Settings`."""

    staff_chat_id: int | None
    invite_ttl: dt.timedelta
    bot_username: str | None

    @property
    def tz(self) -> ZoneInfo: ...

    def is_staff(self, user_id: int) -> bool: ...


@dataclass(frozen=True)
class Reply:
    """One thing to say: a chat message (to the user, or to `to_chat`) or a button notice.

    `notice` replies are the short text shown when a button is pressed (answerCallbackQuery),
    not chat messages. Staff-side extras (bot/core/desk.py): `photo` / `document` send a Telegram
    file id with `text` as caption, `reply_to` threads under a message of `to_chat`, and
    `card_for` asks the sender to record the sent message as a card of that report.
    """

    text: str
    buttons: Buttons = ()
    to_chat: int | None = None
    notice: bool = False
    photo: str | None = None
    document: str | None = None
    reply_to: int | None = None
    card_for: int | None = None
    card_kind: str = "card"


@dataclass(frozen=True)
class _UserState:
    """Short-lived state of one user's conversation (database kind "patient", `STATE_TTL`)."""

    last_question: str | None = None
    last_day: int | None = None
    handed_off: bool = False
    awaiting_date: bool = False
    awaiting_zone: bool = False

    @classmethod
    def load(cls, payload: Mapping[str, Any] | None) -> _UserState:
        """From a stored payload; unknown keys or wrong types fall back to the defaults."""
        if not payload:
            return cls()
        question, day = payload.get("last_question"), payload.get("last_day")
        return cls(last_question=question if isinstance(question, str) else None,
                   last_day=day if isinstance(day, int) else None,
                   handed_off=payload.get("handed_off") is True,
                   awaiting_date=payload.get("awaiting_date") is True,
                   awaiting_zone=payload.get("awaiting_zone") is True)

    @property
    def empty(self) -> bool:
        """True when there is nothing worth storing."""
        return self == _UserState()

    def payload(self) -> Payload:
        """What is stored (defaults left out)."""
        defaults = _UserState()
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(defaults, f.name)}


@dataclass
class _Context:
    """The user's patient row, latest session and recovery day for one update."""

    patient: PatientInfo | None
    session: SessionInfo | None
    day: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Payload] = field(default_factory=dict)  # kind -> unexpired payload

    @property
    def consented(self) -> bool:
        return self.patient is not None and self.patient.has_consent


class Conversation:
    """All conversation logic. Every public method returns the replies to send, in order."""

    def __init__(self, repo: Repository, advisor: Advisor, settings: BotSettings,
                 clock: Clock = utcnow, messages: Messages | None = None) -> None:
        self.repo = repo
        self.advisor = advisor
        self.settings = settings
        self.clock = clock
        self.messages = messages or Messages.load(advisor.clinic)
        self.bot_username: str | None = settings.bot_username
        self.log = MessageLog(repo)
        self.checkins: Any = None  # scheduler.service.CheckinService, set by bot/telegram/app.py
        self.staff: Any = None  # bot.core.desk.StaffDesk: report cards, threads, /report
        self.chat_states = ChatStateStore(repo.sessions)
        self._unconsented: OrderedDict[int, tuple[str, int | None, dt.datetime]] = OrderedDict()
        self._warned_groups: set[int] = set()

    # --- helpers ------------------------------------------------------------------------
    def say(self, key: str, buttons: Buttons = (), **values: Any) -> list[Reply]:
        """A catalogue message as replies (split if long; buttons on the last part)."""
        return self.html(self.messages.render(key, **values), buttons)

    @staticmethod
    def html(text: str, buttons: Buttons = ()) -> list[Reply]:
        """Already-safe HTML as replies, split under Telegram's limit."""
        parts = split_html(text) or [""]
        return [Reply(part, buttons if i == len(parts) - 1 else ())
                for i, part in enumerate(parts)]

    def notice(self, key: str, **values: Any) -> Reply:
        """A button-press notice (plain text for answerCallbackQuery)."""
        return Reply(html.unescape(self.messages.render(key, **values)), notice=True)

    async def _state(self, user_id: int, ctx: _Context | None = None) -> _UserState:
        """The user's conversation state: from `ctx` when it was read with it, else stored."""
        if ctx is not None:
            return _UserState.load(ctx.states.get(StateKind.PATIENT.value))
        return _UserState.load(
            await self.chat_states.get(user_id, StateKind.PATIENT, now=self.clock()))

    async def _update_state(self, user_id: int, ctx: _Context | None = None,
                            **changes: Any) -> _UserState:
        """Change fields of the user's state; written (TTL renewed) only when it changes."""
        before = await self._state(user_id, ctx)
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

    def _tz(self, patient: PatientInfo | None) -> ZoneInfo:
        if patient is not None and patient.timezone:
            try:
                return ZoneInfo(patient.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("patient %d has an unknown time zone", patient.id)
        return self.settings.tz

    def today(self, patient: PatientInfo | None) -> dt.date:
        """Today's date in the patient's time zone (or the clinic's)."""
        return local_today(self.clock(), self._tz(patient))

    def day_of(self, patient: PatientInfo | None, session: SessionInfo | None) -> int | None:
        """Recovery day from the latest session; None without one (or if it is in the future)."""
        if session is None:
            return None
        day = recovery_day(session.session_date, self.clock(), self._tz(patient))
        return day if day >= 0 else None

    async def context(self, user_id: int) -> _Context:
        """Patient, latest session, recovery day and conversation states (one round trip)."""
        now = self.clock()
        found = await self.repo.patient_context(user_id, now=now)
        states = {kind.value: payload for kind in PATIENT_KINDS
                  if (payload := found.state(kind.value, now)) is not None}
        return _Context(found.patient, found.session, self.day_of(found.patient, found.session),
                        states=states)

    def _button(self, key: str, data: str) -> Button:
        return (self.messages.label(key), data)

    def consent_buttons(self) -> Buttons:
        """"I agree" / "No thanks"."""
        return ((self._button("agree", "consent:yes"), self._button("decline", "consent:no")),)

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

    # --- /start and consent --------------------------------------------------------------
    async def start(self, user_id: int, chat_id: int, first_name: str,
                    payload: str | None = None) -> list[Reply]:
        """Welcome (or welcome back); a deep-link payload redeems an invite first."""
        replies: list[Reply] = []
        if payload:
            replies += await self._redeem(payload.strip(), user_id, chat_id)
        patient = await self.repo.ensure_patient(user_id, chat_id, now=self.clock())
        if not patient.active:
            await self.repo.reactivate(user_id)
            log.info("patient %d reactivated by /start", patient.id)
        name = _greeting_name(patient.name or first_name)
        if patient.has_consent:
            return replies + self.say("welcome_back", name=name)
        text = (self.messages.render("welcome", name=name) + "\n\n"
                + self.messages.render("consent_prompt"))
        return replies + self.html(text, self.consent_buttons())

    async def _redeem(self, code: str, user_id: int, chat_id: int) -> list[Reply]:
        result = await self.repo.redeem_invite(code, user_id, chat_id, now=self.clock())
        if result.status is RedeemStatus.EXPIRED:
            return self.say("invite_expired")
        if not result.ok or result.patient is None:
            return self.say("invite_invalid")
        if self.checkins is not None:  # the invite's session now has a chat to go to
            await self.checkins.patient_linked(result.patient.id)
        session = await self.repo.latest_session(result.patient.id)
        if session is not None:
            return self.say("invite_linked_session", date=session.session_date.isoformat())
        return self.say("invite_linked")

    async def _consent(self, user_id: int, chat_id: int, first_name: str,
                       answer: str) -> list[Reply]:
        ctx = await self.context(user_id)
        if answer == "no":
            if ctx.consented:
                return [self.notice("consent_already")]
            return self.say("consent_declined")
        if answer != "yes":
            return [self.notice("button_expired")]
        if ctx.consented:
            return [self.notice("consent_already")]
        await self.repo.ensure_patient(user_id, chat_id, now=self.clock())
        known_name = ctx.patient.name if ctx.patient else None
        patient = await self.repo.record_consent(user_id, None if known_name else first_name,
                                                 now=self.clock())
        name = _greeting_name(patient.name)
        if ctx.session is None:
            thanks = self.messages.render("consent_thanks_no_session", name=name)
        elif ctx.day is None:
            thanks = self.messages.render("consent_thanks", name=name)
        else:
            thanks = self.messages.render("consent_thanks_session", name=name,
                                          date=ctx.session.session_date.isoformat(), day=ctx.day)
        return self._zone_prompt(patient, before=thanks)  # one message: thanks + zone question

    # --- free text ---------------------------------------------------------------------
    async def message(self, user_id: int, chat_id: int, first_name: str,
                      text: str) -> list[Reply]:
        """A patient's text: a date if one was asked for, otherwise triage + advice."""
        ctx = await self.context(user_id)
        state = await self._state(user_id, ctx)
        if ctx.patient is not None and not ctx.patient.active:
            await self.repo.reactivate(user_id)  # writing again means they unblocked us
        if state.awaiting_zone:
            zoned = await self._typed_zone(user_id, ctx, text)
            if zoned is not None:
                return zoned
        if state.awaiting_date:
            dated = await self._typed_date(user_id, ctx, text)
            if dated is not None:
                return dated
            await self._update_state(user_id, ctx, awaiting_date=False)
        if self.staff is not None:  # a /report description, or a thread with staff
            handled = await self.staff.patient_text(
                user_id, chat_id, first_name, text,
                may_have_thread=ctx.patient is not None and ctx.patient.open_reports > 0,
                states=ctx.states)
            if handled is not None:
                return handled
        return await self._advise(user_id, ctx, text, self.advisor.ask(text, ctx.day))

    async def edited(self, user_id: int, chat_id: int, first_name: str,
                     text: str) -> list[Reply]:
        """An edited message: ignored by design, unless the new text raises a red flag.

        Answering every edit again would repeat advice the patient already has; but a
        warning sign added in an edit must not be missed, so edits are re-triaged.
        """
        ctx = await self.context(user_id)
        advice = self.advisor.ask(text, ctx.day)
        if not advice.escalate:
            return []
        return await self._advise(user_id, ctx, text, advice)

    async def _advise(self, user_id: int, ctx: _Context, text: str,
                      advice: Advice) -> list[Reply]:
        replies: list[Reply] = []
        if advice.escalate:
            report = await self.repo.create_report(
                user_id, ReportKind.TRIAGE, text, urgency=advice.urgency, day=ctx.day,
                reason=advice.triage.reason if advice.triage else None, now=self.clock())
            replies += self.notify_staff(report)
            if self.checkins is not None:  # hold the session's check-ins until resolved
                await self.checkins.report_raised(report)
        if (advice.offer_handoff or advice.suggestions) and ctx.consented:
            await self._update_state(user_id, ctx, last_question=text, last_day=ctx.day,
                                     handed_off=False)
        elif advice.offer_handoff or advice.suggestions:  # no consent: nothing in the database
            self._remember_unconsented(user_id, text, ctx.day)
        if ctx.consented:
            self.log.add(user_id, [
                (Direction.IN, text, _topic(advice.topic), advice.kind),
                (Direction.OUT, advice.answer, _topic(advice.topic), None),
            ], now=self.clock())
        return self.html(html.escape(advice.answer, quote=False),
                         self._advice_buttons(advice)) + replies

    def _advice_buttons(self, advice: Advice) -> Buttons:
        rows: list[tuple[Button, ...]] = []
        for suggestion in advice.suggestions:
            data = f"kb:{suggestion.entry_id}"
            if len(data.encode()) <= MAX_CALLBACK_DATA:
                rows.append(((suggestion.title[:64], data),))
        if rows:
            rows.append((self._button("none_of_these", "handoff"),))
        elif advice.offer_handoff:
            rows.append((self._button("ask_clinic", "handoff"),))
        return tuple(rows)

    # --- staff alerts --------------------------------------------------------------------
    def notify_staff(self, report: ReportInfo) -> list[Reply]:
        """A short plain alert for the staff chat about `report` (nothing if none configured);
        with the staff desk attached, its card with Take / Reply / Resolve / Pause buttons."""
        if self.staff is not None:
            return list(self.staff.card(report))
        chat = self.settings.staff_chat_id
        if chat is None:
            log.warning("report %d not sent: AFTERCARE_STAFF_CHAT_ID is not set", report.id)
            return []
        name = report.patient_name or self.messages.render("staff_unknown_name")
        who = f"{name}, Telegram id {report.telegram_id}"
        words = report.text if len(report.text) <= MAX_ALERT_TEXT else (
            report.text[:MAX_ALERT_TEXT] + "…")
        day = report.day if report.day is not None else "unknown"
        if report.urgency:
            text = self.messages.render("staff_alert", urgency=report.urgency.upper(), name=who,
                                        day=day, text=words, reason=report.reason or "-")
        else:
            text = self.messages.render("staff_question", name=who, day=day, text=words)
        return [Reply(part, to_chat=chat) for part in split_html(text)]

    # --- button presses ------------------------------------------------------------------
    async def callback(self, user_id: int, chat_id: int, first_name: str,
                       data: str) -> list[Reply]:
        """A pressed inline button. Unknown or stale data gets a notice, never an error."""
        kind, _, argument = data.partition(":")
        if kind == "consent":
            return await self._consent(user_id, chat_id, first_name, argument)
        if kind == "kb" and argument:
            return await self._chosen_entry(user_id, argument)
        if kind == "handoff":
            return await self._handoff(user_id)
        if kind == "session":
            return await self._session_choice(user_id, argument)
        if kind == "delete":
            return await self._delete_choice(user_id, argument)
        if kind == "tz":
            return await self._zone_choice(user_id, argument)
        if kind == "ci" and self.checkins is not None:
            return await self._checkin_answer(user_id, data)
        return [self.notice("button_expired")]

    async def _checkin_answer(self, user_id: int, data: str) -> list[Reply]:
        """A check-in answer button; the service checks the check-in is this user's."""
        outcome = await self.checkins.answer(user_id, data)
        if not outcome.reply:
            return [self.notice("button_expired")]
        replies = self.html(html.escape(outcome.reply, quote=False))
        for report in outcome.reports:
            replies += self.notify_staff(report)
        return replies

    async def _plan_checkins(self, session: SessionInfo) -> None:
        """Write the check-ins of a newly logged session (no-op without the scheduler)."""
        if self.checkins is not None:
            await self.checkins.session_logged(session.id)

    async def _chosen_entry(self, user_id: int, entry_id: str) -> list[Reply]:
        ctx = await self.context(user_id)
        advice = self.advisor.answer_entry(entry_id, ctx.day)
        if advice is None:
            return self.say("kb_unknown")
        if ctx.consented:
            self.log.add(user_id, [
                (Direction.IN, f"[chose a suggestion] {entry_id}", _topic(entry_id), None),
                (Direction.OUT, advice.answer, _topic(advice.topic), advice.kind),
            ], now=self.clock())
        buttons = ((self._button("ask_clinic", "handoff"),),) if advice.offer_handoff else ()
        return self.html(html.escape(advice.answer, quote=False), buttons)

    def _remember_unconsented(self, user_id: int, text: str, day: int | None) -> None:
        """Keep the question of a user who has not agreed to storage in this process only
        (for "ask the clinic"; pressing it is their request to pass the question on)."""
        self._unconsented.pop(user_id, None)
        self._unconsented[user_id] = (text, day, self.clock() + STATE_TTL)
        while len(self._unconsented) > MAX_REMEMBERED_USERS:
            self._unconsented.popitem(last=False)

    def _take_unconsented(self, user_id: int) -> tuple[str | None, int | None]:
        text, day, until = self._unconsented.pop(user_id, (None, None, None))
        return (text, day) if until is not None and until > self.clock() else (None, None)

    async def _handoff(self, user_id: int) -> list[Reply]:
        state = await self._state(user_id)
        question, day = state.last_question, state.last_day
        if question is None:
            question, day = self._take_unconsented(user_id)
        if question is None:
            return [self.notice("handoff_already")] if state.handed_off else self.say(
                "handoff_nothing")
        report = await self.repo.create_report(user_id, ReportKind.QUESTION, question,
                                               day=day, now=self.clock())
        await self._update_state(user_id, last_question=None, last_day=None, handed_off=True)
        return self.say("handoff_sent") + self.notify_staff(report)

    # --- treatment sessions ---------------------------------------------------------------
    def session_buttons(self) -> Buttons:
        """Today / Yesterday / Another date."""
        return ((self._button("today", "session:today"),
                 self._button("yesterday", "session:yesterday")),
                (self._button("other_date", "session:other"),))

    async def _session_choice(self, user_id: int, choice: str) -> list[Reply]:
        ctx = await self.context(user_id)
        if not ctx.consented:
            return self.say("consent_needed", self.consent_buttons())
        today = self.today(ctx.patient)
        if choice == "other":
            await self._update_state(user_id, ctx, awaiting_date=True)
            return self.say("session_other_prompt", example=_example_date(today))
        if choice not in ("today", "yesterday"):
            return [self.notice("button_expired")]
        chosen = today - dt.timedelta(days=0 if choice == "today" else 1)
        return await self._log_session(user_id, ctx, chosen)

    async def _typed_date(self, user_id: int, ctx: _Context, text: str) -> list[Reply] | None:
        """Replies for a typed treatment date, or None when the text is not a date."""
        today = self.today(ctx.patient)
        chosen = parse_date(text, today)
        if chosen is None:
            if _looks_like_date(text):
                return self.say("session_not_understood", example=_example_date(today))
            return None
        problem = check_session_date(chosen, today)
        if problem is DateProblem.FUTURE:
            return self.say("session_future", date=chosen.isoformat())
        if problem is DateProblem.TOO_OLD:
            return self.say("session_too_old", date=chosen.isoformat())
        return await self._log_session(user_id, ctx, chosen)

    async def _log_session(self, user_id: int, ctx: _Context, chosen: dt.date) -> list[Reply]:
        patient = ctx.patient
        assert patient is not None
        await self._update_state(user_id, ctx, awaiting_date=False)
        existing = await self.repo.list_sessions(patient.id, include_cancelled=False)
        day = recovery_day(chosen, self.clock(), self._tz(patient))
        if any(s.session_date == chosen for s in existing):
            return [self.notice("session_already", date=chosen.isoformat())]
        try:
            session = await self.repo.add_session(chosen, SessionSource.PATIENT,
                                                  telegram_id=user_id, now=self.clock())
            await self._plan_checkins(session)
        except ConsentRequired:
            return self.say("consent_needed", self.consent_buttons())
        return self.say("session_logged", date=chosen.isoformat(), day=day)

    # --- commands ------------------------------------------------------------------------
    async def command(self, user_id: int, chat_id: int, first_name: str, name: str,
                      args: Sequence[str] = ()) -> list[Reply]:
        """A /command other than /start (which has its own method)."""
        name = name.lower()
        if name in ("addsession", "invite"):
            return await self._staff_command(user_id, name, list(args))
        if name == "report" and self.staff is not None:
            return list(await self.staff.report_command(user_id, chat_id, first_name))
        handler = {
            "help": self._help, "session": self._session_command, "privacy": self._privacy,
            "mydata": self._mydata, "delete": self._delete_command, "stop": self._stop,
            "resume": self._resume, "timezone": self._timezone_command,
        }.get(name)
        if handler is None:
            return self.say("unknown_command", commands=self.command_list())
        return await handler(user_id)

    async def _help(self, user_id: int) -> list[Reply]:
        replies = self.say("help", commands=self.command_list())
        if self.settings.is_staff(user_id):
            replies += self.html(self.command_list(staff=True))
        return replies

    async def _session_command(self, user_id: int) -> list[Reply]:
        ctx = await self.context(user_id)
        if not ctx.consented:
            return self.say("consent_needed", self.consent_buttons())
        return self.say("session_prompt", self.session_buttons())

    async def _privacy(self, user_id: int) -> list[Reply]:
        return self.say("privacy")

    async def _mydata(self, user_id: int) -> list[Reply]:
        await self.log.flush()
        summary = await self.repo.data_summary(user_id)
        if not summary["exists"]:
            return self.say("mydata_nothing")
        if summary["consent_at"] is None:
            if summary["reports"]:
                return self.say("mydata_bare_reports", reports=summary["reports"])
            return self.say("mydata_bare")
        dates = ", ".join(d.isoformat() for d in summary["session_dates"])
        unknown = self.messages.render("mydata_unknown")
        return self.say(
            "mydata", name=summary["name"] or unknown,
            consent=summary["consent_at"].date().isoformat(),
            sessions=dates or self.messages.render("mydata_none"),
            messages=summary["messages"], reports=summary["reports"],
            timezone=summary["timezone"] or self.settings.tz.key,
            checkins=self.messages.render(
                "mydata_checkins_paused" if summary["checkins_paused"] else "mydata_checkins_on"))

    async def _delete_command(self, user_id: int) -> list[Reply]:
        if await self.repo.get_patient(user_id) is None:
            await self.chat_states.clear(user_id)  # a question kept for "ask the clinic"
            return self.say("delete_nothing")
        buttons = ((self._button("delete_yes", "delete:yes"),
                    self._button("delete_no", "delete:no")),)
        return self.say("delete_confirm", buttons)

    async def _delete_choice(self, user_id: int, choice: str) -> list[Reply]:
        if choice == "no":
            return self.say("delete_cancelled")
        if choice != "yes":
            return [self.notice("button_expired")]
        await self.log.flush()
        erased = await self.repo.erase_patient(user_id)  # conversation states included
        if not erased:
            return [self.notice("already_deleted")]
        return self.say("deleted")

    async def _stop(self, user_id: int) -> list[Reply]:
        if not await self.repo.set_checkins_paused(user_id, True):
            return self.say("stop_nothing")
        patient = await self.repo.get_patient(user_id)
        if self.checkins is not None and patient is not None:
            await self.checkins.stop(patient.id)
        return self.say("stopped")

    async def _resume(self, user_id: int) -> list[Reply]:
        if not await self.repo.set_checkins_paused(user_id, False):
            return self.say("stop_nothing")
        patient = await self.repo.get_patient(user_id)
        if self.checkins is not None and patient is not None:
            await self.checkins.resume(patient.id)
        return self.say("resumed")

    # --- time zone -----------------------------------------------------------------------
    def _zone_prompt(self, patient: PatientInfo | None, before: str = "") -> list[Reply]:
        """"Which time zone?" (after `before`, HTML): keep the current zone, pick a common
        one, or type another."""
        current = self._tz(patient).key
        keep = self.messages.label("tz_keep").format(zone=current)
        common = [(city_label(z), f"tz:set:{z}") for z in offered_zones(current)]
        rows = [((keep, "tz:keep"),)]
        rows += [tuple(common[i:i + 3]) for i in range(0, len(common), 3)]
        rows.append((self._button("tz_other", "tz:other"),))
        question = self.messages.render("timezone_prompt", zone=current)
        return self.html(f"{before}\n\n{question}" if before else question, tuple(rows))

    async def _timezone_command(self, user_id: int) -> list[Reply]:
        ctx = await self.context(user_id)
        if not ctx.consented:
            return self.say("timezone_needs_consent")
        return self._zone_prompt(ctx.patient)

    async def _zone_choice(self, user_id: int, choice: str) -> list[Reply]:
        ctx = await self.context(user_id)
        if not ctx.consented:
            return self.say("timezone_needs_consent")
        action, _, zone = choice.partition(":")
        if action == "keep":
            await self._update_state(user_id, ctx, awaiting_zone=False)
            return self._zone_reply("timezone_kept", self._tz(ctx.patient).key)
        if action == "other":
            await self._update_state(user_id, ctx, awaiting_zone=True)
            return self.say("timezone_other_prompt")
        resolved = resolve_zone(zone) if action == "set" else None
        if resolved is None:
            return [self.notice("button_expired")]
        return await self._set_zone(user_id, ctx, resolved)

    async def _typed_zone(self, user_id: int, ctx: _Context, text: str) -> list[Reply] | None:
        """Replies for a typed city or zone name; None when the text is a question instead."""
        zone = resolve_zone(text)
        if zone is not None and ctx.consented:
            return await self._set_zone(user_id, ctx, zone)
        if "?" in text or len(text.split()) > 4 or not ctx.consented:
            await self._update_state(user_id, ctx, awaiting_zone=False)  # not a place
            return None
        return self.say("timezone_unknown", text=text.strip()[:64])

    async def _set_zone(self, user_id: int, ctx: _Context, zone: str) -> list[Reply]:
        await self._update_state(user_id, ctx, awaiting_zone=False)
        try:
            patient = await self.repo.set_timezone(user_id, zone)
        except ConsentRequired:
            return self.say("timezone_needs_consent")
        if self.checkins is not None:  # pending check-ins move to the new local hours
            await self.checkins.patient_linked(patient.id)
        return self._zone_reply("timezone_set", zone)

    def _zone_reply(self, key: str, zone: str) -> list[Reply]:
        local = self.clock().astimezone(ZoneInfo(zone))
        return self.say(key, zone=zone, time=local.strftime("%H:%M"))

    # --- staff ---------------------------------------------------------------------------
    async def _staff_command(self, user_id: int, name: str, args: list[str]) -> list[Reply]:
        if not self.settings.is_staff(user_id):
            return self.say("staff_not_allowed")
        if name == "addsession":
            return await self._staff_add_session(args)
        return await self._staff_invite(args)

    def _staff_date(self, args: list[str]) -> tuple[list[str], dt.date | None, str | None]:
        """Split a trailing date off `args`; returns (rest, date, error message key)."""
        today = local_today(self.clock(), self.settings.tz)
        if args and parse_date(args[-1], today) is not None:
            chosen = parse_date(args[-1], today)
            assert chosen is not None
            problem = check_session_date(chosen, today)
            key = {DateProblem.FUTURE: "session_future",
                   DateProblem.TOO_OLD: "session_too_old"}.get(problem) if problem else None
            return args[:-1], chosen, key
        return args, None, None

    async def _staff_add_session(self, args: list[str]) -> list[Reply]:
        rest, chosen, problem = self._staff_date(args)
        if len(rest) != 1 or not rest[0].lstrip("-").isdigit():
            return self.say("staff_usage_addsession")
        if problem and chosen:
            return self.say(problem, date=chosen.isoformat())
        telegram_id = int(rest[0])
        patient = await self.repo.get_patient(telegram_id)
        if patient is None:
            return self.say("staff_no_patient", telegram_id=telegram_id)
        chosen = chosen or self.today(patient)
        session = await self.repo.add_session(chosen, SessionSource.STAFF,
                                              telegram_id=telegram_id, now=self.clock())
        await self._plan_checkins(session)
        return self.say("staff_session_added", date=chosen.isoformat(),
                        name=patient.name or self.messages.render("staff_unknown_name"),
                        telegram_id=telegram_id)

    async def _staff_invite(self, args: list[str]) -> list[Reply]:
        rest, chosen, problem = self._staff_date(args)
        name = " ".join(rest).strip()
        if not name:
            return self.say("staff_usage_invite")
        if problem and chosen:
            return self.say(problem, date=chosen.isoformat())
        invite = await self.repo.create_invite(name, chosen, self.settings.invite_ttl,
                                               now=self.clock())
        if not self.bot_username:
            return self.say("staff_invite_no_username", name=name, code=invite.code)
        return self.say("staff_invite", name=name, date=invite.expires_at.date().isoformat(),
                        link=invite_link(self.bot_username, invite.code))

    # --- other input ---------------------------------------------------------------------
    async def media(self, user_id: int, chat_id: int, first_name: str, kind: str,
                    caption: str | None = None) -> list[Reply]:
        """A sticker, voice note, photo, ...: a short reply; a caption is read as text."""
        replies: list[Reply] = []
        if caption and caption.strip():
            replies += await self.message(user_id, chat_id, first_name, caption)
        key = kind if kind in self.messages.raw("media") else "other"
        return replies + self.say(f"media.{key}")

    def group_message(self, chat_id: int) -> list[Reply]:
        """A message in a group chat: one "private chats only" line per group, then silence."""
        if chat_id in self._warned_groups:
            return []
        self._warned_groups.add(chat_id)
        return self.say("group_only")

    async def blocked(self, *, user_id: int | None = None, chat_id: int | None = None) -> None:
        """The user blocked the bot (403 on a send, or a my_chat_member "kicked")."""
        if chat_id is not None and chat_id == self.settings.staff_chat_id:
            return
        if user_id is not None:
            await self.repo.mark_inactive(InactiveReason.BLOCKED, telegram_id=user_id)
        elif chat_id is not None:
            await self.repo.mark_inactive(InactiveReason.BLOCKED, chat_id=chat_id)

    async def unblocked(self, user_id: int) -> None:
        """The user unblocked the bot (my_chat_member back to "member")."""
        await self.repo.reactivate(user_id)


def invite_link(bot_username: str, code: str) -> str:
    """The t.me deep link that opens the bot with /start <code>."""
    return f"https://t.me/{bot_username.removeprefix('@')}?start={code}"


def _greeting_name(name: str | None) -> str:
    return f", {name.strip()}" if name and name.strip() else ""


def _topic(topic: str | None) -> str | None:
    return topic[:100] if topic else None


def _example_date(today: dt.date) -> str:
    return (today - dt.timedelta(days=2)).isoformat()


def _looks_like_date(text: str) -> bool:
    """Short text made mostly of digits and date separators (a mistyped date)."""
    stripped = text.strip()
    if len(stripped) > 20:
        return False
    digits = sum(c.isdigit() for c in stripped)
    return digits >= 1 and all(c.isdigit() or c in "/.- " for c in stripped)
