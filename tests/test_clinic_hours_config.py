"""Clinic-hours settings as `aftercare run` loads them: every bad value refused with one
clear line (end before start, overlapping intervals, unknown weekday, malformed date), and good
values turned into opening hours in the clinic's time zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.cli import Result, aftercare


def run(tmp_path: Path, **env: str) -> Result:
    return aftercare(tmp_path, "run", **env, TELEGRAM_BOT_TOKEN="123:abc")


def problem_lines(stderr: str) -> list[str]:
    return [line.strip()[2:] for line in stderr.splitlines() if line.strip().startswith("- ")]


@pytest.mark.parametrize(("hours", "dates", "expected"), [
    ("mon-fri 17:30-09:00", "", "AFTERCARE_OPENING_HOURS: \"mon-fri 17:30-09:00\": 17:30-09:00 "
                                "ends (09:00) before it starts (17:30)"),
    ("mon-fri 09:00-13:00 12:00-17:30", "", "AFTERCARE_OPENING_HOURS: mon-fri 09:00-13:00 and "
                                            "12:00-17:30 overlap"),
    ("mon-fri 09:00-17:30; sunday 10:00-12:00; sa 10:00-14:00", "",
     "AFTERCARE_OPENING_HOURS: \"sa 10:00-14:00\": \"sa\" is not a weekday"),
    ("mon-fri 09:00-17:30", "2026-12-25,25/12/2026",
     "AFTERCARE_CLOSED_DATES: \"25/12/2026\" is not a date (use YYYY-MM-DD"),
])
def test_aftercare_run_refuses_bad_hours_with_one_clear_line(
        tmp_path: Path, hours: str, dates: str, expected: str) -> None:
    result = run(tmp_path, AFTERCARE_OPENING_HOURS=hours, AFTERCARE_CLOSED_DATES=dates)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = problem_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "(example: AFTERCARE_" in lines[0]


def test_aftercare_run_lists_each_of_several_mistakes(tmp_path: Path) -> None:
    result = run(tmp_path, AFTERCARE_OPENING_HOURS="mon 17:00-09:00; tue 09:00-12:00 11:00-13:00;"
                                                   " xyz 10:00-11:00",
                 AFTERCARE_CLOSED_DATES="2026-12-25,2026-02-30")
    lines = problem_lines(result.stderr)
    assert result.returncode == 2 and len(lines) == 4, result.stderr
    assert sum(line.startswith("AFTERCARE_OPENING_HOURS:") for line in lines) == 3
    assert sum(line.startswith("AFTERCARE_CLOSED_DATES:") for line in lines) == 1


def test_on_call_needs_hours_and_must_be_staff() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, AFTERCARE_ONCALL_IDS="5", AFTERCARE_STAFF_IDS="5")
    assert caught.value.problems == [
        "AFTERCARE_OPENING_HOURS is required when AFTERCARE_ONCALL_IDS is set (on call means "
        "outside opening hours) (example: AFTERCARE_OPENING_HOURS=mon-fri 09:00-17:30; "
        "sat 10:00-14:00)"]
    with pytest.raises(ConfigError, match="AFTERCARE_ONCALL_IDS lists 7, not in "
                                          "AFTERCARE_STAFF_IDS"):
        load_settings(None, AFTERCARE_ONCALL_IDS="5,7", AFTERCARE_STAFF_IDS="5",
                      AFTERCARE_OPENING_HOURS="mon-fri 09:00-17:00")
    with pytest.raises(ConfigError, match="AFTERCARE_ONCALL_IDS=x5: x5 is not a Telegram user"):
        load_settings(None, AFTERCARE_ONCALL_IDS="x5")


def test_good_hours_settings() -> None:
    settings = load_settings(None, AFTERCARE_OPENING_HOURS="mon-fri 09:00-17:30; sat 10:00-14:00",
                             AFTERCARE_CLOSED_DATES="2026-12-25, 2026-12-26",
                             AFTERCARE_TIMEZONE="Europe/Berlin", AFTERCARE_STAFF_IDS="5,6",
                             AFTERCARE_ONCALL_IDS="6", AFTERCARE_OUT_OF_HOURS_CONTACT="116 117",
                             AFTERCARE_URGENT_REPLY_TARGET_MINUTES="90")
    hours = settings.hours()
    assert hours is not None and hours.tz.key == "Europe/Berlin"
    assert hours.describe() == [("mon-fri", "09:00-17:30"), ("sat", "10:00-14:00")]
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=hours.tz)
    assert not hours.is_open(christmas)
    assert settings.oncall_ids == {6} and settings.out_of_hours_contact == "116 117"
    assert settings.urgent_reply_target_minutes == 90
    assert load_settings(None).hours() is None  # not configured: no opening times promised
    assert load_settings(None, AFTERCARE_OPENING_HOURS=" ").hours() is None
