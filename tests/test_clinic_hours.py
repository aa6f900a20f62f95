"""Opening hours (scheduler/clinic_hours.py): parsing with one line per mistake, open/closed,
the next opening, open time between two instants, across holidays and daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduler.clinic_hours import HoursError, OpeningHours, parse_closed_dates, parse_week

LONDON = ZoneInfo("Europe/London")
HOURS = "mon-fri 09:00-17:30; sat 10:00-14:00"


def london(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def hours() -> OpeningHours:
    return OpeningHours.parse(HOURS, LONDON, "2026-12-25,2026-12-26")


def test_parse_groups_ranges_lists_and_several_intervals() -> None:
    week = parse_week("Mon-Wed,fri 09:00-12:30 13:30-17:00; thursday 10:00-19:00; "
                      "sat 08:00-24:00")
    assert [str(i) for i in week[0]] == ["09:00-12:30", "13:30-17:00"]
    assert [str(i) for i in week[3]] == ["10:00-19:00"]
    assert [str(i) for i in week[4]] == ["09:00-12:30", "13:30-17:00"]
    assert [str(i) for i in week[5]] == ["08:00-24:00"]
    assert week[6] == ()
    assert [str(i) for i in parse_week("fri-mon 10:00-11:00")[6]] == ["10:00-11:00"]


@pytest.mark.parametrize(("text", "expected"), [
    ("mon 17:00-09:00", "\"mon 17:00-09:00\": 17:00-09:00 ends (09:00) before it starts (17:00)"),
    ("mon-fri 09:00-13:00, 12:00-17:00", "mon-fri 09:00-13:00 and 12:00-17:00 overlap"),
    ("mon-fri 09:00-17:00; fri 16:00-18:00", "fri 09:00-17:00 and 16:00-18:00 overlap"),
    ("mo-fri 09:00-17:00", "\"mo\" is not a weekday"),
    ("mon 9am-5pm", "\"9am-5pm\" is not an interval (use HH:MM-HH:MM"),
    ("mon 09:00-25:00", "\"09:00-25:00\" is not an interval"),
    ("sat", "\"sat\": no opening times"),
    ("09:00-17:00", "no weekday before the times"),
])
def test_each_mistake_is_one_clear_line(text: str, expected: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_week(text)
    assert len(caught.value.problems) == 1, caught.value.problems
    assert expected in caught.value.problems[0]


def test_several_mistakes_give_one_line_each() -> None:
    with pytest.raises(HoursError) as caught:
        OpeningHours.parse("mon 17:00-09:00; tue 09:00-12:00 11:00-13:00; xyz 10:00-11:00",
                           LONDON, "2026-12-25,2026-02-30,christmas")
    problems = caught.value.problems
    assert len(problems) == 5, problems
    assert any("ends (09:00) before it starts" in p for p in problems)
    assert any("tue 09:00-12:00 and 11:00-13:00 overlap" in p for p in problems)
    assert any("\"xyz\" is not a weekday" in p for p in problems)
    assert any("\"2026-02-30\" is not a date" in p for p in problems)
    assert any("\"christmas\" is not a date" in p for p in problems)


def test_closed_dates() -> None:
    assert parse_closed_dates(" 2026-12-25, 2026-12-26 ,") == {dt.date(2026, 12, 25),
                                                              dt.date(2026, 12, 26)}
    assert parse_closed_dates("") == frozenset()


def test_is_open(hours: OpeningHours) -> None:
    assert hours.is_open(london(2026, 11, 30, 9, 0))  # Monday, opening minute
    assert hours.is_open(london(2026, 11, 30, 17, 29))
    assert not hours.is_open(london(2026, 11, 30, 17, 30))  # closing minute
    assert not hours.is_open(london(2026, 11, 30, 8, 59))
    assert hours.is_open(london(2026, 12, 5, 11, 0))  # Saturday
    assert not hours.is_open(london(2026, 12, 6, 11, 0))  # Sunday
    assert not hours.is_open(london(2026, 12, 25, 11, 0))  # a Friday, but closed
    assert hours.is_open(dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC))  # any zone in


def test_next_opening(hours: OpeningHours) -> None:
    assert hours.next_opening(london(2026, 11, 30, 10, 0)) == london(2026, 11, 30, 10, 0)
    assert hours.next_opening(london(2026, 11, 30, 19, 30)) == london(2026, 12, 1, 9, 0)
    assert hours.next_opening(london(2026, 11, 29, 2, 0)) == london(2026, 11, 30, 9, 0)
    assert hours.next_opening(london(2026, 12, 5, 15, 0)) == london(2026, 12, 7, 9, 0)
    # Christmas Friday and Boxing Day Saturday closed: Monday 28th
    assert hours.next_opening(london(2026, 12, 24, 18, 0)) == london(2026, 12, 28, 9, 0)
    assert hours.next_opening(london(2026, 12, 24, 18, 0)).tzinfo == LONDON  # type: ignore


def test_next_opening_across_daylight_saving(hours: OpeningHours) -> None:
    # clocks go forward on Sunday 29 March 2026: 09:00 on Monday is 08:00 UTC
    opening = hours.next_opening(london(2026, 3, 28, 19, 0))
    assert opening == london(2026, 3, 30, 9, 0)
    assert opening is not None and opening.astimezone(dt.UTC).hour == 8
    # and back on Sunday 25 October: 09:00 on Monday is 09:00 UTC
    opening = hours.next_opening(london(2026, 10, 24, 19, 0))
    assert opening is not None and opening.astimezone(dt.UTC).hour == 9


def test_never_open_again() -> None:
    everything = {dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(900)}
    hours = OpeningHours.parse("mon 09:00-10:00", LONDON)
    closed = OpeningHours(hours.week, LONDON, everything)
    assert closed.next_opening(london(2026, 1, 1, 0, 0)) is None


def test_open_minutes_between(hours: OpeningHours) -> None:
    friday_evening = london(2026, 11, 27, 17, 0)
    monday_morning = london(2026, 11, 30, 9, 30)
    # Fri 17:00-17:30, Sat 10:00-14:00, Mon 09:00-09:30
    assert hours.open_minutes_between(friday_evening, monday_morning) == 30 + 240 + 30
    assert hours.open_minutes_between(monday_morning, friday_evening) == 0
    assert hours.open_minutes_between(london(2026, 12, 24, 17, 0),
                                      london(2026, 12, 28, 9, 15)) == 30 + 15


def test_open_time_is_real_time_on_a_daylight_saving_night() -> None:
    nights = OpeningHours.parse("sun 00:00-06:00", LONDON)
    # 29 March 2026: 00:00-06:00 local is only five real hours (01:00 -> 02:00 skipped)
    assert nights.open_minutes_between(london(2026, 3, 29, 0, 0),
                                       london(2026, 3, 30, 0, 0)) == 5 * 60
    # 25 October 2026: seven real hours (01:00-02:00 happens twice)
    assert nights.open_minutes_between(london(2026, 10, 25, 0, 0),
                                       london(2026, 10, 26, 0, 0)) == 7 * 60
    # an opening in the skipped hour starts when the clocks land
    gap = OpeningHours.parse("sun 01:30-03:00", LONDON)
    assert gap.next_opening(london(2026, 3, 28, 12, 0)) == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=dt.UTC)


def test_after_open_time_counts_only_open_minutes(hours: OpeningHours) -> None:
    # 60 open minutes from Friday 17:00: 30 on Friday, then 30 into Saturday
    assert hours.after_open_time(london(2026, 11, 27, 17, 0),
                                 dt.timedelta(minutes=60)) == london(2026, 11, 28, 10, 30)
    assert hours.after_open_time(london(2026, 11, 30, 10, 0),
                                 dt.timedelta(minutes=60)) == london(2026, 11, 30, 11, 0)


def test_next_closing_and_describe(hours: OpeningHours) -> None:
    assert hours.next_closing(london(2026, 11, 30, 10, 0)) == london(2026, 11, 30, 17, 30)
    assert hours.next_closing(london(2026, 11, 30, 18, 0)) is None
    assert hours.describe() == [("mon-fri", "09:00-17:30"), ("sat", "10:00-14:00")]
    joined = OpeningHours.parse("mon 09:00-12:00 12:00-17:00", LONDON)
    assert joined.next_closing(london(2026, 11, 30, 10, 0)) == london(2026, 11, 30, 17, 0)


def test_naive_datetimes_are_refused(hours: OpeningHours) -> None:
    with pytest.raises(ValueError, match="naive"):
        hours.is_open(dt.datetime(2026, 11, 30, 10, 0))
