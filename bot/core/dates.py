"""Reading a treatment date typed by a patient: "2026-11-20", "20/11", "20.11.2026", "3 days ago".

`parse_date(text, today)` returns the date or None when the text is not a date at all;
`check_session_date(day, today)` says why a date is not acceptable for a treatment.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_AGO = re.compile(r"^(\d{1,3}|an?|one|two|three|four|five|six|seven)\s+(day|week)s?\s+ago$")
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7}
MAX_AGE = timedelta(days=366)


class DateProblem(StrEnum):
    """Why a date can't be a treatment date."""

    FUTURE = "future"
    TOO_OLD = "too_old"


def parse_date(text: str, today: date) -> date | None:
    """The date the text names, relative to `today`; None if it is not a date."""
    cleaned = " ".join(text.strip().lower().rstrip(".!").split())
    if cleaned in ("today", "yesterday"):
        return today - timedelta(days=0 if cleaned == "today" else 1)
    for parser in (_iso, _day_month, _ago):
        try:
            found = parser(cleaned, today)
        except ValueError:  # e.g. 31/02
            return None
        if found is not None:
            return found
    return None


def _iso(text: str, today: date) -> date | None:
    match = _ISO.match(text)
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


def _day_month(text: str, today: date) -> date | None:
    match = _DMY.match(text)
    if not match:
        return None
    day, month = int(match[1]), int(match[2])
    if match[3]:
        year = int(match[3])
        return date(year + 2000 if year < 100 else year, month, day)
    guess = date(today.year, month, day)
    return guess if guess <= today else date(today.year - 1, month, day)


def _ago(text: str, today: date) -> date | None:
    match = _AGO.match(text)
    if not match:
        return None
    amount = int(match[1]) if match[1].isdigit() else _WORDS[match[1]]
    return today - timedelta(days=amount * (7 if match[2] == "week" else 1))


def check_session_date(value: date, today: date) -> DateProblem | None:
    """None when `value` is a plausible treatment date (not future, at most a year back)."""
    if value > today:
        return DateProblem.FUTURE
    if today - value > MAX_AGE:
        return DateProblem.TOO_OLD
    return None
