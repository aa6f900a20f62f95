"""Staff commands that work in a private chat with the bot: /addsession <telegram id> [date]
and /invite <name> [date] (a one-time deep link). The staff list is checked every time."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.core.dates import DateProblem, check_session_date, parse_date
from bot.core.flows.base import FlowKit
from bot.core.flows.sessions import SessionFlow
from bot.core.ports import BotIdentity
from bot.core.replies import Reply
from scheduler.days import local_today
from storage import SessionSource
from storage.ids import telegram_id as parse_telegram_id
from storage.models import ReportAction

log = logging.getLogger(__name__)


def invite_link(bot_username: str, code: str) -> str:
    """The t.me deep link that opens the bot with /start <code>."""
    return f"https://t.me/{bot_username.removeprefix('@')}?start={code}"


@dataclass(frozen=True)
class FixedIdentity:
    """A `BotIdentity` known in advance (AFTERCARE_BOT_USERNAME, or None: unknown)."""

    username: str | None


class StaffCommands:
    """/addsession and /invite."""

    def __init__(self, kit: FlowKit, sessions: SessionFlow, identity: BotIdentity) -> None:
        self.kit = kit
        self.sessions = sessions
        self.identity = identity  # the bot's @username for invite links

    @property
    def bot_username(self) -> str | None:
        """The bot's @username (None while unknown: no invite links)."""
        return self.identity.username

    async def run(self, user_id: int, name: str, args: list[str]) -> list[Reply]:
        """Run `name` ("addsession" or "invite") for a staff member. Every refusal (not
        staff, bad arguments, an unknown patient, a date out of range) is logged and audited
        like the desk's (a "refused" entry naming no report; the arguments are not kept)."""
        if not self.kit.settings.is_staff(user_id):
            await self._refuse(user_id, name, "not staff")
            return self.kit.say("staff_not_allowed")
        if name == "addsession":
            replies, refused = await self._add_session(args)
        else:
            replies, refused = await self._invite(args)
        if refused is not None:
            await self._refuse(user_id, name, refused)
        return replies

    async def _refuse(self, user_id: int, name: str, why: str) -> None:
        log.warning("user %d: /%s refused (%s)", user_id, name, why)
        await self.kit.reports.record(None, user_id, ReportAction.REFUSED,
                                           note=f"use /{name}: {why}", now=self.kit.clock())

    def _date(self, args: list[str]) -> tuple[list[str], dt.date | None, str | None]:
        """Split a trailing date off `args`; returns (rest, date, error message key)."""
        today = local_today(self.kit.clock(), self.kit.settings.tz)
        if args and parse_date(args[-1], today) is not None:
            chosen = parse_date(args[-1], today)
            assert chosen is not None
            problem = check_session_date(chosen, today)
            key = {DateProblem.FUTURE: "session_future",
                   DateProblem.TOO_OLD: "session_too_old"}.get(problem) if problem else None
            return args[:-1], chosen, key
        return args, None, None

    async def _add_session(self, args: list[str]) -> tuple[list[Reply], str | None]:
        """The replies, and why it was refused (None when the session was added)."""
        kit = self.kit
        rest, chosen, problem = self._date(args)
        typed = parse_telegram_id(rest[0]) if len(rest) == 1 else None
        if typed is None:
            return kit.say("staff_usage_addsession"), "bad arguments"
        if problem and chosen:
            return kit.say(problem, date=chosen.isoformat()), "date out of range"
        telegram_id = typed
        patient = await kit.patients.get(telegram_id)
        if patient is None:
            return kit.say("staff_no_patient", telegram_id=telegram_id), "no such patient"
        chosen = chosen or kit.today(patient)
        session = await kit.treatments.add(chosen, SessionSource.STAFF,
                                                telegram_id=telegram_id, now=kit.clock())
        await self.sessions.plan_checkins(session)
        return kit.say("staff_session_added", date=chosen.isoformat(),
                       name=patient.name or kit.messages.render("staff_unknown_name"),
                       telegram_id=telegram_id), None

    async def _invite(self, args: list[str]) -> tuple[list[Reply], str | None]:
        """The replies, and why it was refused (None when the invite was made)."""
        kit = self.kit
        rest, chosen, problem = self._date(args)
        name = " ".join(rest).strip()
        if not name:
            return kit.say("staff_usage_invite"), "bad arguments"
        if problem and chosen:
            return kit.say(problem, date=chosen.isoformat()), "date out of range"
        invite = await kit.invites.create(name, chosen, kit.settings.invite_ttl,
                                               now=kit.clock())
        username = self.bot_username
        if not username:
            return kit.say("staff_invite_no_username", name=name, code=invite.code), None
        return kit.say("staff_invite", name=name, date=invite.expires_at.date().isoformat(),
                       link=invite_link(username, invite.code)), None
