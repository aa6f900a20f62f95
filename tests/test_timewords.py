"""Time words: a question about tomorrow, the weekend or next week is answered for that day."""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor
from knowledge.timewords import days_ahead
from tests.bot_harness import START, BotHarness

WEDNESDAY = 2


@pytest.mark.parametrize(("text", "weekday", "days", "phrase"), [
    ("gym tomorrow?", None, 1, "tomorrow"),
    ("can i swim tmrw", None, 1, "tomorrow"),
    ("sauna the day after tomorrow ok?", None, 2, "day after tomorrow"),
    ("can i wear makeup in 3 days", None, 3, "in 3 days"),
    ("is it ok to run in a couple of days", None, 2, "in a couple of days"),
    ("can i use retinol next week", None, 7, "next week"),
    ("can i swim at the weekend", WEDNESDAY, 3, "the weekend"),
    ("hot tub on friday ok?", WEDNESDAY, 2, "Friday"),
    ("facial next wednesday?", WEDNESDAY, 7, "Wednesday"),
])
def test_days_ahead_reads_the_time_words(text: str, weekday: int | None, days: int,
                                         phrase: str) -> None:
    ahead = days_ahead(text, weekday)
    assert ahead is not None and ahead.days == days and ahead.phrase == phrase


@pytest.mark.parametrize(("text", "weekday"), [
    ("can i go to the gym", None), ("can i wear makeup tonight", None),
    ("can i swim at the weekend", None),  # no weekday known: not guessed
    ("drinks on saturday?", 5),  # it is Saturday: that is today
])
def test_no_time_word_or_today_means_today(text: str, weekday: int | None) -> None:
    assert days_ahead(text, weekday) is None


def test_tomorrow_on_day_1_answers_for_day_2_and_says_so(advisor: Advisor) -> None:
    today = advisor.ask("can i go to the gym", 1)
    tomorrow = advisor.ask("gym tomorrow?", 1)
    assert today.topic == tomorrow.topic == "exercise"
    assert "tomorrow, which will be day 2" in tomorrow.answer
    assert tomorrow.answer != today.answer
    assert tomorrow.answer.endswith(advisor.ask("can i go to the gym", 2).answer.split(". ", 1)[1])


def test_a_day_free_answer_is_unchanged_by_time_words(advisor: Advisor) -> None:
    assert advisor.ask("can i smoke tomorrow", 1).answer == advisor.ask("can i smoke", 1).answer


async def test_the_bot_answers_for_the_weekend_in_the_patients_week(bot: BotHarness) -> None:
    await bot.onboard(31)
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=31)
    weekday = START.date().weekday()
    (reply,) = await bot.say(31, "can i go swimming at the weekend?")
    saturday = max(5 - weekday, 0)
    if saturday:
        assert f"which will be day {saturday} since your treatment" in reply["text"]
    (now,) = await bot.say(31, "can i go swimming?")
    assert "Today is your treatment day (day 0)" in now["text"]
    bot.clock.advance(days=1)
    (tomorrow,) = await bot.say(31, "swimming tomorrow?")
    assert "tomorrow, which will be day 2" in tomorrow["text"]
