"""Fair figures: how long reports waited for a first staff action, by the wall clock and in
opening hours.

A report raised at 02:00 on Sunday and taken at 09:05 on Monday waited 31 hours by the wall
clock, but only 5 minutes of opening time: both are true, and the clinic needs both (the
first for the patient's experience, the second for the team's). `first_action_times` turns
reports and their audit trails into (wall, open) pairs; `summarise` gives medians and 90th
percentiles. Pure: takes values, no database, no clock.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scheduler.clinic_hours import OpeningHours

STAFF_ACTIONS = frozenset({"taken", "replied", "paused", "resolved"})  # done by staff
WINDOW = dt.timedelta(days=30)  # figures cover reports raised in this window


@dataclass(frozen=True)
class Waited:
    """How long one report waited for its first staff action."""

    wall: dt.timedelta
    open: dt.timedelta | None  # None without configured opening hours


@dataclass(frozen=True)
class Summary:
    """Medians and 90th percentiles over `count` reports (None: no reports / no hours)."""

    count: int
    wall_median: dt.timedelta | None
    wall_p90: dt.timedelta | None
    open_median: dt.timedelta | None
    open_p90: dt.timedelta | None


def first_action_times(reports: Iterable[tuple[dt.datetime, Iterable[tuple[str, dt.datetime]]]],
                       hours: OpeningHours | None) -> list[Waited]:
    """For each (created_at, [(action, at), ...]) with a staff action: how long it waited."""
    waited = []
    for created, actions in reports:
        firsts = [at for action, at in actions if action in STAFF_ACTIONS and at >= created]
        if not firsts:
            continue
        first = min(firsts)
        waited.append(Waited(first - created,
                             hours.open_time_between(created, first) if hours else None))
    return waited


def percentile(values: Sequence[dt.timedelta], fraction: float) -> dt.timedelta | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarise(waited: Sequence[Waited]) -> Summary:
    """Medians and 90th percentiles of the wall-clock and open-time waits."""
    walls = [w.wall for w in waited]
    opens = [w.open for w in waited if w.open is not None]
    return Summary(len(waited), percentile(walls, 0.5), percentile(walls, 0.9),
                   percentile(opens, 0.5), percentile(opens, 0.9))


__all__ = ["STAFF_ACTIONS", "Summary", "WINDOW", "Waited", "first_action_times", "percentile",
           "summarise"]
