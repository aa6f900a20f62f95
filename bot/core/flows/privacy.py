"""The patient's control over their data and messages: /privacy, /mydata, /delete (with
its confirmation buttons), /stop and /resume of check-ins."""

from __future__ import annotations

from bot.core.flows.base import FlowKit
from bot.core.flows.control import FlowControl
from bot.core.flowstate import ActiveFlow, Flow
from bot.core.forgetting import Forgetting
from bot.core.ports import CheckinEvents
from bot.core.replies import Buttons, Reply


class PrivacyFlow:
    """What is stored, erasing it, pausing check-ins (and why they are paused)."""

    def __init__(self, kit: FlowKit, control: FlowControl,
                 checkins: CheckinEvents | None, forgetting: Forgetting) -> None:
        self.kit = kit
        self.checkins = checkins
        self.control = control
        self.forgetting = forgetting  # what this process keeps of patients' words, in memory
        control.button_makers[Flow.DELETE] = self._delete_buttons

    def _delete_buttons(self, active: ActiveFlow) -> Buttons:
        """"Yes, delete everything" (Cancel is added by the flow): on the prompt and on every
        reminder of the open confirmation."""
        return ((self.kit.button("delete_yes", "delete:yes"),),)

    async def _holds(self, user_id: int) -> list[int]:
        """Reports whose resolution the patient's check-ins wait for."""
        kit = self.kit
        if self.checkins is None:
            return []
        patient = await kit.patients.get(user_id)
        return [] if patient is None else await self.checkins.holding_reports(patient.id)

    def _pause_text(self, by_patient: bool, holds: list[int]) -> str:
        ids = ", #".join(str(i) for i in holds)
        if by_patient and holds:
            return self.kit.messages.render("flow.pause_both", ids=ids)
        if holds:
            return self.kit.messages.render("flow.pause_report", ids=ids)
        if by_patient:
            return self.kit.messages.render("flow.pause_patient")
        return self.kit.messages.render("mydata_checkins_on")

    async def privacy(self, user_id: int) -> list[Reply]:
        """/privacy."""
        return self.kit.say("privacy")

    async def mydata(self, user_id: int) -> list[Reply]:
        """/mydata: a summary of everything stored about the user."""
        kit = self.kit
        await kit.log.flush()
        summary = await kit.stats.data_summary(user_id)
        if not summary["exists"]:
            return kit.say("mydata_nothing")
        if summary["consent_at"] is None:
            if summary["reports"]:
                return kit.say("mydata_bare_reports", reports=summary["reports"])
            return kit.say("mydata_bare")
        dates = ", ".join(d.isoformat() for d in summary["session_dates"])
        unknown = kit.messages.render("mydata_unknown")
        return kit.say(
            "mydata", name=summary["name"] or unknown,
            consent=summary["consent_at"].date().isoformat(),
            sessions=dates or kit.messages.render("mydata_none"),
            messages=summary["messages"], reports=summary["reports"],
            timezone=summary["timezone"] or kit.settings.tz.key,
            checkins=self._pause_text(bool(summary["checkins_paused"]),
                                      await self._holds(user_id)))

    async def delete_command(self, user_id: int) -> list[Reply]:
        """/delete: asks to confirm (or says there is nothing)."""
        kit = self.kit
        if await kit.patients.get(user_id) is None:
            # their states (a question kept for "ask the clinic"), the erasure counted: every
            # replica forgets the words it read (bot/core/forgetting.py)
            await kit.patients.erase(user_id)
            await self.forgetting.erased(user_id)  # this one at once
            return kit.say("delete_nothing")
        active, note = await self.control.begin(user_id, Flow.DELETE, "confirm")
        return note + self.control.prompt(kit.messages.render("delete_confirm"), active)

    async def delete_choice(self, user_id: int, choice: str) -> list[Reply]:
        """A "delete:yes" / "delete:no" press."""
        kit = self.kit
        active = await self.control.live(user_id)
        if active is not None and active.flow is Flow.DELETE:
            await self.control.end(user_id)
        if choice == "no":
            return kit.say("delete_cancelled")
        if choice != "yes":
            return [kit.notice("button_expired")]
        await kit.log.flush()
        erased = await kit.patients.erase(user_id)  # conversation states included; counted
        await self.forgetting.erased(user_id)  # their words in this process's caches (every
        # other replica's go at its next update or tick: bot/core/forgetting.py)
        if not erased:
            return [kit.notice("already_deleted")]
        return kit.say("deleted")

    async def stop(self, user_id: int) -> list[Reply]:
        """/stop: pause check-ins (the flag and the rows in one transaction)."""
        return await self._pause(user_id, True, "stopped")

    async def resume(self, user_id: int) -> list[Reply]:
        """/resume: check-ins again."""
        return await self._pause(user_id, False, "resumed")

    async def _pause(self, user_id: int, paused: bool, done: str) -> list[Reply]:
        kit = self.kit
        patient = await kit.patients.get(user_id)
        if patient is None:
            return kit.say("stop_nothing")
        if self.checkins is None:  # no outbox wired (tests): the flag alone
            await kit.patients.set_checkins_paused(user_id, paused)
        elif paused:
            await self.checkins.stop(patient.id)
        else:
            await self.checkins.resume(patient.id)
        holds = [] if paused else await self._holds(user_id)
        if holds:
            return kit.say("flow.resumed_but_held", ids=", #".join(str(i) for i in holds))
        return kit.say(done)
