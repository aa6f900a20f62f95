"""The figures page: per week, what the bot and the team did, as charts with the numbers
beside them, and the same table as a CSV download (formula-safe for spreadsheets).

Weeks start on Monday at midnight in the clinic's time zone; finished weeks are cached for
ten minutes on the desk's clock (a late answer to an old check-in, or a report handled in
Telegram, shows within that; a report handled on this desk forgets its week's figures at once),
the current week is always live. "Time to first staff action" is, for each report raised that
week, the minutes until a staff member first took, answered, paused or resolved it; the median
and the 90th percentile (nearest rank) are shown, by the wall clock and, with
configured opening hours, in minutes the clinic was open (a report raised on Saturday night
and taken on Monday at 09:05 waited 5 opening minutes).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.spreadsheet import safe_cell
from bot.web.charts import bar_chart
from bot.web.common import StaffUser, page, services, staff_page
from scheduler.clinic_hours import OpeningHours
from storage.desk_views import WeekFigures

WEEKS = 12
CACHE_FOR = dt.timedelta(minutes=10)  # finished weeks are recomputed this often
COLUMNS = ("week", "sessions", "checkins_sent", "checkins_answered", "answer_rate_pct",
           "reports_emergency", "reports_urgent", "reports_other", "first_action_median_min",
           "first_action_p90_min", "questions", "unanswered", "unanswered_rate_pct",
           "first_action_open_median_min", "first_action_open_p90_min")


def week_starts(now: dt.datetime, tz: dt.tzinfo, weeks: int = WEEKS) -> list[dt.datetime]:
    """Mondays 00:00 (clinic time, as UTC) of the last `weeks` weeks, oldest first."""
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    days = [monday - dt.timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    return [dt.datetime.combine(d, dt.time(), tz).astimezone(dt.UTC) for d in days]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` 0.5 is the median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def rate(part: int, whole: int) -> float | None:
    """Percentage with one decimal, None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class WeekLine:
    """A week with its derived numbers."""

    week: WeekFigures
    answer_rate: float | None
    median: float | None
    p90: float | None
    unanswered_rate: float | None
    open_median: float | None = None  # opening minutes (None without configured hours)
    open_p90: float | None = None

    def cells(self, tz: dt.tzinfo = dt.UTC) -> list[object]:
        """The CSV row (the week by its first day in `tz`)."""
        w = self.week
        return [w.start.astimezone(tz).date().isoformat(), w.sessions, w.checkins_sent,
                w.checkins_answered,
                _blank(self.answer_rate), w.reports.get("emergency", 0),
                w.reports.get("urgent", 0), w.reports.get("other", 0), _blank(self.median),
                _blank(self.p90), w.questions, w.unanswered, _blank(self.unanswered_rate),
                _blank(self.open_median), _blank(self.open_p90)]


def _blank(value: float | None) -> object:
    return "" if value is None else round(value, 1)


def lines(weeks: Sequence[WeekFigures], hours: OpeningHours | None = None) -> list[WeekLine]:
    """Derived numbers for each week (opening-time waits when `hours` are configured)."""
    result = []
    for w in weeks:
        opened = ([hours.open_minutes_between(a, b) for a, b in w.first_actions]
                  if hours is not None else [])
        result.append(WeekLine(w, rate(w.checkins_answered, w.checkins_sent),
                               _round(percentile(w.first_action_minutes, 0.5)),
                               _round(percentile(w.first_action_minutes, 0.9)),
                               rate(w.unanswered, w.questions),
                               _round(percentile(opened, 0.5)) if hours else None,
                               _round(percentile(opened, 0.9)) if hours else None))
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def to_csv(rows: Sequence[WeekLine], tz: dt.tzinfo = dt.UTC) -> str:
    """The figures as CSV, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(c) for c in row.cells(tz)])
    return out.getvalue()


async def _weeks(request: Request) -> list[WeekLine]:
    """The figures of the last `WEEKS` weeks: finished weeks from a short-lived cache (they
    hardly change: an old check-in answered late), the current week always fresh."""
    desk = services(request)
    now = desk.now()
    starts = week_starts(now, desk.settings.tz)
    ends = [*starts[1:], starts[-1] + dt.timedelta(days=7)]
    cache = desk.figures
    cache.keep_from(starts[0])
    cached = {a: cache.get(a, now, CACHE_FOR) for a, b in zip(starts, ends, strict=True)
              if b <= now}
    fresh = [(a, b) for a, b in zip(starts, ends, strict=True) if cached.get(a) is None]
    computed = {w.start: w for w in await desk.views.weeks(fresh)}
    weeks = []
    for start, end in zip(starts, ends, strict=True):
        week = cached.get(start) or computed[start]
        if start in computed and end <= now:
            cache.put(week, now)
        weeks.append(week)
    return lines(weeks, desk.settings.hours())


@staff_page
async def figures_page(request: Request, user: StaffUser) -> Response:
    """Charts with numbers beside them."""
    rows = await _weeks(request)
    tz = services(request).settings.tz
    labels = [r.week.start.astimezone(tz).strftime("%-d %b") for r in rows]
    desk = services(request)

    def chart(heading: str, title: str, values: Sequence[float | None],
              unit: str = "") -> tuple[str, Markup]:
        """The heading and the picture (titled `title`) of one figure (both from
        bot/web/texts.yaml "figures")."""
        return heading, bar_chart(title, labels, values, unit)

    charts = [
        (*chart(desk.text("figures.sessions"), desk.text("figures.sessions_title"),
                [r.week.sessions for r in rows]),
         [r.week.sessions for r in rows], ""),
        (*chart(desk.text("figures.answered"), desk.text("figures.answered_title"),
                [r.answer_rate for r in rows], "%"),
         [f"{r.week.checkins_answered}/{r.week.checkins_sent}" for r in rows], ""),
        (*chart(desk.text("figures.reports"), desk.text("figures.reports_title"),
                [sum(r.week.reports.values()) for r in rows]),
         [", ".join(f"{k} {v}" for k, v in sorted(r.week.reports.items())) or "0"
          for r in rows], ""),
        (*chart(desk.text("figures.first_action"), desk.text("figures.first_action_title"),
                [r.median for r in rows], " min"),
         [f"{_show(r.median)} (p90 {_show(r.p90)})" for r in rows], ""),
        (*chart(desk.text("figures.unanswered"), desk.text("figures.unanswered_title"),
                [r.unanswered_rate for r in rows], "%"),
         [f"{r.week.unanswered}/{r.week.questions}" for r in rows], ""),
    ]
    if desk.settings.opening_hours:  # fair figures: waits in opening time
        charts.insert(4, (
            *chart(desk.text("figures.open_first_action"),
                   desk.text("figures.open_first_action_title"),
                   [r.open_median for r in rows], " min"),
            [f"{_show(r.open_median)} (p90 {_show(r.open_p90)})" for r in rows], ""))
    return page(request, "figures.html", rows=rows, charts=charts, labels=labels)


def _show(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


@staff_page
async def figures_csv(request: Request, user: StaffUser) -> Response:
    """The figures table as CSV."""
    body = to_csv(await _weeks(request), services(request).settings.tz)
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="aftercare-figures.csv"',
        "Cache-Control": "no-store"})


def routes() -> list[Route]:
    """The figures pages."""
    return [Route("/figures", figures_page), Route("/figures.csv", figures_csv)]
