"""Treatment sessions the patient logs: /session, its buttons and a typed date.

A logged session gets its check-ins planned (when the scheduler is attached).
"""

from __future__ import annotations

import datetime as dt

from bot.core.dates import DateProblem, check_session_date, parse_date
from bot.core.flows.base import FlowKit, TurnContext
from bot.core.ports import CheckinEvents
from bot.core.replies import Buttons, Reply
from scheduler.days import recovery_day
from storage import ConsentRequired, SessionInfo, SessionSource


def example_date(today: dt.date) -> str:
    """A date to show as an example (two days ago)."""
    return (today - dt.timedelta(days=2)).isoformat()


def looks_like_date(text: str) -> bool:
    """Short text made mostly of digits and date separators (a mistyped date)."""
    stripped = text.strip()
    if len(stripped) > 20:
        return False
    digits = sum(c.isdigit() for c in stripped)
    return digits >= 1 and all(c.isdigit() or c in "/.- " for c in stripped)


class SessionFlow:
    """/session, "session:today|yesterday|other" and a typed date when one is awaited."""

    def __init__(self, kit: FlowKit, checkins: CheckinEvents | None) -> None:
        self.kit = kit
        self.checkins = checkins

    def buttons(self) -> Buttons:
        """Today / Yesterday / Another date."""
        kit = self.kit
        return ((kit.button("today", "session:today"),
                 kit.button("yesterday", "session:yesterday")),
                (kit.button("other_date", "session:other"),))

    async def command(self, user_id: int) -> list[Reply]:
        """/session."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("consent_needed", kit.consent_buttons())
        return kit.say("session_prompt", self.buttons())

    async def choice(self, user_id: int, choice: str) -> list[Reply]:
        """A "session:..." button."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("consent_needed", kit.consent_buttons())
        today = kit.today(ctx.patient)
        if choice == "other":
            await kit.update_state(user_id, ctx, awaiting_date=True)
            return kit.say("session_other_prompt", example=example_date(today))
        if choice not in ("today", "yesterday"):
            return [kit.notice("button_expired")]
        chosen = today - dt.timedelta(days=0 if choice == "today" else 1)
        return await self._log(user_id, ctx, chosen)

    async def typed(self, user_id: int, ctx: TurnContext, text: str) -> list[Reply] | None:
        """Replies for a typed treatment date, or None when the text is not a date."""
        kit = self.kit
        today = kit.today(ctx.patient)
        chosen = parse_date(text, today)
        if chosen is None:
            if looks_like_date(text):
                return kit.say("session_not_understood", example=example_date(today))
            return None
        problem = check_session_date(chosen, today)
        if problem is DateProblem.FUTURE:
            return kit.say("session_future", date=chosen.isoformat())
        if problem is DateProblem.TOO_OLD:
            return kit.say("session_too_old", date=chosen.isoformat())
        return await self._log(user_id, ctx, chosen)

    async def _log(self, user_id: int, ctx: TurnContext, chosen: dt.date) -> list[Reply]:
        kit = self.kit
        patient = ctx.patient
        assert patient is not None
        await kit.update_state(user_id, ctx, awaiting_date=False)
        existing = await kit.repo.list_sessions(patient.id, include_cancelled=False)
        day = recovery_day(chosen, kit.clock(), kit.tz(patient))
        if any(s.session_date == chosen for s in existing):
            return [kit.notice("session_already", date=chosen.isoformat())]
        try:
            session = await kit.repo.add_session(chosen, SessionSource.PATIENT,
                                                 telegram_id=user_id, now=kit.clock())
            await self.plan_checkins(session)
        except ConsentRequired:
            return kit.say("consent_needed", kit.consent_buttons())
        return kit.say("session_logged", date=chosen.isoformat(), day=day)

    async def plan_checkins(self, session: SessionInfo) -> None:
        """Write the check-ins of a newly logged session (no-op without the scheduler)."""
        if self.checkins is not None:
            await self.checkins.session_logged(session.id)
