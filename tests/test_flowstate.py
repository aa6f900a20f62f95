"""The one flow-state mechanism: one flow per patient, a fixed end time that the patient's
messages do not renew, remembered after its end so the bot can say it ended, cancel words."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.flowstate import LIFETIME, ActiveFlow, Flow, FlowStore, is_cancel
from storage.chat_state import StateKind
from storage.chat_state_memory import MemoryChatStateStore
from storage.clock import ManualClock

START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def flows() -> tuple[FlowStore, ManualClock]:
    """Over the in-memory twin of the chat states (tests/test_chat_state_conformance.py
    proves it behaves as the table does)."""
    clock = ManualClock(START)
    return FlowStore(MemoryChatStateStore(clock=clock), clock), clock


async def test_one_flow_at_a_time_with_a_fixed_end(
        flows: tuple[FlowStore, ManualClock]) -> None:
    store, clock = flows
    first = await store.begin(7, Flow.TIMEZONE, "typing")
    second = await store.begin(7, Flow.REPORT, "describe")
    current = await store.current(7)
    assert current is not None and current.flow is Flow.REPORT and first.flow is Flow.TIMEZONE
    clock.advance(minutes=20)
    moved = await store.advance(7, second, "more", report_id=12)
    assert moved.until == second.until == START + LIFETIME[Flow.REPORT]  # never renewed
    clock.advance(minutes=11)
    ended = await store.current(7)
    assert ended is not None and ended.ended(clock()) and ended.get_int("report_id") == 12
    await store.end(7)
    assert await store.current(7) is None


async def test_states_read_with_the_message_are_updated_in_place(
        flows: tuple[FlowStore, ManualClock]) -> None:
    store, _ = flows
    states: dict[str, dict[str, object]] = {}
    await store.begin(8, Flow.DELETE, "confirm", states=states)
    assert StateKind.FLOW.value in states
    assert (await store.current(8, states)) == (await store.current(8))
    await store.end(8, states)
    assert StateKind.FLOW.value not in states


def test_malformed_payloads_are_ignored() -> None:
    assert ActiveFlow.load({"flow": "nope", "step": "x"}) is None
    assert ActiveFlow.load({}) is None


@pytest.mark.parametrize("text", ["cancel", "Cancel!", "/cancel", "never mind", " STOP "])
def test_cancel_words(text: str) -> None:
    assert is_cancel(text)


@pytest.mark.parametrize("text", ["can I cancel my booking?", "stop the redness?", "london"])
def test_other_words_are_not_cancel(text: str) -> None:
    assert not is_cancel(text)
