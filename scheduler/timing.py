"""When a check-in is due: local calendar days in the patient's zone, quiet hours, DST.

Pure functions (no clock reads). A step "day N at HH:MM" means the patient's local calendar
date ``session_date + N`` at that wall-clock time, converted to UTC through the zone's rules
for that date, so a daylight-saving change between the session and the check-in does not
shift the local hour. A wall-clock time that does not exist (spring-forward gap) moves
forward; an ambiguous one (autumn fold) takes the first occurrence.

Quiet hours push a time that falls inside them to the next allowed local time. Every
check-in may be delivered until the next quiet period starts; after that it is expired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduler.careplan import QuietHours, Step

NO_QUIET_WINDOW = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Due:
    """A planned check-in's local date and its UTC delivery window [due_at, deliver_until)."""

    local_date: dt.date
    due_at: dt.datetime
    deliver_until: dt.datetime


def spread_offset(patient_id: int, spread_minutes: int) -> dt.timedelta:
    """A stable per-patient offset in [0, spread_minutes] to flatten bursts at round hours."""
    if spread_minutes <= 0:
        return dt.timedelta(0)
    mixed = (patient_id * 2654435761) & 0xFFFFFFFF
    return dt.timedelta(minutes=mixed % (spread_minutes + 1))


def _wall(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Attach `tz` to a naive wall time and normalise it (gap times move forward)."""
    return local.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz)


def next_allowed(local: dt.datetime, quiet: QuietHours, tz: ZoneInfo) -> dt.datetime:
    """`local` (aware, in `tz`) or, if it falls in quiet hours, the moment quiet hours end."""
    if not quiet.contains(local.timetz().replace(tzinfo=None)):
        return local
    end = _wall(dt.datetime.combine(local.date(), quiet.end), tz)
    if end <= local:
        end = _wall(dt.datetime.combine(local.date() + dt.timedelta(days=1), quiet.end), tz)
    return end


def quiet_start_after(local: dt.datetime, quiet: QuietHours, tz: ZoneInfo) -> dt.datetime:
    """The next start of quiet hours after `local` (aware); 12 h later when there are none."""
    if quiet.start == quiet.end:
        return local + NO_QUIET_WINDOW
    start = _wall(dt.datetime.combine(local.date(), quiet.start), tz)
    if start <= local:
        start = _wall(dt.datetime.combine(local.date() + dt.timedelta(days=1), quiet.start), tz)
    return start


def plan_due(session_date: dt.date, step: Step, tz: ZoneInfo, quiet: QuietHours,
             offset: dt.timedelta = dt.timedelta(0)) -> Due:
    """The delivery window of `step` after a session on `session_date` (patient's local date)."""
    local_date = session_date + dt.timedelta(days=step.day)
    wanted = _wall(dt.datetime.combine(local_date, step.time) + offset, tz)
    due_local = next_allowed(wanted, quiet, tz)
    until_local = quiet_start_after(due_local, quiet, tz)
    return Due(local_date, due_local.astimezone(dt.UTC), until_local.astimezone(dt.UTC))
