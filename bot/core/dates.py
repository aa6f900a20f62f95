"""Reading a treatment date typed by a patient: "2026-11-20", "20/11", "20.11.2026", "3 days ago".

`read_date(text, today)` returns a `DateReading` (the best reading, other readings, and whether
the patient must confirm it) or None when the text is not a date; `parse_date` is the plain
best reading (staff commands); `check_session_date(day, today)` says why a date is not
acceptable for a treatment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_AGO = re.compile(r"^(\d{1,3}|an?|one|two|three|four|five|six|seven)\s+(day|week)s?\s+ago$")
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7}
MAX_AGE = timedelta(days=366)
MAX_FUTURE = timedelta(days=90)  # a booked treatment can be logged ahead, once confirmed


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


def check_session_date(value: date, today: date,
                       allow_future: bool = False) -> DateProblem | None:
    """None when `value` is a plausible treatment date (at most a year back; not in the
    future, or with `allow_future` (a confirmed booking) at most `MAX_FUTURE` ahead)."""
    if value > today and (not allow_future or value - today > MAX_FUTURE):
        return DateProblem.FUTURE
    if today - value > MAX_AGE:
        return DateProblem.TOO_OLD
    return None


SILENT_AGE = timedelta(days=60)  # older readings of a date typed without a year are confirmed


@dataclass(frozen=True)
class DateReading:
    """What a typed treatment date means: the best reading, other readings worth offering,
    and whether the patient must confirm it before it is logged (a future date, a date typed
    without a year that is long ago, or one that reads differently month-first)."""

    chosen: date
    alternatives: tuple[date, ...] = ()
    confirm: bool = False

    @property
    def options(self) -> tuple[date, ...]:
        """The chosen reading first, then the alternatives (no repeats)."""
        return tuple(dict.fromkeys((self.chosen, *self.alternatives)))


def _plausible(value: date, today: date) -> bool:
    return today - MAX_AGE <= value <= today + MAX_FUTURE


def read_date(text: str, today: date) -> DateReading | None:
    """The treatment date the text names, and whether to confirm it; None if not a date.

    "today", "yesterday" and "3 days ago" are exact. "2026-11-20" names its year. "20/12" on
    1 December is either last year's (346 days ago) or this year's (in 19 days): both are
    offered, the past one first. "05/11" reads day-first; the month-first reading is offered
    too when the day-first one would need confirming anyway.
    """
    cleaned = " ".join(text.strip().lower().rstrip(".!").split())
    if cleaned in ("today", "yesterday"):
        return DateReading(today - timedelta(days=0 if cleaned == "today" else 1))
    try:
        relative = _ago(cleaned, today)
        if relative is not None:
            return DateReading(relative, confirm=relative > today or today - relative > MAX_AGE)
        exact = _iso(cleaned, today)
    except ValueError:
        return None
    if exact is not None:
        return DateReading(exact, confirm=check_session_date(exact, today) is not None)
    match = _DMY.match(cleaned)
    if not match:
        return None
    first, second = int(match[1]), int(match[2])
    valid: list[date] = []
    for day, month in ((first, second), (second, first)):
        valid += _dm_readings(day, month, match[3], today)
    readings = [r for r in dict.fromkeys(valid) if _plausible(r, today)]
    if not readings:  # e.g. 31/02 (None), or a date years ago (confirmed, then refused)
        return DateReading(valid[0], confirm=True) if valid else None
    day_first = [r for r in readings if (r.day, r.month) == (first, second)]
    candidates = day_first or readings
    past = [r for r in candidates if r <= today]
    chosen = max(past) if past else min(candidates)
    others = tuple(sorted((r for r in readings if r != chosen),
                          key=lambda r: abs((r - today).days)))
    typed_year = match[3] is not None
    if chosen <= today and (typed_year or today - chosen <= SILENT_AGE):
        return DateReading(chosen)
    return DateReading(chosen, others[:2], confirm=True)


def _dm_readings(day: int, month: int, year: str | None, today: date) -> list[date]:
    """The dates `day`/`month` can be: in the typed year, or this year and last year."""
    years = ([int(year) + 2000 if int(year) < 100 else int(year)] if year
             else [today.year, today.year - 1])
    found = []
    for y in years:
        try:
            found.append(date(y, month, day))
        except ValueError:
            continue
    return found
