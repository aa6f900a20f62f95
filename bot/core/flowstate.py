"""The one mechanism behind every multi-step patient flow: which flow a patient is in, at which
step, until when, and how it ends.

A flow is a question the bot asked and is waiting on: /report's description and additions,
a typed time zone, a typed or confirmed treatment date, the description after a check-in
"Something's wrong", the /delete confirmation, fixing a session. Every flow shares the same
rules, kept here and in `FlowStore`, so no flow can trap a patient:

* one flow at a time per patient (``chat_state`` kind "flow"); starting another one ends the
  first, and the patient is told so;
* a fixed end time (`ActiveFlow.until`) set when the flow starts and never renewed by the
  patient's messages, so there is no silently restarting window; the row is kept a while
  after that (`ENDED_GRACE`), so the next message can say "that question has ended";
* every prompt shows the state (`status_line`) and a Cancel button (``flow:cancel``); typing
  /cancel or a cancel word ("cancel", "stop", "never mind") ends it with a clear line;
* commands always run as commands, never as the flow's input.

The flow modules decide what their input means; `FlowStore` only keeps the state.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.core.ports import ChatStates
from knowledge.text import answer_words
from storage.chat_state import Payload, StateKind
from storage.clock import Clock

FlowButton = tuple[str, str]  # (label, callback_data), as bot.core.replies.Button
FlowButtons = tuple[tuple[FlowButton, ...], ...]

CANCEL_DATA = "flow:cancel"
DONE_DATA = "flow:done"
ENDED_GRACE = dt.timedelta(hours=12)  # an ended flow is remembered this long, to say so once
_CANCEL_WORDS = frozenset({"cancel", "stop", "quit", "exit", "never mind", "nevermind",
                           "forget it", "no thanks", "abort", "/cancel"})
_PUNCT = re.compile(r"[^\w\s/]", re.UNICODE)
# a bare yes or no typed where buttons ask (compared as ``knowledge.text.answer_words``)
BARE_YES = frozenset({
    "yes", "y", "yeah", "yep", "yup", "yes please", "ok", "okay", "sure", "fine", "go ahead",
    "i agree", "agree", "agreed", "yes i agree", "ok i agree", "i accept", "accept",
    "accepted", "i consent", "consent", "yes i consent", "i do", "yes i do", "do it",
    "please do", "confirm", "confirmed", "correct", "right", "thats right", "yes thats right",
})
BARE_NO = frozenset({"no", "n", "nope", "nah", "no thank you", "dont", "please dont", "wrong",
                     "thats wrong", "not right"})


class Flow(StrEnum):
    """The multi-step flows (message keys live under ``flow.<name>`` in messages.yaml)."""

    REPORT = "report"  # /report: describe the problem, then add details or photos
    TIMEZONE = "timezone"  # a typed city or zone name (or a shared location)
    SESSION_DATE = "session_date"  # a typed treatment date, or a date to confirm
    CHECKIN_PROBLEM = "checkin_problem"  # a check-in problem answer: describe it
    DELETE = "delete"  # /delete: confirm
    SESSION_FIX = "session_fix"  # /session: fix or remove a logged treatment date


LIFETIME: dict[Flow, dt.timedelta] = {
    Flow.REPORT: dt.timedelta(minutes=30),
    Flow.TIMEZONE: dt.timedelta(minutes=15),
    Flow.SESSION_DATE: dt.timedelta(minutes=30),
    Flow.CHECKIN_PROBLEM: dt.timedelta(hours=6),
    Flow.DELETE: dt.timedelta(minutes=15),
    Flow.SESSION_FIX: dt.timedelta(minutes=30),
}


@dataclass(frozen=True)
class ActiveFlow:
    """A patient's flow: its name, step, small data, start and fixed end."""

    flow: Flow
    step: str
    started_at: dt.datetime
    until: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)

    def ended(self, now: dt.datetime) -> bool:
        """True once the flow's time is up (it then only explains itself once)."""
        return now >= self.until

    def payload(self) -> Payload:
        """What is stored (JSON)."""
        return {"flow": self.flow.value, "step": self.step, "data": dict(self.data),
                "started_at": self.started_at.isoformat(), "until": self.until.isoformat()}

    @classmethod
    def load(cls, payload: Mapping[str, Any] | None) -> ActiveFlow | None:
        """From a stored payload; None when absent or malformed."""
        if not payload:
            return None
        try:
            flow = Flow(payload["flow"])
            started = dt.datetime.fromisoformat(payload["started_at"])
            until = dt.datetime.fromisoformat(payload["until"])
            step = str(payload["step"])
        except (KeyError, TypeError, ValueError):
            return None
        data = payload.get("data")
        return cls(flow, step, started, until, dict(data) if isinstance(data, dict) else {})

    def get_int(self, key: str) -> int | None:
        """An integer from the data (None when missing or not an int)."""
        value = self.data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_cancel(text: str) -> bool:
    """True for "cancel", "Stop!", "never mind", "/cancel" and the like."""
    cleaned = " ".join(_PUNCT.sub(" ", text.lower()).split())
    return cleaned in _CANCEL_WORDS


def is_bare_answer(text: str) -> bool:
    """True for a bare "yes", "ok", "nope", "that's right": an answer meant for buttons."""
    said = answer_words(text)
    return said in BARE_YES or said in BARE_NO


class FlowStore:
    """Begin, read, move on and end the patient's one flow (``chat_state`` kind "flow")."""

    def __init__(self, states: ChatStates, clock: Clock) -> None:
        self.states = states
        self.clock = clock

    async def current(self, user_id: int,
                      states: Mapping[str, Payload] | None = None) -> ActiveFlow | None:
        """The patient's flow, ended or not (`states`: kind -> payload when already read)."""
        if states is not None:
            return ActiveFlow.load(states.get(StateKind.FLOW.value))
        return ActiveFlow.load(await self.states.get(user_id, StateKind.FLOW, now=self.clock()))

    async def begin(self, user_id: int, flow: Flow, step: str,
                    states: dict[str, Payload] | None = None, **data: Any) -> ActiveFlow:
        """Start `flow` at `step` (replacing any other flow); its end time is fixed now."""
        now = self.clock()
        active = ActiveFlow(flow, step, now, now + LIFETIME[flow], dict(data))
        await self._store(user_id, active, states)
        return active

    async def advance(self, user_id: int, active: ActiveFlow, step: str | None = None,
                      states: dict[str, Payload] | None = None, **data: Any) -> ActiveFlow:
        """Move to another step and/or add data; the end time stays as it was."""
        moved = replace(active, step=step or active.step, data={**active.data, **data})
        await self._store(user_id, moved, states)
        return moved

    async def end(self, user_id: int, states: dict[str, Payload] | None = None) -> None:
        """The flow is over (finished, cancelled, replaced or explained after its time)."""
        await self.states.clear(user_id, StateKind.FLOW)
        if states is not None:
            states.pop(StateKind.FLOW.value, None)

    async def _store(self, user_id: int, active: ActiveFlow,
                     states: dict[str, Payload] | None) -> None:
        now = self.clock()
        ttl = max(active.until - now, dt.timedelta(0)) + ENDED_GRACE
        await self.states.put(user_id, StateKind.FLOW, active.payload(), ttl, now=now)
        if states is not None:  # later steps of the same update see the change
            states[StateKind.FLOW.value] = active.payload()


def flow_buttons(label: Callable[[str], str], active: ActiveFlow | Flow,
                 extra: FlowButtons = ()) -> FlowButtons:
    """The flow's own buttons (`extra`), then Done (for /report) and Cancel."""
    flow = active.flow if isinstance(active, ActiveFlow) else active
    last: list[FlowButton] = []
    if flow is Flow.REPORT and isinstance(active, ActiveFlow) and active.step == "more":
        last.append((label("flow_done"), DONE_DATA))
    last.append((label("flow_cancel"), CANCEL_DATA))
    return (*extra, tuple(last))


__all__ = ["CANCEL_DATA", "DONE_DATA", "ENDED_GRACE", "LIFETIME", "ActiveFlow", "Flow",
           "FlowStore", "flow_buttons", "is_cancel"]
