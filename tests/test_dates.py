"""Typed treatment dates: exact readings are logged at once; a date that could be last year or
this year, a future date, or an old date typed without a year is confirmed with buttons."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.dates import DateProblem, check_session_date, read_date

DEC_1 = date(2026, 12, 1)


def test_20_12_on_1_december_is_not_silently_last_year() -> None:
    reading = read_date("20/12", DEC_1)
    assert reading is not None and reading.confirm
    assert reading.options == (date(2025, 12, 20), date(2026, 12, 20))


@pytest.mark.parametrize(("typed", "expected"), [
    ("today", date(2026, 12, 1)), ("yesterday", date(2026, 11, 30)),
    ("3 days ago", date(2026, 11, 28)), ("two weeks ago", date(2026, 11, 17)),
    ("20/11", date(2026, 11, 20)), ("2026-11-20", date(2026, 11, 20)),
    ("20.11.2026", date(2026, 11, 20)),
])
def test_clear_recent_dates_need_no_question(typed: str, expected: date) -> None:
    assert read_date(typed, DEC_1) == read_date(typed, DEC_1)
    reading = read_date(typed, DEC_1)
    assert reading is not None and reading.chosen == expected and not reading.confirm


@pytest.mark.parametrize("typed", ["2026-12-20", "25/12/2026", "13/06", "12/13"])
def test_future_or_long_ago_dates_are_confirmed(typed: str) -> None:
    reading = read_date(typed, DEC_1)
    assert reading is not None and reading.confirm


def test_month_first_only_reading_prefers_the_past() -> None:
    reading = read_date("12/13", DEC_1)
    assert reading is not None and reading.chosen == date(2025, 12, 13)


@pytest.mark.parametrize("typed", ["31/02", "hello", "can I wear makeup?", "42"])
def test_not_dates(typed: str) -> None:
    assert read_date(typed, DEC_1) is None


def test_future_dates_only_once_confirmed_and_not_far_ahead() -> None:
    assert check_session_date(date(2026, 12, 20), DEC_1) is DateProblem.FUTURE
    assert check_session_date(date(2026, 12, 20), DEC_1, allow_future=True) is None
    assert check_session_date(date(2027, 6, 1), DEC_1, allow_future=True) is DateProblem.FUTURE
    assert check_session_date(date(2025, 11, 1), DEC_1) is DateProblem.TOO_OLD


# --- dates in words (dateparser), as a patient types them at /session ------------------------
THU_3_DEC = date(2026, 12, 3)  # a Thursday: Tuesday was the 1st, Monday the 30th
TUE_1 = date(2026, 12, 1)


@pytest.mark.parametrize(("typed", "expected"), [
    ("last tuesday", TUE_1), ("Tuesday", TUE_1), ("on monday", date(2026, 11, 30)),
    ("tues", TUE_1), ("it was on tuesday", TUE_1), ("I had it done last monday",
                                                   date(2026, 11, 30)),
    ("1st December", TUE_1), ("1 December", TUE_1), ("1st of Dec", TUE_1), ("Dec 1st", TUE_1),
    ("december 1", TUE_1), ("on 1 December 2026", TUE_1), ("the 1st", TUE_1),
    ("on the 25th", date(2026, 11, 25)),  # this month's is still to come: last month's
    ("a week ago", date(2026, 11, 26)), ("2 weeks ago", date(2026, 11, 19)),
    ("the day before yesterday", TUE_1),
    # the other languages the bot speaks
    ("el martes pasado", TUE_1), ("el martes", TUE_1), ("el 1 de diciembre", TUE_1),
    ("hace 2 semanas", date(2026, 11, 19)), ("terça passada", TUE_1),
    ("na terça-feira", TUE_1), ("1 de dezembro", TUE_1), ("mardi dernier", TUE_1),
    ("le 1er décembre", TUE_1), ("letzten Dienstag", TUE_1), ("am 1. Dezember", TUE_1),
    ("vor 2 Wochen", date(2026, 11, 19)), ("martedì scorso", TUE_1), ("il 1 dicembre", TUE_1),
    ("в прошлый вторник", TUE_1), ("1 декабря", TUE_1), ("у вівторок", TUE_1),
    ("w zeszły wtorek", TUE_1), ("1 grudnia", TUE_1), ("geçen salı", TUE_1),
    ("الثلاثاء الماضي", TUE_1),
])
def test_dates_in_words_are_read_as_the_latest_past_such_day(typed: str, expected: date) -> None:
    reading = read_date(typed, THU_3_DEC)
    assert reading is not None and reading.chosen == expected and not reading.confirm, reading


@pytest.mark.parametrize("typed", ["last week", "la semana pasada", "la semaine dernière",
                                   "letzte Woche", "на прошлой неделе"])
def test_last_week_is_any_day_of_it_so_it_is_confirmed(typed: str) -> None:
    reading = read_date(typed, THU_3_DEC)
    assert reading is not None and reading.confirm and reading.chosen == date(2026, 11, 26)


def test_todays_weekday_is_a_week_ago_with_today_offered() -> None:
    reading = read_date("thursday", THU_3_DEC)
    assert reading is not None and reading.confirm
    assert reading.options == (date(2026, 11, 26), THU_3_DEC)


def test_a_day_and_month_long_ago_without_a_year_is_confirmed_with_this_years_offered() -> None:
    reading = read_date("20 December", THU_3_DEC)
    assert reading is not None and reading.confirm
    assert reading.options == (date(2025, 12, 20), date(2026, 12, 20))


@pytest.mark.parametrize(("typed", "expected"), [
    ("tomorrow", date(2026, 12, 4)), ("next friday", date(2026, 12, 4)),
    ("1 March 2027", date(2027, 3, 1)),
])
def test_future_dates_in_words_are_confirmed_never_logged_at_once(typed: str,
                                                                 expected: date) -> None:
    reading = read_date(typed, THU_3_DEC)
    assert reading is not None and reading.confirm and reading.chosen == expected


@pytest.mark.parametrize("typed", [
    "I had a bad day", "how long does redness last", "is that normal?", "it itches",
    "my lips are swelling", "my face is red since monday", "can I wear makeup on tuesday?",
    "tuve un mal día", "day 3", "may", "march", "ok", "so", "do", "no", "yes", "thanks",
    "sunday morning", "3pm", "week", "the 32nd",
    "I had my treatment last tuesday and now my skin is peeling a lot",  # a message: too long
])
def test_words_that_are_not_a_date(typed: str) -> None:
    assert read_date(typed, THU_3_DEC) is None
