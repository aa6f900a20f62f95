"""The patient's time zone: asked right after consent (clinic zone as default), changeable
with /timezone, typed cities resolved through the zone database, and pending check-ins moved
to the new local hours. The services are built in memory (`bot.compose.build_memory_services`);
moving check-ins, which reads the zone the patients' store wrote, runs on SQLite too."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.core.conversation import Conversation, Reply
from knowledge.advisor import Advisor, Clinic
from scheduler.careplan import load_careplan
from scheduler.service import CheckinService
from scheduler.zones import resolve_zone
from tests.advisors import shipped

# The tests that look up typed places share one pytest-xdist worker (tests/conftest.py makes
# the mark work): the city index (scheduler/zones.py, about 1.3 s of CPU) is built once in
# the run instead of once in each worker these modules' tests are spread over.
pytestmark = pytest.mark.xdist_group("zones")

NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)
BOTH = pytest.mark.parametrize("conv", ["memory", "sqlite"], indirect=True)


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic"))


@pytest.fixture(params=["memory"])
async def conv(request: pytest.FixtureRequest, compose: Any, advisor: Advisor) -> Conversation:
    """The conversation of services in memory, or (``BOTH``) over a migrated SQLite file too."""
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London")
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    url = "memory" if request.param == "memory" else None
    services = await compose(settings, lambda: NOW, url=url, advisor=advisor, careplan=plan)
    conversation: Conversation = services.patient.conversation
    return conversation


def buttons(reply: Reply) -> dict[str, str]:
    """{callback data: label} of a reply's keyboard."""
    return {data: label for row in reply.buttons for label, data in row}


async def consent(conv: Conversation, user: int) -> Reply:
    await conv.start(user, user, "Ana")
    (reply,) = await conv.callback(user, user, "Ana", "consent:yes")
    return reply


async def zone_of(conv: Conversation, user: int) -> str | None:
    patient = await conv.kit.patients.get(user)
    assert patient is not None
    return patient.timezone


async def day1_due(conv: Conversation, user: int) -> dt.datetime:
    patient = await conv.kit.patients.get(user)
    assert patient is not None
    assert isinstance(conv.checkins, CheckinService)
    rows = await conv.checkins.manager.list(patient_id=patient.id)
    return next(r.due_at for r in rows if r.step == "day1")


async def test_consent_asks_for_the_zone_with_the_clinic_zone_as_default(
        conv: Conversation) -> None:
    reply = await consent(conv, 1)
    assert "Thank you, Ana" in reply.text and "Which time zone are you in?" in reply.text
    options = buttons(reply)
    assert options["tz:keep"] == "Keep Europe/London"
    assert options["tz:other"] == "Other"
    assert options["tz:set:America/New_York"] == "New York"
    assert list(options)[1] == "tz:set:Europe/London"  # same buttons whatever the zone
    (kept,) = await conv.callback(1, 1, "Ana", "tz:keep")
    assert "follow Europe/London time" in kept.text and "10:00" in kept.text  # BST
    assert await zone_of(conv, 1) is None  # still following the clinic's zone


@BOTH
async def test_a_common_choice_moves_pending_checkins_to_local_hours(
        conv: Conversation) -> None:
    await consent(conv, 2)
    await conv.command(2, 2, "Ana", "session")
    await conv.callback(2, 2, "Ana", "session:today")
    assert await day1_due(conv, 2) == dt.datetime(2026, 6, 16, 18, 0, tzinfo=dt.UTC)  # 19 BST
    (done,) = await conv.callback(2, 2, "Ana", "tz:set:America/New_York")
    assert "follow America/New_York time" in done.text and "05:00" in done.text
    assert await zone_of(conv, 2) == "America/New_York"
    due = await day1_due(conv, 2)
    assert due.astimezone(ZoneInfo("America/New_York")).hour == 19  # 19:00 in New York
    assert due == dt.datetime(2026, 6, 16, 23, 0, tzinfo=dt.UTC)


async def test_other_accepts_a_typed_city_in_any_letter_case(conv: Conversation) -> None:
    await consent(conv, 3)
    (prompt,) = await conv.callback(3, 3, "Ana", "tz:other")
    assert "type the city" in prompt.text
    (done,) = await conv.message(3, 3, "Ana", "los angeles")
    assert "follow America/Los_Angeles time" in done.text and "02:00" in done.text
    assert await zone_of(conv, 3) == "America/Los_Angeles"


async def test_an_unknown_place_gets_a_clear_error_and_a_second_chance(
        conv: Conversation) -> None:
    await consent(conv, 4)
    await conv.callback(4, 4, "Ana", "tz:other")
    (error,) = await conv.message(4, 4, "Ana", "Narnia")
    assert "couldn't find a time zone for \"Narnia\"" in error.text
    assert "Europe/Madrid" in error.text
    assert await zone_of(conv, 4) is None
    (done,) = await conv.message(4, 4, "Ana", "asia/kolkata")
    assert "follow Asia/Kolkata time" in done.text
    assert await zone_of(conv, 4) == "Asia/Kolkata"


async def test_a_question_instead_of_a_place_is_answered_as_usual(conv: Conversation) -> None:
    await consent(conv, 5)
    await conv.callback(5, 5, "Ana", "tz:other")
    replies = await conv.message(5, 5, "Ana", "can I wear makeup?")
    assert "time zone" not in replies[0].text and "make" in replies[0].text.lower()
    assert await zone_of(conv, 5) is None


async def test_timezone_command_shows_the_current_zone_and_needs_consent(
        conv: Conversation) -> None:
    await conv.start(6, 6, "Ana")
    (refused,) = await conv.command(6, 6, "Ana", "timezone")
    assert "agreement" in refused.text and not refused.buttons
    await conv.callback(6, 6, "Ana", "consent:yes")
    await conv.callback(6, 6, "Ana", "tz:set:Australia/Sydney")
    (picker,) = await conv.command(6, 6, "Ana", "timezone")
    assert buttons(picker)["tz:keep"] == "Keep Australia/Sydney"
    assert "tz:set:Europe/London" in buttons(picker)  # the clinic zone is offered again
    assert ("timezone", "set your time zone for check-ins") in conv.command_descriptions()


async def test_a_forged_zone_button_changes_nothing(conv: Conversation) -> None:
    await consent(conv, 7)
    (notice,) = await conv.callback(7, 7, "Ana", "tz:set:Mars/Olympus_Mons")
    assert notice.notice
    assert await zone_of(conv, 7) is None


def test_resolve_zone_accepts_iana_names_and_cities_only() -> None:
    assert resolve_zone("Europe/Madrid") == "Europe/Madrid"
    assert resolve_zone("  new york ") == "America/New_York"
    assert resolve_zone("Buenos Aires") == "America/Argentina/Buenos_Aires"  # canonical name
    assert resolve_zone("utc") == "UTC"
    assert resolve_zone("Manchester") == "Europe/London"  # gazetteer: most populous match
    assert resolve_zone("Europe/Lodnon") is None
    assert resolve_zone("") is None
