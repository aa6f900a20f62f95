"""A consented patient's conversation on the in-memory store, built by the composition root:
the start shared by the flow, reminder and open-alert tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.config import load_settings
from bot.core.conversation import Conversation
from knowledge.advisor import Advisor
from scheduler.careplan import load_careplan
from storage.clock import ManualClock


async def consented(compose: Any, advisor: Advisor, now: dt.datetime,
                    **env: str) -> tuple[Conversation, Any, ManualClock]:
    """Patient 1 ("Ana") started and agreed; check-ins not spread. Returns the conversation, the
    services and the clock."""
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London", **env)
    clock = ManualClock(now)
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    services = await compose(settings, clock, url="memory", advisor=advisor, careplan=plan)
    conversation: Conversation = services.patient.conversation
    await conversation.start(1, 1, "Ana")
    await conversation.callback(1, 1, "Ana", "consent:yes")
    return conversation, services, clock
