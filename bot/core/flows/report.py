"""/report: the patient tells the clinic about a problem, in the open, with a way out.

The flow (bot/core/flowstate.py) has two steps, each with its status line and buttons:

* "describe": the next message is the description. A question for the bot instead ("can I
  wear makeup?") is answered, and the patient is asked whether it was meant for the clinic
  ("Send it to the clinic") or to describe the problem; a red flag always becomes the report.
* "more": the report is with the clinic (card, urgency from triage); further details and
  photos join it until Done, Cancel or the flow's fixed end (30 minutes from /report, never
  renewed). Questions are still answered as usual.

Words sent during a database outage are stored later by the spool's replay
(bot/telegram/spooling.py); when they answered the /report waiting for its words, the flow
moves on then as it would have online (`kept_words`), and a cancel word cancels it
(`kept_cancel`). Whether it waited for them is `waits_for`: an ordinary text kept offline
raises a report only then.

The staff side (cards, threads, photos) stays in bot/core/desk/.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.core.flows.advice import AdviceFlow
from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flows.control import FlowControl
from bot.core.flowstate import ActiveFlow, Flow
from bot.core.ports import PatientDesk
from bot.core.replies import Buttons, Reply
from storage import ReportInfo

_QUESTION_START = re.compile(
    r"^(can|could|should|shall|may|is|are|am|do|does|did|how|what|when|where|which|why|will|"
    r"would|who)\b", re.IGNORECASE)
MAX_PENDING = 2000
OFFLINE_REPORT = "offline_report"  # flow data: the offline /report a replay ran (update id)


def looks_like_question(text: str) -> bool:
    """"can I wear makeup?", "how long does redness last": a question, not a report."""
    stripped = text.strip()
    return stripped.endswith("?") or bool(_QUESTION_START.match(stripped))


class ReportFlow:
    """/report, its text steps, "flow:send" and its Done / Cancel."""

    def __init__(self, kit: FlowKit, desk: PatientDesk, advice: AdviceFlow,
                 control: FlowControl) -> None:
        self.kit = kit
        self.desk = desk
        self.advice = advice
        self.control = control
        control.text_handlers[Flow.REPORT] = self.text
        control.cancel_handlers[Flow.REPORT] = self._cancelled
        control.done_handlers[Flow.REPORT] = self._done
        control.button_makers[Flow.REPORT] = self._send_buttons

    def _send_buttons(self, active: ActiveFlow) -> Buttons:
        """"Send it to the clinic" while a question typed at the first step waits to be sent
        or described (Done / Cancel are added by the flow)."""
        pending = active.data.get("pending")
        if active.step != "describe" or not isinstance(pending, str) or not pending.strip():
            return ()
        return (((self.control.label("send"), "flow:send"),),)

    async def command(self, user_id: int, offline: int | None = None) -> list[Reply]:
        """/report: ask what is wrong. `offline`: the update id of a /report typed during a
        database outage that the spool's replay runs now (its words may be kept too)."""
        data: dict[str, Any] = {OFFLINE_REPORT: offline} if offline is not None else {}
        active, note = await self.control.begin(user_id, Flow.REPORT, "describe", **data)
        return note + self.control.prompt(self.kit.messages.render("desk.patient_ask"), active)

    async def waits_for(self, user_id: int, written: dt.datetime,
                        describes: int | None) -> bool:
        """Did the patient's /report wait for the words they wrote at `written`, during a
        database outage (`describes`: the offline /report they were kept as the words of)?
        True when it is still at its first step, in the database, and the words are that
        /report's (run by the spool's replay for it) or came after it began and before its
        time was up (its time may be up by now: the outage was long)."""
        active = await self.control.current(user_id)
        if active is None or active.flow is not Flow.REPORT or active.step != "describe":
            return False
        mine = describes is not None and active.get_int(OFFLINE_REPORT) == describes
        return (mine or active.started_at <= written) and written < active.until

    async def kept_words(self, user_id: int, report: ReportInfo, written: dt.datetime,
                         describes: int | None) -> list[Reply]:
        """Words the patient wrote during a database outage, stored now as `report` (the
        spool's replay; `describes`: the offline /report they were kept as the words of).
        When they answered the /report that waits for its words (`waits_for`), sent before
        them or run by the replay for that offline /report, it moves on as if they had come
        online (the report is `report`); the replies are what the patient would have been
        told then, but the advice they had at once. Nothing otherwise (words sent before
        this /report, or after its time)."""
        if not await self.waits_for(user_id, written, describes):
            return []
        replies = list(await self.desk.kept_report(user_id, report))
        return self.control.attach(replies, await self.control.live(user_id))

    async def kept_cancel(self, user_id: int, written: dt.datetime) -> list[Reply]:
        """A cancel word ("cancel", "stop") the patient wrote during a database outage, its
        replay now: when the /report waited for words then (`waits_for`), it is cancelled
        as it would have been online, with its closing line (none when its time is up
        meanwhile: it is simply ended). Nothing otherwise."""
        if not await self.waits_for(user_id, written, None):
            return []
        if await self.control.live(user_id) is None:
            await self.control.end(user_id)
            return []
        return await self.control.cancel(user_id)

    async def text(self, user_id: int, ctx: TurnContext, active: ActiveFlow,
                   text: str) -> list[Reply] | None:
        """A message while the report is open."""
        advice = self.kit.advisor.ask(text, ctx.day)
        question = (not advice.escalate and advice.kind in ("answered", "smalltalk")
                    and looks_like_question(text))
        if active.step == "describe":
            if question:
                waiting = await self.control.advance(user_id, active, ctx=ctx,
                                                     pending=text[:MAX_PENDING])
                answer = await self.advice.advise(user_id, ctx, text, advice)
                return answer + self.kit.html(
                    self.kit.messages.render("flow.report_question"),
                    self.control.buttons(waiting))
            return await self._describe(user_id, ctx, text)
        if question:
            return None  # answered as usual, then the open report is shown again
        added = await self.desk.add_to_report(user_id, active.get_int("report_id") or 0, text)
        if added is None:  # the report is gone or closed
            await self.control.end(user_id, ctx)
            return None
        return self.control.attach(list(added), active)

    async def _describe(self, user_id: int, ctx: TurnContext, text: str) -> list[Reply]:
        replies = list(await self.desk.patient_report(user_id, text))
        return self.control.attach(replies, await self.control.live(user_id))

    async def send(self, user_id: int) -> list[Reply]:
        """"Send it to the clinic": the question typed during /report becomes the report."""
        ctx = await self.kit.context(user_id)
        active = await self.control.live(user_id, ctx)
        pending = active.data.get("pending") if active is not None else None
        if (active is None or active.flow is not Flow.REPORT or active.step != "describe"
                or not isinstance(pending, str) or not pending.strip()):
            return [self.kit.notice("button_expired")]
        return await self._describe(user_id, ctx, pending)

    async def _cancelled(self, user_id: int, active: ActiveFlow) -> str:
        if active.step == "more":
            return self.kit.messages.render("flow.cancelled.report_more",
                                            id=active.get_int("report_id") or "?")
        return self.kit.messages.render("flow.cancelled.report")

    async def _done(self, user_id: int, active: ActiveFlow) -> str:
        return self.kit.messages.render("flow.report_done", id=active.get_int("report_id") or "?")
