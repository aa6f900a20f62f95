"""The time-zone picker: keep the current zone, pick a common one, type a city, or share the
phone's location.

The offered buttons are always the same, in the same order (the current zone is marked, not
removed), so a button's position never changes. "Other" opens the time-zone flow (status
line, Cancel, /cancel; a question typed meanwhile is answered as usual). A typed place is
looked up in the GeoNames gazetteer (scheduler/zones.py); a name found in several zones gets
one button per zone. A changed zone moves the patient's pending check-ins to the new local
hours.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flows.control import FlowControl
from bot.core.flowstate import ActiveFlow, Flow
from bot.core.ports import CheckinEvents
from bot.core.replies import Buttons, Reply
from knowledge.text import answer_words
from scheduler.zones import (
    ZoneLookup,
    city_label,
    is_zone_name,
    lookup_zone,
    offered_zones,
    warm_up,
    zone_at,
)
from storage import ConsentRequired, PatientInfo

MAX_CALLBACK = 64


class TimeZoneFlow:
    """/timezone, its buttons ("tz:keep", "tz:set:<zone>", "tz:other"), typed places and
    shared locations."""

    def __init__(self, kit: FlowKit, control: FlowControl,
                 checkins: CheckinEvents | None) -> None:
        self.kit = kit
        self.checkins = checkins
        self.control = control
        control.text_handlers[Flow.TIMEZONE] = self.typed
        control.cancel_handlers[Flow.TIMEZONE] = self._cancelled
        control.button_makers[Flow.TIMEZONE] = self._choices
        self._warming: object = None

    def prompt(self, patient: PatientInfo | None, before: str = "") -> list[Reply]:
        """"Which time zone?" (after `before`, HTML): keep the current zone, pick a common
        one (same buttons whatever the current zone), or type another."""
        kit = self.kit
        current = kit.tz(patient).key
        keep = kit.messages.label("tz_keep").format(zone=current)
        common = []
        for zone in offered_zones():
            label = city_label(zone)
            if zone == current:
                label = kit.messages.render("flow.tz_current_mark", city=label)
            common.append((label, f"tz:set:{zone}"))
        rows: list[tuple[tuple[str, str], ...]] = [((keep, "tz:keep"),)]
        rows += [tuple(common[i:i + 3]) for i in range(0, len(common), 3)]
        rows.append((kit.button("tz_other", "tz:other"),))
        question = kit.messages.render("timezone_prompt", zone=current)
        return kit.html(f"{before}\n\n{question}" if before else question, tuple(rows))

    async def ask(self, user_id: int, ctx: TurnContext | None, patient: PatientInfo | None,
                  before: str = "") -> list[Reply]:
        """`prompt`, remembered as asked: until it is answered a place typed instead of
        tapped is read as the answer (`typed_place`)."""
        if ctx is not None:
            await self._end_own(user_id, ctx)  # a city awaited before: the new prompt instead
        await self.kit.update_state(user_id, ctx, zone_asked=True)
        return self.prompt(patient, before)

    async def command(self, user_id: int) -> list[Reply]:
        """/timezone."""
        ctx = await self.kit.context(user_id)
        if not ctx.consented:
            return self.kit.say("timezone_needs_consent")
        return await self.ask(user_id, ctx, ctx.patient)

    async def typed_place(self, user_id: int, ctx: TurnContext, text: str) -> list[Reply] | None:
        """A reply typed under "Which time zone are you in?" instead of a tap: a place or zone
        name ("Manchester", "Europe/Madrid") sets the zone (one found in several zones gets a
        button for each), "keep" ("keep London") keeps the current one. Only while that
        question is unanswered, no flow is open and no report is (an "ok" may follow a red
        flag), only for a few words that are no question, and never for a red flag or
        anything the bot can answer: None, and the text is read as usual."""
        kit = self.kit
        if not ctx.consented or not (await kit.state(user_id, ctx)).zone_asked:
            return None
        if (await self.control.current(user_id, ctx) is not None
                or ctx.has_open_report):
            return None  # a flow is open (it reads the text) or has just ended (it says so)
        if "?" in text or len(text.split()) > 4:
            return None
        said = answer_words(text)
        if said.split()[:1] == ["keep"]:
            await self._end_own(user_id, ctx)
            await kit.update_state(user_id, ctx, zone_asked=False)
            return self._reply("timezone_kept", kit.tz(ctx.patient).key)
        advice = kit.advisor.ask(text, ctx.day)
        if advice.escalate or advice.kind not in ("abstained", "suggested"):
            return None
        found = await asyncio.to_thread(lookup_zone, text)
        if found.zone is not None:
            return await self._set(user_id, ctx, found.zone)
        if not found.ambiguous:
            return None
        active, note = await self.control.begin(user_id, Flow.TIMEZONE, "typing", ctx,
                                                zone=kit.tz(ctx.patient).key)
        return note + await self._ambiguous(user_id, ctx, active, text, found)

    async def choice(self, user_id: int, choice: str) -> list[Reply]:
        """A "tz:..." button."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return kit.say("timezone_needs_consent")
        action, _, zone = choice.partition(":")
        current = kit.tz(ctx.patient).key
        if action == "keep":
            await self._end_own(user_id, ctx)
            await kit.update_state(user_id, ctx, zone_asked=False)
            return self._reply("timezone_kept", current)
        if action == "other":
            self._warm()  # the city index loads while the patient types
            active, note = await self.control.begin(user_id, Flow.TIMEZONE, "typing", ctx,
                                                    zone=current)
            text = (kit.messages.render("timezone_other_prompt") + "\n"
                    + kit.messages.render("flow.tz_location_hint"))
            return note + self.control.prompt(text, active)
        if action != "set" or not is_zone_name(zone):
            return [kit.notice("button_expired")]
        return await self._set(user_id, ctx, lookup_zone(zone).zone or zone)

    async def typed(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                    text: str) -> list[Reply] | None:
        """A typed city or zone name; None when the text is a question instead (it is then
        answered as usual and the flow shown again)."""
        kit = self.kit
        if "?" in text or len(text.split()) > 4:
            return None
        found = await asyncio.to_thread(lookup_zone, text)  # the first one loads the index
        if found.zone is not None:
            return await self._set(user_id, ctx, found.zone)
        if found.ambiguous:
            return await self._ambiguous(user_id, ctx, active, text, found)
        if kit.advisor.ask(text, ctx.day).kind == "answered":
            return None  # "sun cream ok": no place, a question; answered, the flow shown again
        moved = await self.control.advance(user_id, active, ctx=ctx, choices=[])
        return self.control.prompt(
            kit.messages.render("timezone_unknown", text=text.strip()[:64]), moved)

    async def _ambiguous(self, user_id: int, ctx: TurnContext, active: ActiveFlow, text: str,
                         found: ZoneLookup) -> list[Reply]:
        """A place name found in several zones: one button per zone."""
        choices = [[place.label, place.zone] for place in found.choices
                   if len(f"tz:set:{place.zone}".encode()) <= MAX_CALLBACK]
        moved = await self.control.advance(user_id, active, ctx=ctx, choices=choices)
        return self.control.prompt(
            self.kit.messages.render("flow.tz_choose", text=text.strip()[:64]), moved)

    @staticmethod
    def _choices(active: ActiveFlow) -> Buttons:
        """One button per zone of the place name last typed (found in several zones), from
        the flow's state: on its prompt and on every reminder while the question is open."""
        choices = active.data.get("choices")
        if not isinstance(choices, list):
            return ()
        return tuple(((str(label), f"tz:set:{zone}"),) for label, zone in
                     (c for c in choices if isinstance(c, list) and len(c) == 2))

    async def location(self, user_id: int, latitude: float,
                       longitude: float) -> list[Reply] | None:
        """A shared location: the zone there (None when the patient has not consented, so
        the usual "I can't use locations" reply is given)."""
        kit = self.kit
        ctx = await kit.context(user_id)
        if not ctx.consented:
            return None
        zone = await asyncio.to_thread(zone_at, latitude, longitude)
        if zone is None:
            active = await self.control.live(user_id, ctx)
            if active is not None and active.flow is Flow.TIMEZONE:
                return self.control.prompt(kit.messages.render("flow.tz_location_unknown"),
                                           active)
            return kit.say("flow.tz_location_unknown")
        return await self._set(user_id, ctx, zone, key="flow.tz_location_set")

    def _warm(self) -> None:
        task = asyncio.get_running_loop().run_in_executor(None, warm_up)
        self._warming = task  # keep a reference until done

    async def _end_own(self, user_id: int, ctx: TurnContext) -> None:
        """End the time-zone flow if it is the open one (another flow stays)."""
        active = await self.control.live(user_id, ctx)
        if active is not None and active.flow is Flow.TIMEZONE:
            await self.control.end(user_id, ctx)

    async def _cancelled(self, user_id: int, active: ActiveFlow) -> str:
        ctx = await self.kit.context(user_id)
        return self.kit.messages.render("flow.cancelled.timezone",
                                        zone=self.kit.tz(ctx.patient).key)

    async def _set(self, user_id: int, ctx: TurnContext, zone: str,
                   key: str = "timezone_set") -> list[Reply]:
        kit = self.kit
        await self._end_own(user_id, ctx)
        await kit.update_state(user_id, ctx, zone_asked=False)
        try:
            patient = await kit.patients.set_timezone(user_id, zone)
        except ConsentRequired:
            return kit.say("timezone_needs_consent")
        if self.checkins is not None:  # pending check-ins move to the new local hours
            await self.checkins.patient_linked(patient.id)
        return self._reply(key, zone)

    def _reply(self, key: str, zone: str) -> list[Reply]:
        local = self.kit.clock().astimezone(ZoneInfo(zone))
        return self.kit.say(key, zone=zone, time=local.strftime("%H:%M"))
