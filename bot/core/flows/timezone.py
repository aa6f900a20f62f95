"""The time-zone picker: keep the current zone, pick a common one, or type a city.

A changed zone moves the patient's pending check-ins to the new local hours.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.core.flows.base import FlowKit, TurnContext
from bot.core.ports import CheckinEvents
from bot.core.replies import Button, Reply
from scheduler.zones import city_label, offered_zones, resolve_zone
from storage import ConsentRequired, PatientInfo


class TimeZoneFlow:
    """/timezone, its buttons ("tz:keep", "tz:set:<zone>", "tz:other") and typed places."""

    def __init__(self, kit: FlowKit, checkins: CheckinEvents | None) -> None:
        self.kit = kit
        self.checkins = checkins

    def prompt(self, patient: PatientInfo | None, before: str = "") -> list[Reply]:
        """"Which time zone?" (after `before`, HTML): keep the current zone, pick a common
        one, or type another."""
        kit = self.kit
        current = kit.tz(patient).key
        keep = kit.messages.label("tz_keep").format(zone=current)
        common = [(city_label(z), f"tz:set:{z}") for z in offered_zones(current)]
        rows: list[tuple[Button, ...]] = [((keep, "tz:keep"),)]
        rows += [tuple(common[i:i + 3]) for i in range(0, len(common), 3)]
        rows.append((kit.button("tz_other", "tz:other"),))
        question = kit.messages.render("timezone_prompt", zone=current)
        return kit.html(f"{before}\n\n{question}" if before else question, tuple(rows))

    async def command(self, user_id: int) -> list[Reply]:
        """/timezone."""
        ctx = await self.kit.context(user_id)
        if not ctx.consented:
            return self.kit.say("timezone_needs_consent")
        return self.prompt(ctx.patient)

    async def choice(self, user_id: int, choice: str) -> list[Reply]:
        """A "tz:..." button."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("timezone_needs_consent")
        action, _, zone = choice.partition(":")
        if action == "keep":
            await kit.update_state(user_id, ctx, awaiting_zone=False)
            return self._reply("timezone_kept", kit.tz(ctx.patient).key)
        if action == "other":
            await kit.update_state(user_id, ctx, awaiting_zone=True)
            return kit.say("timezone_other_prompt")
        resolved = resolve_zone(zone) if action == "set" else None
        if resolved is None:
            return [kit.notice("button_expired")]
        return await self._set(user_id, ctx, resolved)

    async def typed(self, user_id: int, ctx: TurnContext, text: str) -> list[Reply] | None:
        """Replies for a typed city or zone name; None when the text is a question instead."""
        zone = resolve_zone(text)
        if zone is not None and ctx.consented:
            return await self._set(user_id, ctx, zone)
        if "?" in text or len(text.split()) > 4 or not ctx.consented:
            await self.kit.update_state(user_id, ctx, awaiting_zone=False)  # not a place
            return None
        return self.kit.say("timezone_unknown", text=text.strip()[:64])

    async def _set(self, user_id: int, ctx: TurnContext, zone: str) -> list[Reply]:
        kit = self.kit
        await kit.update_state(user_id, ctx, awaiting_zone=False)
        try:
            patient = await kit.repo.set_timezone(user_id, zone)
        except ConsentRequired:
            return kit.say("timezone_needs_consent")
        if self.checkins is not None:  # pending check-ins move to the new local hours
            await self.checkins.patient_linked(patient.id)
        return self._reply("timezone_set", zone)

    def _reply(self, key: str, zone: str) -> list[Reply]:
        local = self.kit.clock().astimezone(ZoneInfo(zone))
        return self.kit.say(key, zone=zone, time=local.strftime("%H:%M"))
