"""Fair figures: time to first staff action by the wall clock and in opening time, in /queue
(end to end through the fake Bot API, injected clock), in /metrics and on the web desk's
figures page.

An urgent report raised on Saturday at 15:00 (the clinic closed at 14:00) and taken on Monday
at 09:05 waited 1 day 18 hours by the clock but only 5 minutes of opening time: both are
shown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.ops.http import Metrics
from bot.web.figures import lines, to_csv
from knowledge.advisor import Advisor
from scheduler.clinic_hours import OpeningHours
from storage.desk_views import WeekFigures
from tests.bot_harness import (
    STAFF_CHAT,
    STAFF_USER,
    BotHarness,
    button_data,
    eventually,
    running_bot,
)
from tests.fake_telegram import FakeTelegram

LONDON = ZoneInfo("Europe/London")
WEEK = "mon-fri 09:00-17:30; sat 10:00-14:00"
SATURDAY_3PM = dt.datetime(2026, 11, 28, 15, 0, tzinfo=LONDON).astimezone(dt.UTC)
MONDAY_0905 = dt.datetime(2026, 11, 30, 9, 5, tzinfo=LONDON).astimezone(dt.UTC)


@pytest.fixture
async def clinic(fake_telegram: FakeTelegram, tmp_path: Path,
                 advisor: Advisor) -> AsyncIterator[BotHarness]:
    async for harness in running_bot(fake_telegram, tmp_path, advisor, start=SATURDAY_3PM,
                                     AFTERCARE_OPENING_HOURS=WEEK):
        yield harness


async def taken_on_monday(bot: BotHarness) -> None:
    """An urgent report on Saturday after closing, taken on Monday at 09:05."""
    await bot.say(701, "there is yellow pus coming out of a spot")
    (card,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    store = bot.app.bot_data.desk.store

    async def linked() -> bool:
        return await store.card(STAFF_CHAT, card["message_id"]) is not None
    await eventually(linked)
    bot.clock.now = MONDAY_0905
    before = len(bot.fake.sent_messages(STAFF_CHAT))
    bot.fake.callback_query(STAFF_USER, button_data(card)[0], card["message_id"],
                            chat_id=STAFF_CHAT, first_name="Nurse")
    await bot.fake.wait_for_messages(STAFF_CHAT, before + 1)  # "taken by Nurse"


async def test_queue_shows_both_clocks(clinic: BotHarness) -> None:
    bot = clinic
    await taken_on_monday(bot)
    before = len(bot.fake.sent_messages(STAFF_CHAT))
    bot.fake.user_message(STAFF_USER, "/queue", first_name="Nurse", chat_id=STAFF_CHAT,
                          chat_type="supergroup")
    (queue,) = (await bot.fake.wait_for_messages(STAFF_CHAT, before + 1))[before:]
    assert ("First staff action, reports of the last 30 days (1): median 1 d 18 h by the "
            "clock (5 min of opening time)") in queue["text"]


async def test_metrics_show_both_clocks(clinic: BotHarness) -> None:
    bot = clinic
    await taken_on_monday(bot)
    metrics = Metrics(bot.app.bot_data.settings.hours())
    await metrics.refresh(bot.app.bot_data.ops.figures, bot.clock.now)
    text = metrics.render().decode()

    def value(clock: str, quantile: str) -> float:
        match = re.search(rf'aftercare_first_action_seconds\{{clock="{clock}",'
                          rf'quantile="{quantile}"\}} (\S+)', text)
        assert match, text
        return float(match.group(1))

    assert value("wall", "0.5") == (MONDAY_0905 - SATURDAY_3PM).total_seconds()
    assert value("open", "0.5") == 5 * 60
    assert "aftercare_first_action_reports 1.0" in text


def test_web_figures_show_opening_minutes() -> None:
    hours = OpeningHours.parse(WEEK, LONDON)
    week = WeekFigures(dt.datetime(2026, 11, 23, tzinfo=dt.UTC), 0, 0, 0, {"urgent": 1},
                       [(MONDAY_0905 - SATURDAY_3PM).total_seconds() / 60], 0, 0,
                       [(SATURDAY_3PM, MONDAY_0905)])
    (line,) = lines([week], hours)
    assert line.median == 2525.0 and line.open_median == 5.0 and line.open_p90 == 5.0
    assert to_csv([line]).splitlines()[1].endswith(",5.0,5.0")
    (plain,) = lines([week])  # no configured hours: no opening-time figure
    assert plain.open_median is None
