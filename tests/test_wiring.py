"""What bot/compose.py wires: the observed advisor and sender, the live advisor that follows the
clinic's knowledge-base additions, and the bot's @username from a `BotIdentity`. Only the graph
matters here: the services are built in memory (`bot.compose.build_memory_services`, through
the same `build_services`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.config import load_settings
from bot.core.clinic_kb import with_kb
from knowledge.advisor import Advisor
from scheduler.dispatcher import ObservedSender, OutgoingCheckin, RetryAfter, TransientError
from storage.clock import ManualClock

NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)
STAFF_USER = 77


class Recorder:
    """An `Observer` (bot/compose.py) that keeps what it hears."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.sends: list[tuple[str, float | None]] = []

    def advice_given(self, kind: str) -> None:
        self.kinds.append(kind)

    def send_result(self, result: str, seconds: float | None = None) -> None:
        self.sends.append((result, seconds))


def settings(**values: Any) -> Any:
    return load_settings(None, AFTERCARE_STAFF_IDS=str(STAFF_USER), **values)


async def test_answers_are_observed_also_after_the_clinic_kb_is_swapped_in(
        compose: Any, advisor: Advisor) -> None:
    observer = Recorder()
    services = await compose(settings(), ManualClock(NOW), url="memory", observer=observer)
    await services.patient.conversation.message(1, 1, "Ana", "can I wear makeup?")
    assert observer.kinds == ["answered"]
    rebuilt = with_kb(advisor, advisor.kb)
    services.patient.live_advisor.replace(rebuilt)
    assert services.patient.live_advisor.current is rebuilt
    await services.patient.conversation.message(1, 1, "Ana", "can I wear makeup?")
    assert observer.kinds == ["answered", "answered"]


async def test_without_an_observer_the_core_answers_through_the_live_advisor(
        compose: Any) -> None:
    services = await compose(settings(), ManualClock(NOW), url="memory")
    assert services.patient.conversation.advisor is services.patient.live_advisor
    assert services.patient.knowledge.live is services.patient.live_advisor


class Scripted:
    """A `Sender` answering from a script (a message id or an error to raise)."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)

    async def send(self, message: OutgoingCheckin) -> int:
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def test_the_observed_sender_reports_each_result_and_passes_errors_on() -> None:
    observer, ticks = Recorder(), iter([10.0, 10.25, 20.0, 30.0])
    sender = ObservedSender(Scripted(42, RetryAfter(3), TransientError("down")), observer,
                            monotonic=lambda: next(ticks))
    message = OutgoingCheckin(1, 5, "How is your skin?", ())
    assert await sender.send(message) == 42
    for expected in (RetryAfter, TransientError):
        try:
            await sender.send(message)
        except expected:
            pass
        else:
            raise AssertionError(f"{expected.__name__} was swallowed")
    assert observer.sends == [("sent", 0.25), ("rate_limited", None), ("TransientError", None)]


async def test_invite_links_use_the_identity_given_to_the_composition_root(
        compose: Any) -> None:
    class Identity:
        username: str | None = None

    identity = Identity()
    services = await compose(settings(), ManualClock(NOW), url="memory", identity=identity)
    conversation = services.patient.conversation
    assert conversation.bot_username is None  # getMe not answered yet: no link
    identity.username = "glow_bot"  # what a Telegram identity reads once getMe answered
    assert conversation.bot_username == "glow_bot"
    replies = await conversation.command(STAFF_USER, STAFF_USER, "Sam", "invite", ["Ana"])
    assert "https://t.me/glow_bot?start=" in replies[0].text
