"""The clinic's opening hours: when a person will read an alert (pure: takes values, no env).

A week of opening intervals (several a day allowed) plus closed dates (holidays), in the
clinic's time zone. Everything takes aware datetimes from the caller's clock and works in
real elapsed time, so a day with a daylight-saving change has its true length:

* `OpeningHours.is_open(at)`: is somebody there now?
* `OpeningHours.next_opening(at)`: the first moment at or after `at` when the clinic is open
  (``at`` itself while open), e.g. to tell a patient "closed until Monday 09:00";
* `OpeningHours.open_time_between(a, b)` / `open_minutes_between(a, b)`: how much of [a, b)
  the clinic was open (fair response figures, re-post deadlines in open minutes);
* `OpeningHours.after_open_time(at, wait)`: the moment `wait` of open time has passed.

The text forms (read from configuration by bot/config.py, parsed here):

* hours: ``"mon-fri 09:00-17:30; sat 10:00-14:00"``; entries separated by ``;``, each a list
  of days (``mon``, ``tue``, ... or full names; ranges like ``mon-fri``; commas) followed by
  one or more ``HH:MM-HH:MM`` intervals (``mon,thu 09:00-12:30 13:30-19:00``); ``24:00``
  may end a day. Days not listed are closed.
* closed dates: ``"2026-12-25,2026-12-26"`` (ISO dates, comma-separated).

A mistake raises `HoursError`, whose `problems` hold one readable line per mistake (end before
start, overlapping intervals, unknown weekday, malformed time or date), worded by
scheduler/texts.yaml "hours".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from scheduler import texts

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = {name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                           "friday", "saturday", "sunday"))}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_OF_MINUTES = 24 * 60
SEARCH_DAYS = 800  # how far ahead next_opening looks (closed dates could span a long time)


class HoursError(ValueError):
    """Invalid opening hours or closed dates; `problems` has one line per mistake."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, order=True)
class Interval:
    """Open from `start` to `end`, in minutes after local midnight (end up to 24 * 60)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


Week = tuple[tuple[Interval, ...], ...]  # seven entries, Monday first, each sorted


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_time(text: str) -> int | None:
    """Minutes after midnight for "HH:MM" (00:00 to 24:00); None when malformed."""
    match = _TIME.match(text)
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _day(name: str) -> int | None:
    name = name.strip().lower()
    if name in DAYS:
        return DAYS.index(name)
    return _FULL.get(name)


def _days(text: str) -> tuple[list[int], list[str]]:
    """Weekday numbers named by "mon-fri,sun"; plus the words that are not weekdays."""
    found: list[int] = []
    bad: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, dash, last = (s.strip() for s in part.partition("-"))
        start = _day(first)
        end = _day(last) if dash else start
        for word, number in ((first, start), (last, end) if dash else (first, start)):
            if number is None and word not in bad:
                bad.append(word or part)
        if start is None or end is None:
            continue
        day = start
        while True:  # a range may wrap past Sunday ("fri-mon")
            if day not in found:
                found.append(day)
            if day == end:
                break
            day = (day + 1) % 7
    return found, bad


def day_names(days: Iterable[int]) -> str:
    """"mon-fri", "mon,wed,sat" or "mon-wed,sat" for weekday numbers."""
    ordered = sorted(set(days))
    parts: list[str] = []
    index = 0
    while index < len(ordered):
        last = index
        while last + 1 < len(ordered) and ordered[last + 1] == ordered[last] + 1:
            last += 1
        if last - index >= 2:
            parts.append(f"{DAYS[ordered[index]]}-{DAYS[ordered[last]]}")
        else:
            parts.extend(DAYS[ordered[i]] for i in range(index, last + 1))
        index = last + 1
    return ",".join(parts)


def parse_week(text: str) -> Week:
    """Opening intervals per weekday from "mon-fri 09:00-17:30; sat 10:00-14:00".

    Raises `HoursError` with one line per mistake."""
    problems: list[str] = []
    week: list[list[Interval]] = [[] for _ in DAYS]
    entries = [e.strip() for e in text.split(";") if e.strip()]
    if not entries:
        raise HoursError([texts.text("hours.none_given")])
    for entry in entries:
        digit = re.search(r"\d", entry)
        day_part = entry[:digit.start()] if digit else entry
        time_part = entry[digit.start():] if digit else ""
        if not day_part.strip():
            problems.append(texts.text("hours.no_weekday", entry=entry))
            continue
        days, bad = _days(day_part)
        for word in bad:
            problems.append(texts.text("hours.not_a_weekday", entry=entry, word=word))
        if not time_part.strip():
            problems.append(texts.text("hours.no_times", entry=entry, days=day_part.strip()))
            continue
        for piece in (p for p in re.split(r"[\s,]+", time_part.strip()) if p):
            start_text, dash, end_text = piece.partition("-")
            start, end = _parse_time(start_text), _parse_time(end_text)
            if not dash or start is None or end is None:
                problems.append(texts.text("hours.not_an_interval", entry=entry, piece=piece))
                continue
            if end <= start:
                problems.append(texts.text("hours.backwards", entry=entry, piece=piece,
                                           end=end_text, start=start_text))
                continue
            for day in days:
                week[day].append(Interval(start, end))
    overlaps: dict[tuple[Interval, Interval], list[int]] = {}
    for day, intervals in enumerate(week):
        intervals.sort()
        for earlier, later in zip(intervals, intervals[1:], strict=False):
            if later.start < earlier.end:
                overlaps.setdefault((earlier, later), []).append(day)
    for (earlier, later), days in overlaps.items():
        joined = Interval(earlier.start, max(earlier.end, later.end))
        problems.append(texts.text("hours.overlap", days=day_names(days), earlier=earlier,
                                   later=later, joined=joined))
    if problems:
        raise HoursError(problems)
    return tuple(tuple(day) for day in week)


def parse_closed_dates(text: str) -> frozenset[dt.date]:
    """Dates from "2026-12-25,2026-12-26"; raises `HoursError` with one line per bad date."""
    dates: set[dt.date] = set()
    problems: list[str] = []
    for part in (p.strip() for p in re.split(r"[,\s]+", text)):
        if not part:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
                raise ValueError
            dates.add(dt.date.fromisoformat(part))
        except ValueError:
            problems.append(texts.text("hours.not_a_date", date=part))
    if problems:
        raise HoursError(problems)
    return frozenset(dates)


def describe_week(week: Week) -> list[tuple[str, str]]:
    """(days, intervals) rows with equal days grouped: [("mon-fri", "09:00-17:30"), ...]."""
    rows: list[tuple[str, str]] = []
    day = 0
    while day < 7:
        if not week[day]:
            day += 1
            continue
        last = day
        while last + 1 < 7 and week[last + 1] == week[day]:
            last += 1
        days = DAYS[day] if last == day else f"{DAYS[day]}-{DAYS[last]}"
        rows.append((days, ", ".join(str(i) for i in week[day])))
        day = last + 1
    return rows


def _to_utc(day: dt.date, minutes: int, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of local wall time `minutes` after midnight of `day` in `tz`.

    A wall time the clocks skip (spring forward) means the moment they jump, e.g. 01:30 on
    the night London goes from 01:00 to 02:00 is 01:00 UTC; a wall time that happens twice
    (autumn) means its first occurrence."""
    if minutes >= _DAY_OF_MINUTES:
        day, minutes = day + dt.timedelta(days=1), minutes - _DAY_OF_MINUTES
    wall = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # in a gap: fold=1 lands before the jump, fold=0 after it; find the jump to the second
    low = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    high = first
    low_offset = low.astimezone(tz).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == low_offset:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0) if high.microsecond else high


class OpeningHours:
    """A week of opening intervals and closed dates in the clinic's time zone."""

    def __init__(self, week: Week, tz: ZoneInfo,
                 closed: Iterable[dt.date] = ()) -> None:
        if len(week) != 7:
            raise ValueError("a week has seven days")
        self.week = week
        self.tz = tz
        self.closed = frozenset(closed)

    @classmethod
    def parse(cls, hours: str, tz: ZoneInfo, closed: str = "") -> OpeningHours:
        """From the text forms; `HoursError` lists every mistake in both."""
        problems: list[str] = []
        week: Week = tuple(() for _ in DAYS)
        dates: frozenset[dt.date] = frozenset()
        try:
            week = parse_week(hours)
        except HoursError as exc:
            problems += exc.problems
        try:
            dates = parse_closed_dates(closed)
        except HoursError as exc:
            problems += exc.problems
        if problems:
            raise HoursError(problems)
        return cls(week, tz, dates)

    @classmethod
    def from_mapping(cls, days: Mapping[str, Sequence[tuple[str, str]]], tz: ZoneInfo,
                     closed: Iterable[dt.date] = ()) -> OpeningHours:
        """From {"mon": [("09:00", "17:00")], ...} (tests, demos)."""
        text = "; ".join(f"{day} " + " ".join(f"{a}-{b}" for a, b in spans)
                         for day, spans in days.items())
        return cls(parse_week(text), tz, closed)

    # --- the open intervals as instants ----------------------------------------------------
    def _local(self, at: dt.datetime) -> dt.datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"naive datetime {at!r}: pass a timezone-aware datetime")
        return at.astimezone(self.tz)

    def day_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The open intervals of one local date as (start, end) UTC instants (none if closed)."""
        if day in self.closed:
            return []
        spans = []
        for interval in self.week[day.weekday()]:
            start = _to_utc(day, interval.start, self.tz)
            end = _to_utc(day, interval.end, self.tz)
            if end > start:
                spans.append((start, end))
        return spans

    def intervals_from(self, at: dt.datetime,
                       days: int = SEARCH_DAYS) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Open intervals (UTC instants) that end after `at`, in order, for up to `days` days."""
        first = self._local(at).date() - dt.timedelta(days=1)
        for offset in range(days + 1):
            for start, end in self.day_intervals(first + dt.timedelta(days=offset)):
                if end > at:
                    yield start, end

    # --- questions ---------------------------------------------------------------------------
    def is_open(self, at: dt.datetime) -> bool:
        """True when `at` falls in an open interval (start included, end excluded)."""
        local = self._local(at).date()
        for day in (local - dt.timedelta(days=1), local):
            if any(start <= at < end for start, end in self.day_intervals(day)):
                return True
        return False

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The first moment at or after `at` when the clinic is open (`at` while open), in the
        clinic's time zone; None when it never opens again within `SEARCH_DAYS`."""
        for start, _ in self.intervals_from(at):
            return max(start, at).astimezone(self.tz)
        return None

    def next_closing(self, at: dt.datetime) -> dt.datetime | None:
        """When the current open stretch ends (None when closed now)."""
        if not self.is_open(at):
            return None
        closing: dt.datetime | None = None
        for start, end in self.intervals_from(at):
            if closing is not None and start > closing:
                break
            closing = end if closing is None else max(closing, end)
        return closing.astimezone(self.tz) if closing else None

    def open_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """How much of [a, b) the clinic was open (zero when b <= a)."""
        self._local(a)
        self._local(b)
        total = dt.timedelta()
        if b <= a:
            return total
        days = (b - a).days + 3
        for start, end in self.intervals_from(a, days=days):
            if start >= b:
                break
            total += min(end, b) - max(start, a)
        return total

    def open_minutes_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """`open_time_between` in minutes."""
        return self.open_time_between(a, b).total_seconds() / 60

    def after_open_time(self, at: dt.datetime, wait: dt.timedelta) -> dt.datetime | None:
        """The moment `wait` of open time has passed since `at` (None: never, in the window)."""
        left = wait
        for start, end in self.intervals_from(at):
            begin = max(start, at)
            if end - begin >= left:
                return (begin + left).astimezone(self.tz)
            left -= end - begin
        return None

    def describe(self) -> list[tuple[str, str]]:
        """(days, intervals) rows, equal days grouped."""
        return describe_week(self.week)


ONCALL_URGENCIES = ("emergency", "urgent")  # the reports whose cards reach on-call staff


@dataclass(frozen=True)
class OnCall:
    """Staff on call outside opening hours: they get their own copy of emergency and urgent
    cards raised while the clinic is closed (storage/alert_rows.py `CardCopies`), and the
    night's re-posts. Nobody is on call without opening hours, or while the clinic is open."""

    hours: OpeningHours | None
    staff: frozenset[int] = frozenset()

    def now(self, at: dt.datetime) -> tuple[int, ...]:
        """The on-call staff ids in force at `at` (none during opening hours)."""
        if not self.staff or self.hours is None or self.hours.is_open(at):
            return ()
        return tuple(sorted(self.staff))

    def chats(self, urgency: str | None, at: dt.datetime) -> tuple[int, ...]:
        """The private chats owed a copy of a new card of this urgency raised at `at`."""
        return self.now(at) if urgency in ONCALL_URGENCIES else ()


__all__ = ["DAYS", "ONCALL_URGENCIES", "HoursError", "Interval", "OnCall", "OpeningHours", "Week",
           "day_names", "describe_week", "parse_closed_dates", "parse_week"]
