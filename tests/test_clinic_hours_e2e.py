"""Clinic hours end to end (the real Application, the fake Bot API, an injected clock): what
patients are told about when a person will read their message.

Urgent advice during opening hours names the usual reply time; outside them it names the next
opening ("closed until Monday 30 November at 09:00") and what to do if it can't wait. The same
for "ask the clinic" and /report. Emergency advice is the same at every hour. /help shows
the hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.advisor import Advisor
from tests.bot_harness import BotHarness, button_data, running_bot
from tests.fake_telegram import FakeTelegram

LONDON = ZoneInfo("Europe/London")
URGENT = "there is yellow pus coming out of a spot"
EMERGENCY = "my lips and tongue are swelling and I can't breathe"
HOURS = {"AFTERCARE_OPENING_HOURS": "mon-fri 09:00-17:30; sat 10:00-14:00",
         "AFTERCARE_CLOSED_DATES": "2026-12-25,2026-12-26",
         "AFTERCARE_OUT_OF_HOURS_CONTACT": "NHS 111",
         "AFTERCARE_URGENT_REPLY_TARGET_MINUTES": "60"}


def london(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(dt.UTC)


# (when, what the urgent reply must say), in time order (the clock only moves forward)
SCENARIOS = [
    # Saturday after closing, the night before the clocks go forward: Monday 09:00 BST
    (london(2026, 3, 28, 15, 0), "The clinic is closed until Monday 30 March at 09:00 "
                                 "(Europe/London time)"),
    # Sunday 02:00
    (london(2026, 11, 29, 2, 0), "The clinic is closed until Monday 30 November at 09:00 "
                                 "(Europe/London time)"),
    # a weekday at 10:00
    (london(2026, 11, 30, 10, 0), "they are working now and usually reply here within about "
                                  "1 hour"),
    # the same day at 19:30, after closing
    (london(2026, 11, 30, 19, 30), "The clinic is closed until Tuesday 1 December at 09:00 "
                                   "(Europe/London time)"),
    # Christmas Day (a Friday) and Boxing Day (Saturday) are closed dates
    (london(2026, 12, 25, 11, 0), "The clinic is closed until Monday 28 December at 09:00 "
                                  "(Europe/London time)"),
]


@pytest.fixture
async def clinic(fake_telegram: FakeTelegram, tmp_path: Path,
                 advisor: Advisor) -> AsyncIterator[BotHarness]:
    async for harness in running_bot(fake_telegram, tmp_path, advisor,
                                     start=SCENARIOS[0][0] - dt.timedelta(hours=1), **HOURS):
        yield harness


async def test_urgent_replies_name_the_next_opening_and_emergency_advice_never_changes(
        clinic: BotHarness) -> None:
    emergency_texts = set()
    for number, (when, expected) in enumerate(SCENARIOS):
        clinic.clock.now = when
        patient = 500 + number
        (urgent,) = await clinic.say(patient, URGENT)
        assert "This needs to be looked at today" in urgent["text"]
        assert expected in urgent["text"], (when, urgent["text"])
        assert "will reply here" not in urgent["text"].replace("usually reply here", "")
        if "closed" in expected:
            assert "the team will see it then" in urgent["text"]
            assert "If it can't wait until then, call NHS 111" in urgent["text"]
        (emergency,) = await clinic.say(patient + 100, EMERGENCY)
        assert "Call the emergency number now" in emergency["text"]
        emergency_texts.add(emergency["text"])
    assert len(emergency_texts) == 1  # word for word the same at every hour
    assert "closed" not in emergency_texts.pop()
    assert clinic.fake.violations == []


async def test_a_patient_in_another_zone_hears_their_own_time_across_a_clock_change(
        clinic: BotHarness) -> None:
    await clinic.onboard(610)
    await clinic.repo.patients.set_timezone(610, "America/New_York")
    clinic.clock.now = SCENARIOS[0][0]  # Saturday 28 March 15:00 London
    (urgent,) = await clinic.say(610, URGENT)
    # Monday 09:00 BST is 08:00 UTC is 04:00 in New York (already on summer time)
    assert "closed until Monday 30 March at 04:00 (your time)" in urgent["text"]


async def test_urgent_report_just_before_closing_does_not_promise_a_reply_today(
        clinic: BotHarness) -> None:
    clinic.clock.now = london(2026, 3, 30, 17, 0)  # Monday, closes 17:30; target 60 minutes
    (urgent,) = await clinic.say(620, URGENT)
    assert ("the clinic closes at 17:30, so they may not reply before it opens again on "
            "Tuesday 31 March at 09:00 (Europe/London time)") in urgent["text"]
    assert "within about" not in urgent["text"]


async def test_ask_the_clinic_outside_hours_says_when_they_will_get_back(
        clinic: BotHarness) -> None:
    clinic.clock.now = london(2026, 3, 28, 20, 0)  # Saturday evening
    (answer,) = await clinic.say(630, "how much does a session cost")
    (sent,) = await clinic.press(630, answer, "handoff")
    assert "I've passed your question to Glow Clinic" in sent["text"]
    assert ("they'll get back to you when it opens on Monday 30 March at 09:00 "
            "(Europe/London time)") in sent["text"]
    assert "call NHS 111" in sent["text"]
    clinic.clock.now = london(2026, 3, 30, 11, 0)  # Monday morning: open
    (answer,) = await clinic.say(631, "how much does a session cost")
    (sent,) = await clinic.press(631, answer, "handoff")
    assert "The team is working now and will reply here" in sent["text"]


async def test_report_outside_hours_says_when_the_clinic_opens(clinic: BotHarness) -> None:
    clinic.clock.now = london(2026, 3, 29, 2, 0)  # Sunday 02:00, the night the clocks change
    await clinic.onboard(640)
    (ask,) = await clinic.say(640, "/report")
    assert "What's wrong" in ask["text"]
    (told,) = await clinic.say(640, "small itchy bumps on my chin since yesterday")
    assert "The clinic has been told (report #" in told["text"]
    assert ("they'll get back to you when it opens on Monday 30 March at 09:00 "
            "(Europe/London time)") in told["text"]
    assert "photo" in told["text"]


async def test_help_shows_the_opening_hours(clinic: BotHarness) -> None:
    clinic.clock.now = london(2026, 11, 30, 10, 0)
    (help_text,) = await clinic.say(650, "/help")
    assert "When the clinic team reads messages" in help_text["text"]
    assert "Mon–Fri 09:00–17:30" in help_text["text"]
    assert "Sat 10:00–14:00" in help_text["text"]
    assert "Closed on: 2026-12-25, 2026-12-26" in help_text["text"]
    assert "NHS 111" in help_text["text"]


async def test_without_configured_hours_nothing_names_a_time(bot: BotHarness) -> None:
    (urgent,) = await bot.say(660, URGENT)
    assert "not monitored around the clock" in urgent["text"]
    assert "closed until" not in urgent["text"]
    (help_text,) = await bot.say(660, "/help")
    assert "When the clinic team reads messages" not in help_text["text"]
    assert button_data(urgent) == []
