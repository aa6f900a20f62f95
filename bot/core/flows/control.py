"""The rules every multi-step flow follows, in one place (`FlowControl`), over the flow state of
bot/core/flowstate.py.

* Begin: the prompt carries a status line and a Cancel button; a different flow that was
  still open ends, and the patient is told ("I've stopped the time zone question").
* Text while a flow is open: a cancel word ends it; a bare "yes" / "no" where the step
  offers buttons gets the buttons again with a line asking for a tap (never the small-talk
  thumbs-up: "yes" under "delete everything?" must not read as done); otherwise the flow's
  own handler reads it, and when the handler says the text is not for it (a question, say)
  the text is answered as usual and the status line and buttons are shown again (the step's
  own choices too, e.g. a date to confirm: `button_makers`). A red flag is never a flow's
  input: outside a report or a check-in problem (`TRIAGING_FLOWS`, which triage their own
  words) it is triaged and answered before any handler reads it as a place or a date.
* Commands always run; /cancel ends the flow with its clear line; after another command the
  open flow is shown again, so the patient knows it is still there.
* A flow past its end time is not silently dropped: the next message says it ended.
* "flow:cancel" / "flow:done" buttons; a button of a flow that is no longer open gets the
  "no longer active" notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.core.flows.base import FlowKit, TurnContext
from bot.core.flowstate import ActiveFlow, Flow, flow_buttons, is_bare_answer, is_cancel
from bot.core.replies import Buttons, Reply

# (user_id, ctx, active flow, text) -> replies, or None: "not for me, answer it as usual"
TextHandler = Callable[[int, TurnContext, ActiveFlow, str], Awaitable[list[Reply] | None]]
# (user_id, active flow) -> the flow's closing line when cancelled (HTML)
CancelHandler = Callable[[int, ActiveFlow], Awaitable[str]]
# active flow -> the choices of its current step, rebuilt from the flow's state (a date to
# confirm: "Yes, Tue 1 Dec 2026" / "No, another date"), shown again with the status line
ButtonMaker = Callable[[ActiveFlow], Buttons]


# flows whose own handler reads any text as the patient's words and triages them (a report's
# description, a check-in problem's); every other flow's input is a place, a date or a choice,
# so a red flag typed there is answered as one (advice, report, staff card) before the flow
# may read it, and the flow is shown again under the advice
TRIAGING_FLOWS = frozenset({Flow.REPORT, Flow.CHECKIN_PROBLEM})


class FlowControl:
    """Begin, show, cancel and route the patient's one open flow."""

    def __init__(self, kit: FlowKit) -> None:
        self.kit = kit
        self.text_handlers: dict[Flow, TextHandler] = {}
        self.cancel_handlers: dict[Flow, CancelHandler] = {}
        self.done_handlers: dict[Flow, CancelHandler] = {}
        self.button_makers: dict[Flow, ButtonMaker] = {}

    # --- texts -----------------------------------------------------------------------------
    def label(self, key: str) -> str:
        """A flow button label (flow.buttons.<key>, "flow_" prefix allowed)."""
        return str(self.kit.messages.raw(f"flow.buttons.{key.removeprefix('flow_')}"))

    def status(self, active: ActiveFlow, **values: Any) -> str:
        """The flow's status line (HTML)."""
        key = active.flow.value
        if active.flow is Flow.REPORT and active.step == "more":
            key = "report_more"
            values.setdefault("id", active.get_int("report_id") or "?")
            values.setdefault("until", self.local_time(active, active.until))
        if active.flow is Flow.SESSION_DATE and active.step == "confirm":
            key = "session_confirm"
        if active.flow is Flow.CHECKIN_PROBLEM:
            values.setdefault("id", active.get_int("report_id") or "?")
        if active.flow is Flow.TIMEZONE:
            values.setdefault("zone", active.data.get("zone", ""))
        return self.kit.messages.render(f"flow.status.{key}", **values)

    def buttons(self, active: ActiveFlow, extra: Buttons = ()) -> Buttons:
        """The flow's own buttons (`extra`, or else those its step offers: the choices of a
        reminder are the prompt's), then Done (report additions) / Cancel."""
        maker = self.button_makers.get(active.flow)
        if not extra and maker is not None:
            extra = maker(active)
        return flow_buttons(self.label, active, extra)

    def prompt(self, text: str, active: ActiveFlow, extra: Buttons = (),
               **values: Any) -> list[Reply]:
        """`text` (HTML) with the status line under it and the flow's buttons."""
        return self.kit.html(f"{text}\n\n{self.status(active, **values)}",
                             self.buttons(active, extra))

    def reminder(self, active: ActiveFlow) -> list[Reply]:
        """The open flow shown again (after an answer or a command that was not for it)."""
        return self.kit.html(self.status(active), self.buttons(active))

    def attach(self, replies: list[Reply], active: ActiveFlow | None) -> list[Reply]:
        """`replies` with the open flow's status line and buttons under the last message to
        the patient (a message of its own when that one has buttons already)."""
        if active is None:
            return replies
        last = next((i for i in range(len(replies) - 1, -1, -1)
                     if replies[i].to_chat is None and not replies[i].notice), None)
        status = self.status(active)
        if last is None or replies[last].buttons or len(replies[last].text) + len(status) > 3900:
            return replies + self.reminder(active)
        merged = replace(replies[last], text=f"{replies[last].text}\n\n{status}",
                         buttons=self.buttons(active))
        return [*replies[:last], merged, *replies[last + 1:]]

    def local_time(self, active: ActiveFlow, moment: dt.datetime) -> str:
        """"14:05" in the clinic's zone (the flow does not know the patient's)."""
        return moment.astimezone(self.kit.settings.tz).strftime("%H:%M")

    def name(self, flow: Flow) -> str:
        """"time zone question", for "I've stopped the ..."."""
        return str(self.kit.messages.raw(f"flow.names.{flow.value}"))

    # --- state -----------------------------------------------------------------------------
    async def current(self, user_id: int, ctx: TurnContext | None = None) -> ActiveFlow | None:
        """The open flow (ended ones included: see `ended_note`)."""
        return await self.kit.flows.current(user_id, ctx.states if ctx is not None else None)

    async def live(self, user_id: int, ctx: TurnContext | None = None) -> ActiveFlow | None:
        """The open flow that has not ended."""
        active = await self.current(user_id, ctx)
        return active if active is not None and not active.ended(self.kit.clock()) else None

    async def begin(self, user_id: int, flow: Flow, step: str, ctx: TurnContext | None = None,
                    **data: Any) -> tuple[ActiveFlow, list[Reply]]:
        """Start `flow`; returns it and a note when another flow was open and is now ended."""
        before = await self.live(user_id, ctx)
        note: list[Reply] = []
        if before is not None and before.flow is not flow:
            note = self.kit.say("flow.replaced", what=self.name(before.flow))
        active = await self.kit.flows.begin(user_id, flow, step,
                                            ctx.states if ctx is not None else None, **data)
        return active, note

    async def advance(self, user_id: int, active: ActiveFlow, step: str | None = None,
                      ctx: TurnContext | None = None, **data: Any) -> ActiveFlow:
        """Next step (the end time stays)."""
        return await self.kit.flows.advance(user_id, active, step,
                                            ctx.states if ctx is not None else None, **data)

    async def end(self, user_id: int, ctx: TurnContext | None = None) -> None:
        """The flow is finished."""
        await self.kit.flows.end(user_id, ctx.states if ctx is not None else None)

    # --- routing ---------------------------------------------------------------------------
    async def ended_note(self, user_id: int, ctx: TurnContext) -> list[Reply]:
        """When the patient's flow ran out of time: end it and say so (once)."""
        active = await self.current(user_id, ctx)
        if active is None or not active.ended(self.kit.clock()):
            return []
        await self.end(user_id, ctx)
        return self.kit.say("flow.ended", what=self.name(active.flow),
                            time=self.local_time(active, active.until))

    async def text(self, user_id: int, ctx: TurnContext, text: str,
                   answer: Callable[[], Awaitable[list[Reply]]]) -> list[Reply]:
        """A typed message while a flow may be open; `answer` is the usual reply to it."""
        note = await self.ended_note(user_id, ctx)
        active = await self.live(user_id, ctx)
        if active is None:
            return note + await answer()
        if is_cancel(text):
            return await self.cancel(user_id, ctx)
        choices = self.buttons(active)
        if (is_bare_answer(text) and len([b for row in choices for b in row]) > 1
                and not ctx.has_open_report):
            # "yes" typed under "Are you sure?": the buttons again, not a thumbs-up the
            # patient would take for a done deal (nor "yes" looked up as a city)
            line = self.kit.messages.render("flow.tap_buttons")
            return self.kit.html(f"{line}\n\n{self.status(active)}", choices)
        handler = self.text_handlers.get(active.flow)
        if (handler is not None and active.flow not in TRIAGING_FLOWS
                and self.kit.advisor.ask(text, ctx.day).escalate):
            handler = None  # "cant breathe" typed while a city is awaited: a red flag first
        handled = await handler(user_id, ctx, active, text) if handler is not None else None
        if handled is not None:
            return handled
        replies = await answer()
        return self.attach(replies, await self.live(user_id, ctx))  # it may have ended

    async def after_command(self, user_id: int, name: str,
                            replies: list[Reply]) -> list[Reply]:
        """A command ran while a flow was open: show the flow again below its answer."""
        if name in ("cancel", "start", "report", "timezone", "session", "delete"):
            return replies
        return self.attach(replies, await self.live(user_id))

    async def cancel(self, user_id: int, ctx: TurnContext | None = None) -> list[Reply]:
        """/cancel, a cancel word or the Cancel button: end the flow with its clear line."""
        active = await self.live(user_id, ctx)
        await self.end(user_id, ctx)
        if active is None:
            return self.kit.say("flow.nothing_to_cancel")
        handler = self.cancel_handlers.get(active.flow)
        if handler is not None:
            return self.kit.html(await handler(user_id, active))
        return self.kit.say(f"flow.cancelled.{active.flow.value}")

    async def button(self, user_id: int, action: str) -> list[Reply]:
        """"flow:cancel" / "flow:done"."""
        if action == "cancel":
            if await self.live(user_id) is None:
                return [self.kit.notice("button_expired")]
            return await self.cancel(user_id)
        active = await self.live(user_id)
        handler = self.done_handlers.get(active.flow) if active is not None else None
        if action != "done" or active is None or handler is None:
            return [self.kit.notice("button_expired")]
        await self.end(user_id)
        return self.kit.html(await handler(user_id, active))
