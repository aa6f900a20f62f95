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
