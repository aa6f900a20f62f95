"""Recovery-day arithmetic: which day after the treatment it is for a patient, in their zone.

Day 0 is the treatment day itself; day 1 starts at the patient's local midnight after it.
Everything here is pure (no clock reads) so callers pass "now" from their injectable clock.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """The calendar date at `now` (an aware datetime) in time zone `tz`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware datetime")
    return now.astimezone(tz).date()


def recovery_day(session_date: date, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between `session_date` and today's date in `tz` (negative if in the future)."""
    return (local_today(now, tz) - session_date).days
