"""Treatment sessions the patient logs, fixes or removes: /session, its buttons, typed dates.

* /session opens the date flow (status line, Cancel, /cancel) at its first step: "Today" /
  "Yesterday" log at once, "Another date" asks for the date, and a date typed instead of
  tapped ("last tuesday", "1st December", "el martes pasado") is the answer at either step;
  a text that is not a date (a question, a symptom) is answered as usual and the step's
  line and buttons are shown again. A typed date that is exact and recent ("3 days ago",
  "20/11") is logged at once; one that is ambiguous or in the future ("20/12" typed on 1
  December, "last week") is confirmed with one button per reading (bot/core/dates.py)
  before anything is stored.
* A new date within the check-in course of a session already logged asks whether it is an
  extra treatment or replaces that one; replacing cancels the old session's check-ins.
* With a session on file, /session also offers to change its date (its check-ins move) or
  remove it (its check-ins are cancelled).

A logged session gets its check-ins planned (when the scheduler is attached). Buttons carry no
authority: a session id in "sx:change:<id>" is checked against the pressing patient.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.dates import (
    DateProblem,
    DateReading,
    check_session_date,
    read_date,
    stated_treatment_date,
)
from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flows.control import FlowControl
from bot.core.flowstate import ActiveFlow, Flow
from bot.core.ports import CheckinEvents
from bot.core.replies import Buttons, Reply
from scheduler.days import recovery_day
from storage import ConsentRequired, SessionInfo, SessionSource
from storage.ids import row_id

DEFAULT_COURSE_DAYS = 42  # without the scheduler: the care plan's usual last check-in day


def example_date(today: dt.date) -> str:
    """A date to show as an example (two days ago)."""
    return (today - dt.timedelta(days=2)).isoformat()


def choice_index(text: str) -> int | None:
    """A button's choice index ("0", "1", ...): plain ASCII digits, a few of them; or None."""
    if not (text.isascii() and text.isdecimal()) or len(text) > 3:
        return None
    return int(text)


def looks_like_date(text: str) -> bool:
    """Short text made mostly of digits and date separators (a mistyped date)."""
    stripped = text.strip()
    if len(stripped) > 20:
        return False
    digits = sum(c.isdigit() for c in stripped)
    return digits >= 1 and all(c.isdigit() or c in "/.- " for c in stripped)


def _iso_date(value: object) -> dt.date | None:
    """A date kept in a flow's data ("2026-12-01"), or None when missing or malformed."""
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def show_date(value: dt.date) -> str:
    """"Sat 20 Dec 2025"."""
    return f"{value:%a} {value.day} {value:%b %Y}"


class SessionFlow:
    """/session, "session:*", "sd:<n>", "sx:*" buttons and typed dates."""

    def __init__(self, kit: FlowKit, control: FlowControl,
                 checkins: CheckinEvents | None) -> None:
        self.kit = kit
        self.checkins = checkins
        self.control = control
        control.text_handlers[Flow.SESSION_DATE] = self.typed
        control.text_handlers[Flow.SESSION_FIX] = self._fix_text
        control.button_makers[Flow.SESSION_DATE] = self._date_buttons
        control.button_makers[Flow.SESSION_FIX] = self._fix_buttons

    def buttons(self) -> Buttons:
        """Today / Yesterday / Another date."""
        kit = self.kit
        return ((kit.button("today", "session:today"),
                 kit.button("yesterday", "session:yesterday")),
                (kit.button("other_date", "session:other"),))

    def _label(self, key: str, **values: Any) -> str:
        return self.control.label(key).format(**values)

    async def _sessions(self, ctx: TurnContext) -> list[SessionInfo]:
        assert ctx.patient is not None
        return await self.kit.treatments.of_patient(ctx.patient.id, include_cancelled=False)

    async def command(self, user_id: int) -> list[Reply]:
        """/session: log a date; with one on file, also change or remove it."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("consent_needed", kit.consent_buttons())
        sessions = await self._sessions(ctx)
        if not sessions or self.checkins is None:  # fixing dates moves check-ins: scheduler
            # the date flow waits from the first step: a date typed instead of tapped
            # ("last tuesday") is the answer; its buttons are Today / Yesterday / Another date
            active, note = await self.control.begin(user_id, Flow.SESSION_DATE, "choose", ctx,
                                                    mode="new")
            return note + self.control.prompt(kit.messages.render("session_prompt"), active)
        latest = sessions[-1]
        dates = ", ".join(self._dated(ctx, s.session_date) for s in sessions[-5:])
        active, note = await self.control.begin(user_id, Flow.SESSION_FIX, "menu", ctx,
                                                latest=latest.id,
                                                latest_date=latest.session_date.isoformat())
        return note + self.control.prompt(
            kit.messages.render("flow.session_list", dates=dates), active)

    def _dated(self, ctx: TurnContext, value: dt.date) -> str:
        day = recovery_day(value, self.kit.clock(), self.kit.tz(ctx.patient))
        messages = self.kit.messages
        when = (messages.render("flow.session_future_logged_day") if day < 0
                else messages.render("flow.session_logged_day", day=day))
        return f"{value.isoformat()} ({when})"

    async def choice(self, user_id: int, choice: str) -> list[Reply]:
        """A "session:..." button."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("consent_needed", kit.consent_buttons())
        today = kit.today(ctx.patient)
        if choice == "other":
            active, note = await self.control.begin(user_id, Flow.SESSION_DATE, "typing", ctx,
                                                    mode="new")
            return note + self.control.prompt(
                kit.messages.render("session_other_prompt", example=example_date(today)),
                active)
        if choice not in ("today", "yesterday"):
            return [kit.notice("button_expired")]
        chosen = today - dt.timedelta(days=0 if choice == "today" else 1)
        waiting = await self.control.live(user_id, ctx)
        if waiting is not None and waiting.flow is Flow.SESSION_DATE:  # answered by the tap
            await self.control.end(user_id, ctx)
        return await self._log(user_id, ctx, chosen)

    # --- a date the patient states in a message ("I had it done yesterday") --------------
    def stated(self, ctx: TurnContext, text: str) -> dt.date | None:
        """The treatment date `text` says the patient had (bot/core/dates.py
        `stated_treatment_date`), or None."""
        return stated_treatment_date(text, self.kit.today(ctx.patient))

    async def offer(self, user_id: int, ctx: TurnContext, chosen: dt.date) -> list[Reply]:
        """Under the answer to a message that stated the treatment date: offer to log it
        ("Yes, Tue 1 Dec 2026" / "No, another date": the date flow's confirm step, as a typed
        date that needs confirming), or say that logging needs consent first. Nothing when
        a session on that date is logged already or another flow is open."""
        kit = self.kit
        if await self.control.live(user_id, ctx) is not None:
            return []
        if not ctx.consented:
            return kit.say("session_offer_consent", kit.consent_buttons(),
                           date=show_date(chosen))
        if any(s.session_date == chosen for s in await self._sessions(ctx)):
            return []
        active, _ = await self.control.begin(user_id, Flow.SESSION_DATE, "confirm", ctx,
                                             mode="new", options=[chosen.isoformat()],
                                             offered=True)
        return self.control.prompt(kit.messages.render(
            "flow.session_offer", date=show_date(chosen),
            when=self._when(chosen, kit.today(ctx.patient))), active)

    def _date_buttons(self, active: ActiveFlow) -> Buttons:
        """The choices of a date to confirm, from the flow's state (so a reminder after a
        message that was not for the flow shows them again): an offered date's "Yes, <date>" /
        "No, another date", or one button per reading of a typed date; none while typing."""
        if active.step == "choose":  # /session's first step: Today / Yesterday / Another date
            return self.buttons()
        options = active.data.get("options")
        if active.step != "confirm" or not isinstance(options, list) or not options:
            return ()
        dates = [dt.date.fromisoformat(str(value)) for value in options]
        if active.data.get("offered"):
            return (((self._label("yes_date", date=show_date(dates[0])), "sd:0"),
                     (self._label("another_date"), "session:other")),)
        return tuple(((self._label("yes_date", date=show_date(value)) if index == 0
                       else show_date(value), f"sd:{index}"),)
                     for index, value in enumerate(dates))

    # --- typed dates and their confirmation -------------------------------------------------
    async def typed(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                    text: str) -> list[Reply] | None:
        """A typed treatment date; None when the text is not a date (answered as usual)."""
        kit = self.kit
        today = kit.today(ctx.patient)
        reading = read_date(text, today)
        if reading is None:
            if looks_like_date(text):
                return self.control.prompt(kit.messages.render(
                    "session_not_understood", example=example_date(today)), active)
            return None
        problem = check_session_date(reading.chosen, today, allow_future=True)
        if problem is DateProblem.FUTURE:
            return self.control.prompt(
                kit.messages.render("session_future", date=reading.chosen.isoformat()), active)
        if problem is DateProblem.TOO_OLD:
            return self.control.prompt(
                kit.messages.render("session_too_old", date=reading.chosen.isoformat()), active)
        if reading.confirm or reading.chosen > today:
            return await self._confirm(user_id, ctx, active, reading, today)
        return await self._apply(user_id, ctx, active, reading.chosen, typed=True)

    async def _confirm(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                       reading: DateReading, today: dt.date) -> list[Reply]:
        kit = self.kit
        options = [d for d in reading.options
                   if check_session_date(d, today, allow_future=True) is None][:3]
        moved = await self.control.advance(user_id, active, "confirm", ctx,
                                           options=[d.isoformat() for d in options],
                                           offered=False)  # its own readings, not an offer
        chosen = options[0]
        return self.control.prompt(kit.messages.render(
            "flow.date_confirm", date=show_date(chosen), when=self._when(chosen, today)),
            moved)

    def _when(self, value: dt.date, today: dt.date) -> str:
        messages = self.kit.messages
        days = (today - value).days
        if days == 1:
            return messages.render("flow.date_when_yesterday")
        if days > 0:
            return messages.render("flow.date_when_past", days=days)
        if days == 0:
            return messages.render("flow.date_when_today")
        return messages.render("flow.date_when_future", days=-days)

    async def confirmed(self, user_id: int, argument: str) -> list[Reply]:
        """An "sd:<n>" button: the n-th reading offered for the date being confirmed."""
        kit = self.kit
        ctx = await kit.context(user_id)
        active = await self.control.live(user_id, ctx)
        options = active.data.get("options") if active is not None else None
        index = choice_index(argument)  # "²".isdigit() is true, but int("²") raises
        if (active is None or active.flow is not Flow.SESSION_DATE or index is None
                or not isinstance(options, list) or index >= len(options)):
            return [kit.notice("button_expired")]
        chosen = dt.date.fromisoformat(str(options[index]))
        return await self._apply(user_id, ctx, active, chosen)

    async def _apply(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                     chosen: dt.date, typed: bool = False) -> list[Reply]:
        """Log the date, or move the session being fixed to it."""
        session_id = active.get_int("session")
        if active.data.get("mode") == "move" and session_id is not None:
            await self.control.end(user_id, ctx)
            return await self._move(user_id, ctx, session_id, chosen)
        await self.control.end(user_id, ctx)
        return await self._log(user_id, ctx, chosen, typed=typed)

    # --- logging, overlap, fixing ----------------------------------------------------------
    def _course(self) -> int:
        plan = getattr(self.checkins, "plan", None)
        return int(plan.max_day) if plan is not None else DEFAULT_COURSE_DAYS

    async def _log(self, user_id: int, ctx: TurnContext, chosen: dt.date,
                   replacing: int | None = None, ask_overlap: bool = True,
                   typed: bool = False) -> list[Reply]:
        kit = self.kit
        patient = ctx.patient
        assert patient is not None
        existing = [s for s in await self._sessions(ctx) if s.id != replacing]
        if any(s.session_date == chosen for s in existing):  # a button: just a notice
            if typed:
                return kit.say("session_already", date=chosen.isoformat())
            return [kit.notice("session_already", date=chosen.isoformat())]
        near = [s for s in existing
                if abs((chosen - s.session_date).days) <= self._course()]
        if ask_overlap and near and self.checkins is not None:
            return await self._ask_overlap(user_id, ctx, near[-1], chosen)
        try:
            if replacing is not None:
                await self._cancel_session(replacing)
            session = await kit.treatments.add(chosen, SessionSource.PATIENT,
                                                    telegram_id=user_id, now=kit.clock())
            await self.plan_checkins(session)
        except ConsentRequired:
            return kit.say("consent_needed", kit.consent_buttons())
        day = recovery_day(chosen, kit.clock(), kit.tz(patient))
        if day < 0:
            return kit.say("flow.date_future_logged", date=show_date(chosen))
        return kit.say("session_logged", date=chosen.isoformat(), day=day)

    async def _ask_overlap(self, user_id: int, ctx: TurnContext, old: SessionInfo,
                           chosen: dt.date) -> list[Reply]:
        kit = self.kit
        day = recovery_day(old.session_date, kit.clock(), kit.tz(ctx.patient))
        active, note = await self.control.begin(user_id, Flow.SESSION_FIX, "overlap", ctx,
                                                date=chosen.isoformat(), old=old.id,
                                                old_date=old.session_date.isoformat())
        return note + self.control.prompt(kit.messages.render(
            "flow.session_overlap", old=show_date(old.session_date), day=max(day, 0),
            new=show_date(chosen)), active)

    def _fix_buttons(self, active: ActiveFlow) -> Buttons:
        """The choices of /session's menu (log a date; change or remove the latest session)
        or of a date that overlaps a logged session ("Replace <date>" / "Keep both"), from the
        flow's state, so a reminder after a message that was not for the flow shows them
        again."""
        if active.step == "overlap":
            old = _iso_date(active.data.get("old_date"))
            if old is None:
                return ()
            return (((self._label("replace", date=show_date(old)), "sx:replace"),
                     (self._label("keep_both"), "sx:both")),)
        latest, shown = active.get_int("latest"), _iso_date(active.data.get("latest_date"))
        if active.step != "menu" or latest is None or shown is None:
            return self.buttons() if active.step == "menu" else ()
        when = show_date(shown)
        return (*self.buttons(),
                ((f"{self._label('change_date')} ({when})", f"sx:change:{latest}"),
                 (f"{self._label('remove')} ({when})", f"sx:remove:{latest}")))

    async def fix(self, user_id: int, argument: str) -> list[Reply]:
        """"sx:replace", "sx:both", "sx:change:<id>", "sx:remove:<id>"."""
        kit = self.kit
        ctx = await kit.context(user_id)
        active = await self.control.live(user_id, ctx)
        if (not ctx.consented or active is None or active.flow is not Flow.SESSION_FIX
                or self.checkins is None):
            return [kit.notice("button_expired")]
        action, _, raw_id = argument.partition(":")
        if action in ("replace", "both") and active.step == "overlap":
            chosen = dt.date.fromisoformat(str(active.data.get("date")))
            old = active.get_int("old")
            await self.control.end(user_id, ctx)
            if action == "both":
                return await self._log(user_id, ctx, chosen, ask_overlap=False)
            return await self._replace(user_id, ctx, old, chosen)
        session = await self._own_session(ctx, raw_id)
        if action not in ("change", "remove") or session is None:
            return [kit.notice("button_expired")]
        if action == "remove":
            await self.control.end(user_id, ctx)
            await self._cancel_session(session.id)
            return kit.say("flow.session_removed", date=show_date(session.session_date))
        moved, _ = await self.control.begin(user_id, Flow.SESSION_DATE, "typing", ctx,
                                            mode="move", session=session.id)
        return self.control.prompt(kit.messages.render(
            "flow.session_change_prompt", date=show_date(session.session_date),
            example=example_date(kit.today(ctx.patient))), moved)

    async def _fix_text(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                        text: str) -> list[Reply] | None:
        """A date typed at the /session menu logs a new session; anything else is answered."""
        reading = read_date(text, self.kit.today(ctx.patient))
        if reading is None or active.step != "menu":
            return None
        dated, _ = await self.control.begin(user_id, Flow.SESSION_DATE, "typing", ctx,
                                            mode="new")
        return await self.typed(user_id, ctx, dated, text)

    async def _own_session(self, ctx: TurnContext, raw_id: str) -> SessionInfo | None:
        wanted = row_id(raw_id)  # plain ASCII digits within the id column's range only
        if wanted is None:
            return None
        return next((s for s in await self._sessions(ctx) if s.id == wanted), None)

    async def _replace(self, user_id: int, ctx: TurnContext, old_id: int | None,
                       chosen: dt.date) -> list[Reply]:
        kit = self.kit
        old = await self._own_session(ctx, str(old_id)) if old_id is not None else None
        if old is None:
            return kit.say("flow.session_gone")
        replies = await self._log(user_id, ctx, chosen, replacing=old.id, ask_overlap=False)
        day = recovery_day(chosen, kit.clock(), kit.tz(ctx.patient))
        if day < 0:
            return replies
        return kit.say("flow.session_replaced", old=show_date(old.session_date),
                       new=show_date(chosen), day=day)

    async def _move(self, user_id: int, ctx: TurnContext, session_id: int,
                    chosen: dt.date) -> list[Reply]:
        kit = self.kit
        session = await self._own_session(ctx, str(session_id))
        if session is None:
            return kit.say("flow.session_gone")
        if any(s.session_date == chosen and s.id != session.id
               for s in await self._sessions(ctx)):
            return kit.say("session_already", date=chosen.isoformat())
        assert self.checkins is not None  # offered only with the scheduler
        await self.checkins.session_moved(session.id, chosen)
        day = recovery_day(chosen, kit.clock(), kit.tz(ctx.patient))
        if day < 0:
            return kit.say("flow.date_future_logged", date=show_date(chosen))
        return kit.say("flow.session_moved", date=show_date(chosen), day=day)

    async def _cancel_session(self, session_id: int) -> None:
        """The session and its open check-ins (the check-in manager writes both)."""
        assert self.checkins is not None  # offered only with the scheduler
        await self.checkins.session_cancelled(session_id)

    async def plan_checkins(self, session: SessionInfo) -> None:
        """Write the check-ins of a newly logged session (no-op without the scheduler)."""
        if self.checkins is not None:
            await self.checkins.session_logged(session.id)
