"""The database figures the ops metrics show (/metrics, bot/ops/http.py), read in one place.
Writes no table.

`OpsFigures` is what the metrics read: check-in rows by status and how many are due, open
reports by urgency and the oldest one, staff-chat alerts not yet delivered, and the (raised,
first staff action) pairs of recent reports. `SqlFigures` holds every statement of it (over
the bot's database); `MemoryFigures` (storage/figures_memory.py) is its in-memory twin over the
`MemoryTables` the other twins write, proven equal by tests/test_figures_conformance.py;
`FixedFigures` shows the figures a test hands it. bot/compose.py builds the backend's own
(``Services.ops.figures``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alerts import OWED as ALERTS_OWED
from storage.models import Alert, CheckIn, CheckinStatus, Report, ReportStatus
from storage.reports import ReportStore


@dataclass(frozen=True)
class Figures:
    """The database-backed figures at one moment."""

    checkins: dict[str, int] = field(default_factory=dict)  # check-in rows by status
    checkins_due: int = 0  # pending rows whose time has come
    open_reports: dict[str, int] = field(default_factory=dict)  # unresolved, by urgency/"none"
    oldest_open: dt.datetime | None = None  # when the oldest unresolved report was raised
    alerts_owed: int = 0  # staff-chat alerts (cards, re-posts, edits) not yet delivered
    first_actions: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)


class OpsFigures(Protocol):
    """Where the metrics read their database figures."""

    async def read(self, now: dt.datetime, since: dt.datetime) -> Figures:
        """The figures at `now`; first actions of the reports raised since `since`."""
        ...


class SqlFigures:
    """`OpsFigures` over the bot's database (every statement of the ops metrics)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.reports = ReportStore(sessions)

    async def read(self, now: dt.datetime, since: dt.datetime) -> Figures:
        async with self.sessions() as s:
            by_status = dict((await s.execute(
                select(CheckIn.status, func.count()).group_by(CheckIn.status))).all())
            due = await s.scalar(select(func.count()).select_from(CheckIn).where(
                CheckIn.status == CheckinStatus.PENDING.value, CheckIn.due_at <= now))
            unresolved = Report.status != ReportStatus.RESOLVED.value
            by_urgency = dict((await s.execute(
                select(func.coalesce(Report.urgency, "none"), func.count())
                .where(unresolved).group_by(Report.urgency))).all())
            oldest = await s.scalar(select(Report.created_at).where(unresolved)
                                    .order_by(Report.created_at).limit(1))
            owed = await s.scalar(select(func.count()).select_from(Alert).where(
                Alert.status.in_(ALERTS_OWED)))
        pairs = await self.reports.first_actions(since, now)
        return Figures(checkins={str(k): int(v) for k, v in by_status.items()},
                       checkins_due=due or 0,
                       open_reports={str(k): int(v) for k, v in by_urgency.items()},
                       oldest_open=oldest, alerts_owed=owed or 0, first_actions=pairs)


class FixedFigures:
    """A stand-in for the tests: shows the figures it is given."""

    def __init__(self, figures: Figures | None = None) -> None:
        self.figures = figures or Figures()

    async def read(self, now: dt.datetime, since: dt.datetime) -> Figures:
        return self.figures
