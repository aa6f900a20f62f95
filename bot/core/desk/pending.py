"""A staff member's pending Reply / Resolve: their next message answers, or resolves, a
report. Kept in the database (``chat_state``, kind "staff") for `PENDING_TTL`, so the message
may reach another replica, or this one after a restart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.desk.kit import DeskKit
from bot.core.ports import ChatStates
from storage.chat_state import StateKind

PENDING_TTL = dt.timedelta(minutes=15)


@dataclass
class Pending:
    """What a staff member's next message is for: "reply" or "resolve", of which report,
    and the patient they chose."""

    kind: str  # "reply" or "resolve"
    report_id: int
    patient_id: int | None = None  # the patient the staff member chose (None: older state)

    @classmethod
    def load(cls, payload: Mapping[str, Any] | None) -> Pending | None:
        """From a stored payload (None when absent or malformed)."""
        if not payload or payload.get("kind") not in ("reply", "resolve"):
            return None
        report_id, patient_id = payload.get("report_id"), payload.get("patient_id")
        if not isinstance(report_id, int):
            return None
        return cls(payload["kind"], report_id,
                   patient_id if isinstance(patient_id, int) else None)


class PendingActions:
    """Reads and writes the staff members' pending actions (every replica sees them)."""

    def __init__(self, kit: DeskKit, states: ChatStates) -> None:
        self.kit = kit
        self.states = states

    async def of(self, user_id: int) -> Pending | None:
        """What the staff member's next message is for (None: nothing, or it expired)."""
        return Pending.load(await self.states.get(user_id, StateKind.STAFF, now=self.kit.now()))

    async def set(self, user_id: int, kind: str, report_id: int, patient_id: int) -> None:
        """Their next message is a `kind` for this report of this patient."""
        await self.states.put(user_id, StateKind.STAFF,
                              {"kind": kind, "report_id": report_id, "patient_id": patient_id},
                              PENDING_TTL, now=self.kit.now())

    async def drop(self, user_id: int) -> None:
        """Nothing pending for them any more."""
        await self.states.clear(user_id, StateKind.STAFF)

    async def drop_all_of(self, report_id: int) -> None:
        """Nobody's next message answers or resolves this report any more."""
        pending = await self.states.all_of_kind(StateKind.STAFF, now=self.kit.now())
        for user_id, payload in pending.items():
            if payload.get("report_id") == report_id:
                await self.drop(user_id)
