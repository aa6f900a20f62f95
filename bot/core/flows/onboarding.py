"""Getting a patient started: /start (welcome, invite deep links) and consent.

Nothing but the Telegram id is stored until the patient presses "I agree"; consent is
followed by the time-zone question in the same message. "No thanks" also stops check-ins
(a session the clinic logged or an invite planned them): the patient's pause flag is set and
their planned check-ins are held, so nothing is sent until they agree after all, which
turns them back on.
"""

from __future__ import annotations

import logging

from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flows.timezone import TimeZoneFlow
from bot.core.flowstate import BARE_YES
from bot.core.ports import CheckinEvents
from bot.core.replies import Reply
from knowledge.text import answer_words
from storage import RedeemStatus

log = logging.getLogger(__name__)



def greeting_name(name: str | None) -> str:
    """", Ana" for a greeting (nothing without a name)."""
    return f", {name.strip()}" if name and name.strip() else ""


class Onboarding:
    """/start with or without an invite code, and the "consent:*" buttons."""

    def __init__(self, kit: FlowKit, zones: TimeZoneFlow,
                 checkins: CheckinEvents | None) -> None:
        self.kit = kit
        self.zones = zones
        self.checkins = checkins

    async def start(self, user_id: int, chat_id: int, first_name: str,
                    payload: str | None = None) -> list[Reply]:
        """Welcome (or welcome back); a deep-link payload redeems an invite first."""
        kit = self.kit
        replies: list[Reply] = []
        if payload:
            replies += await self._redeem(payload.strip(), user_id, chat_id)
        patient = await kit.patients.ensure(user_id, chat_id, now=kit.clock())
        if not patient.active:
            await kit.patients.reactivate(user_id)
            log.info("patient %d reactivated by /start", patient.id)
        name = greeting_name(patient.name or first_name)
        if patient.has_consent:
            return replies + kit.say("welcome_back", name=name)
        text = (kit.messages.render("welcome", name=name) + "\n\n"
                + kit.messages.render("consent_prompt"))
        return replies + kit.html(text, kit.consent_buttons())

    def typed_consent(self, ctx: TurnContext, text: str) -> list[Reply] | None:
        """"Yes" or "I agree" typed by someone who has not agreed: consent is given by the
        button only (an explicit act, recorded with its time), so the buttons come again with
        a line saying so, instead of a thumbs-up they would take for a yes. None otherwise, and
        while they have an unresolved report: an "ok" after a red flag gets the safety line."""
        if (ctx.consented or answer_words(text) not in BARE_YES
                or ctx.has_open_report):
            return None
        return self.kit.html(self.kit.messages.render("consent_typed"), self.kit.consent_buttons())

    async def _redeem(self, code: str, user_id: int, chat_id: int) -> list[Reply]:
        kit = self.kit
        result = await kit.invites.redeem(code, user_id, chat_id, now=kit.clock())
        if result.status is RedeemStatus.EXPIRED:
            return kit.say("invite_expired")
        if not result.ok or result.patient is None:
            return kit.say("invite_invalid")
        if self.checkins is not None:  # the invite's session now has a chat to go to
            await self.checkins.patient_linked(result.patient.id)
        session = await kit.treatments.latest(result.patient.id)
        if session is not None:
            return kit.say("invite_linked_session", date=session.session_date.isoformat())
        return kit.say("invite_linked")

    async def consent(self, user_id: int, chat_id: int, first_name: str,
                      answer: str) -> list[Reply]:
        """A "consent:yes" / "consent:no" press."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if answer == "no":
            if ctx.consented:
                return [kit.notice("consent_already")]
            if ctx.patient is not None and not ctx.patient.checkins_paused:
                await self._set_paused(ctx.patient.id, user_id, True)
            return kit.say("consent_declined")
        if answer != "yes":
            return [kit.notice("button_expired")]
        if ctx.consented:
            return [kit.notice("consent_already")]
        await kit.patients.ensure(user_id, chat_id, now=kit.clock())
        known_name = ctx.patient.name if ctx.patient else None
        patient = await kit.patients.record_consent(
            user_id, None if known_name else first_name, now=kit.clock())
        if ctx.patient is not None and ctx.patient.checkins_paused:  # "No thanks" before
            await self._set_paused(patient.id, user_id, False)
        name = greeting_name(patient.name)
        if ctx.session is None:
            thanks = kit.messages.render("consent_thanks_no_session", name=name)
        elif ctx.day is None:
            thanks = kit.messages.render("consent_thanks", name=name)
        else:
            thanks = kit.messages.render("consent_thanks_session", name=name,
                                         date=ctx.session.session_date.isoformat(), day=ctx.day)
        # one message: thanks + zone question
        return await self.zones.ask(user_id, None, patient, before=thanks)

    async def _set_paused(self, patient_id: int, user_id: int, paused: bool) -> None:
        """Hold (or release) the patient's check-ins: the flag and the rows together."""
        checkins = self.checkins
        if checkins is None:  # no outbox wired (tests): the flag alone
            await self.kit.patients.set_checkins_paused(user_id, paused)
        elif paused:
            await checkins.stop(patient_id)
        else:
            await checkins.resume(patient_id)
        log.info("patient %d %s consent: check-ins %s", patient_id,
                 "declined" if paused else "gave", "held" if paused else "on")
