"""Answers to check-in buttons ("ci:..."), and the description that follows a problem answer.

The check-in service checks the check-in is this user's and decides the reply. A problem
answer ("Something's wrong", day 3's "Yes, one of those") becomes a report for staff at once
(with the care plan's urgency when the answer is a red flag by itself, so the patient gets
the urgent advice straight away) and opens the check-in flow: the patient's next message is
their description. It is triaged like any message, added to the same report (its text, so the
card, /report N and the export show the patient's words; its urgency raised when triage
says so), threaded under the staff card, and the patient is told what happens next,
including that their other check-ins are paused until staff have looked at it.
"""

from __future__ import annotations

import html

from bot.core.availability import Kind
from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flows.control import FlowControl
from bot.core.flowstate import ActiveFlow, Flow
from bot.core.ports import AdvisorPort, CheckinEvents, PatientDesk, ReportNotifier
from bot.core.replies import Reply
from storage import Direction
from storage.models import Urgency


class CheckinAnswers:
    """A pressed check-in answer button, and the problem description after it."""

    def __init__(self, kit: FlowKit, checkins: CheckinEvents | None, alerts: ReportNotifier,
                 control: FlowControl, desk: PatientDesk | None = None) -> None:
        self.kit = kit
        self.checkins = checkins
        self.alerts = alerts
        self.desk = desk
        self.control = control
        control.text_handlers[Flow.CHECKIN_PROBLEM] = self.described
        control.cancel_handlers[Flow.CHECKIN_PROBLEM] = self._cancelled

    @property
    def attached(self) -> bool:
        """True when the check-in scheduler is plugged in."""
        return self.checkins is not None

    @property
    def advisor(self) -> AdvisorPort:
        """The kit's advisor (swapped when the clinic's KB additions change)."""
        return self.kit.advisor

    async def answer(self, user_id: int, data: str) -> list[Reply]:
        """A check-in answer button; the service checks the check-in is this user's."""
        kit = self.kit
        assert self.checkins is not None
        ctx = await kit.context(user_id)  # without consent the answer is not stored
        outcome = await self.checkins.answer(user_id, data, store=ctx.consented)
        if not outcome.reply:
            return [kit.notice("button_expired")]
        text = html.escape(outcome.reply, quote=False)
        result = outcome.result
        problem = next((r for r in outcome.reports if r.kind == "checkin"), None)
        if problem is None:
            replies = kit.html(text)
        else:
            if problem.urgency:
                text += "\n\n" + html.escape(self.advisor.text(problem.urgency), quote=False)
                if problem.urgency == Urgency.URGENT.value:  # emergency advice: as it is
                    patient = await kit.patients.get(user_id)
                    text += "\n\n" + kit.when_read("urgent", patient)
                text += "\n\n" + kit.messages.render("flow.checkin_urgent_prompt", id=problem.id)
            active, note = await self.control.begin(
                user_id, Flow.CHECKIN_PROBLEM, "describe", report_id=problem.id,
                day=result.step.day if result is not None and result.step else None)
            replies = note + self.control.prompt(text, active)
        for report in outcome.reports:
            replies += self.alerts.notify(report)
        return replies

    async def described(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                        text: str) -> list[Reply] | None:
        """The patient's words after a problem answer: triaged, added to the report."""
        kit = self.kit
        report_id = active.get_int("report_id")
        await self.control.end(user_id, ctx)
        if report_id is None:
            return None
        day = active.get_int("day")
        advice = self.advisor.ask(text, ctx.day if ctx.day is not None else day)
        reason = advice.triage.reason if advice.escalate and advice.triage else None
        staff: list[Reply] = []
        desk = self.desk
        if desk is not None:
            label = str(kit.messages.raw("flow.description_label"))
            staff = await desk.checkin_description(report_id, text, label,
                                                   advice.urgency if advice.escalate else None,
                                                   reason)
        if ctx.consented:
            kit.log.add(user_id, [(Direction.IN, text, "checkin_problem", advice.kind)],
                        now=kit.clock())
        replies: list[Reply] = []
        if advice.escalate:
            replies += kit.html(html.escape(advice.answer, quote=False))
        kind: Kind = "urgent" if advice.urgency == Urgency.URGENT.value else "report"
        replies += kit.say("flow.checkin_described", id=report_id,
                           status=kit.when_read(kind, ctx.patient, id=report_id))
        return replies + staff

    async def _cancelled(self, user_id: int, active: ActiveFlow) -> str:
        return self.kit.messages.render("flow.cancelled.checkin_problem",
                                        id=active.get_int("report_id") or "?")
