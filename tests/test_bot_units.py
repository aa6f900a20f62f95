"""Unit tests of the bot's small pure parts: recovery days, typed dates, HTML splitting, config."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from bot.cli.demo import parse_advance
from bot.config import ConfigError, load_settings
from bot.core.dates import DateProblem, check_session_date, parse_date
from bot.core.formatting import split_html, utf16_len
from scheduler.days import recovery_day

TODAY = dt.date(2026, 3, 10)


@pytest.mark.parametrize(("now", "zone", "expected"), [
    (dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC), "Europe/London", 0),
    (dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC), "Europe/Berlin", 1),
    (dt.datetime(2026, 3, 11, 3, 0, tzinfo=dt.UTC), "America/New_York", 0),
    (dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC), "Europe/London", 19),  # DST change day
])
def test_recovery_day_counts_local_calendar_days(now: dt.datetime, zone: str,
                                                 expected: int) -> None:
    assert recovery_day(dt.date(2026, 3, 10), now, ZoneInfo(zone)) == expected


def test_recovery_day_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        recovery_day(TODAY, dt.datetime(2026, 3, 10, 12), ZoneInfo("UTC"))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-01", dt.date(2026, 3, 1)), ("1/3", dt.date(2026, 3, 1)),
    ("01.03.2026", dt.date(2026, 3, 1)), ("3 days ago", dt.date(2026, 3, 7)),
    ("a week ago", dt.date(2026, 3, 3)), ("yesterday", dt.date(2026, 3, 9)),
    ("20/11", dt.date(2025, 11, 20)),  # no year: the most recent 20 November
    ("31/02", None), ("can I swim", None),
])
def test_typed_dates(text: str, expected: dt.date | None) -> None:
    assert parse_date(text, TODAY) == expected


def test_session_date_limits() -> None:
    assert check_session_date(TODAY + dt.timedelta(days=1), TODAY) is DateProblem.FUTURE
    assert check_session_date(TODAY - dt.timedelta(days=400), TODAY) is DateProblem.TOO_OLD
    assert check_session_date(TODAY - dt.timedelta(days=300), TODAY) is None


def test_split_html_cuts_at_paragraphs_and_keeps_tags_balanced() -> None:
    paragraphs = [f"<b>Part {i}</b> " + "skin &amp; care " * 40 for i in range(30)]
    text = "\n\n".join(paragraphs)
    parts = split_html(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.startswith("<b>Part") for p in parts)  # cut between paragraphs
    assert "".join(re.sub(r"\s+", "", p) for p in parts) == re.sub(r"\s+", "", text)


def test_split_html_closes_and_reopens_a_tag_cut_in_the_middle() -> None:
    text = "<i>" + "ok ✨ " * 3000 + "</i>"
    parts = split_html(text)
    assert len(parts) >= 2
    for part in parts:
        assert part.startswith("<i>") and part.endswith("</i>")
        assert utf16_len(part) <= 4096


def test_split_html_never_cuts_an_entity() -> None:
    parts = split_html("&amp;" * 2000)
    assert all(re.fullmatch(r"(&amp;)+", p) for p in parts)


def test_short_text_is_one_part() -> None:
    assert split_html("hello") == ["hello"]


def test_advance_amounts() -> None:
    assert parse_advance("1d") == dt.timedelta(days=1)
    assert parse_advance(" 1d 6h ") == dt.timedelta(days=1, hours=6)
    assert parse_advance("30m") == dt.timedelta(minutes=30)
    assert parse_advance("soon") is None and parse_advance("") is None


def test_config_errors_name_each_variable_with_an_example() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, AFTERCARE_TIMEZONE="Mars/Olympus", AFTERCARE_STAFF_IDS="12,abc",
                      AFTERCARE_STAFF_CHAT_ID="staff", TELEGRAM_BOT_TOKEN="secret-but-bad")
    problems = caught.value.problems
    assert len(problems) == 4
    by_name = {p.split(":")[0].split("=")[0]: p for p in problems}
    assert "Mars/Olympus" in by_name["AFTERCARE_TIMEZONE"]
    assert "example: AFTERCARE_TIMEZONE=Europe/London" in by_name["AFTERCARE_TIMEZONE"]
    assert "abc" in by_name["AFTERCARE_STAFF_IDS"]
    assert "secret-but-bad" not in "\n".join(problems)


def test_webhook_needs_a_secret() -> None:
    with pytest.raises(ConfigError, match="AFTERCARE_WEBHOOK_SECRET"):
        load_settings(None, AFTERCARE_WEBHOOK_URL="https://bot.example.org/hook")


def test_settings_defaults_and_derived_values() -> None:
    settings = load_settings(None, AFTERCARE_BOT_API_URL="http://127.0.0.1:8081/bot",
                             AFTERCARE_STAFF_IDS=" 1, 2 ", TELEGRAM_BOT_TOKEN="123:abc")
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.staff_ids == {1, 2}
    assert "123:abc" not in repr(settings)
