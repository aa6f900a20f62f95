"""The time zone question through the real Application and the fake Bot API server: asked
with the consent thanks, answered by button or by typing a city, changed with /timezone, and
the patient's planned check-ins follow."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from scheduler.service import CheckinService
from tests.bot_harness import BotHarness, button_data, button_labels

# The tests that look up typed places share one pytest-xdist worker (tests/conftest.py makes
# the mark work): the city index (scheduler/zones.py, about 1.3 s of CPU) is built once in
# the run instead of once in each worker these modules' tests are spread over.
pytestmark = pytest.mark.xdist_group("zones")


async def test_zone_is_asked_after_consent_and_check_ins_follow_it(
        bot: BotHarness) -> None:
    (welcome,) = await bot.say(41, "/start")
    (thanks,) = await bot.press(41, welcome, "consent:yes")
    assert "Which time zone are you in?" in thanks["text"]
    assert button_labels(thanks)[0] == "Keep Europe/London"
    assert {"tz:keep", "tz:other", "tz:set:America/New_York"} <= set(button_data(thanks))

    (prompt,) = await bot.press(41, thanks, "tz:other")
    assert "type the city" in prompt["text"]
    (error,) = await bot.say(41, "Gotham")
    assert "couldn't find a time zone" in error["text"]
    (done,) = await bot.say(41, "lisbon")
    assert "follow Europe/Lisbon time" in done["text"]

    (picker,) = await bot.say(41, "/session")
    await bot.press(41, picker, "session:today")
    (zones,) = await bot.say(41, "/timezone")
    assert button_labels(zones)[0] == "Keep Europe/Lisbon"
    (moved,) = await bot.press(41, zones, "tz:set:Asia/Dubai")
    assert "follow Asia/Dubai time" in moved["text"]

    patient = await bot.repo.patients.get(41)
    assert patient is not None and patient.timezone == "Asia/Dubai"
    service = bot.conversation.checkins
    assert isinstance(service, CheckinService)
    rows = await service.manager.list(patient_id=patient.id)
    day1 = next(r for r in rows if r.step == "day1")
    assert day1.tz == "Asia/Dubai"
    assert day1.due_at.astimezone(ZoneInfo("Asia/Dubai")).hour == 19
    assert bot.fake.violations == []
