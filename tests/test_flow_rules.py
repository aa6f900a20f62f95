"""The rules every flow follows, checked on the `Conversation` (the e2e tests through the fake
Bot API are in test_flows_e2e.py): commands run at any point and the open flow is shown again;
starting another flow says the first one stopped; an ended flow says so once; a Cancel or
Done button of a flow that is over changes nothing; the check-in plan rejects a bad urgency.
The services are built in memory (`bot.compose.build_memory_services`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.core.conversation import Conversation
from knowledge.advisor import Advisor, Clinic
from scheduler.careplan import careplan_problems, load_careplan
from storage.clock import ManualClock
from tests.advisors import shipped
from tests.conversations import consented

# The tests that look up typed places share one pytest-xdist worker (tests/conftest.py makes
# the mark work): the city index (scheduler/zones.py, about 1.3 s of CPU) is built once in
# the run instead of once in each worker these modules' tests are spread over.
pytestmark = pytest.mark.xdist_group("zones")

NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic"))


@pytest.fixture
async def conv(compose: Any, advisor: Advisor) -> tuple[Conversation, ManualClock]:
    conversation, _, clock = await consented(compose, advisor, NOW)
    return conversation, clock


async def test_a_command_runs_and_the_open_flow_is_shown_again(
        conv: tuple[Conversation, ManualClock]) -> None:
    c, _ = conv
    await c.callback(1, 1, "Ana", "tz:other")
    replies = await c.command(1, 1, "Ana", "mydata")
    assert "What I store about you" in replies[0].text
    assert "Waiting for your city" in replies[-1].text
    assert ("Cancel", "flow:cancel") in [b for row in replies[-1].buttons for b in row]


async def test_starting_another_flow_says_the_first_one_stopped(
        conv: tuple[Conversation, ManualClock]) -> None:
    c, _ = conv
    await c.callback(1, 1, "Ana", "tz:other")
    replies = await c.callback(1, 1, "Ana", "session:other")
    assert "stopped the time zone question" in replies[0].text
    assert "Waiting for your treatment date" in replies[-1].text


async def test_an_ended_flow_says_so_once_and_its_buttons_stop(
        conv: tuple[Conversation, ManualClock]) -> None:
    c, clock = conv
    await c.callback(1, 1, "Ana", "tz:other")
    clock.advance(minutes=16)
    first = await c.message(1, 1, "Ana", "Madrid")
    assert "ended at" in first[0].text and "Europe/Madrid" not in "".join(r.text for r in first)
    again = await c.message(1, 1, "Ana", "Madrid")
    assert "ended at" not in again[0].text
    (notice,) = await c.callback(1, 1, "Ana", "flow:cancel")
    assert notice.notice and "no longer active" in notice.text
    (nothing,) = await c.command(1, 1, "Ana", "cancel")
    assert "nothing to cancel" in nothing.text


async def test_a_forged_date_option_is_refused(
        conv: tuple[Conversation, ManualClock]) -> None:
    c, _ = conv
    (notice,) = await c.callback(1, 1, "Ana", "sd:0")
    assert notice.notice
    await c.callback(1, 1, "Ana", "session:other")
    replies = await c.message(1, 1, "Ana", "20/12")  # on 15 June: last December, confirmed
    assert "Sat 20 Dec 2025" in replies[-1].text
    assert [d for row in replies[-1].buttons for _, d in row] == ["sd:0", "flow:cancel"]
    (notice,) = await c.callback(1, 1, "Ana", "sd:7")
    assert notice.notice


def test_care_plan_urgency_only_on_problem_buttons(tmp_path: Path) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text(
        "steps:\n"
        "  - id: d1\n    day: 1\n    time: \"10:00\"\n    kind: routine\n"
        "    message: How are you?\n"
        "    buttons:\n"
        "      - label: Fine\n        action: ok\n        reply: Good\n"
        "        urgency: urgent\n")
    problems = careplan_problems(bad)
    assert any("urgency" in p.reason and p.line == 11 for p in problems)
    day3 = load_careplan().step("day3")
    assert day3 is not None and day3.choices[1].urgency == "urgent"
