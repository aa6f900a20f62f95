"""How every ``aftercare`` sub-command reads its configuration: `read_settings()`.

It is the CLI's one reader of `bot.config.Settings` (environment variables and the ``.env``
file of the current folder). Configuration problems are printed one per line to stderr and
the command exits with status 2; the bot token is never printed.
"""

from __future__ import annotations

import datetime as dt
import sys

from bot.cli.texts import text
from bot.config import ConfigError, Settings, load_settings
from bot.core.dates import DateProblem, check_session_date
from scheduler.days import local_today
from storage.clock import utcnow


def read_settings() -> Settings | None:
    """Validated settings, or None after printing every problem to stderr."""
    try:
        return load_settings()
    except ConfigError as exc:
        print(text("config.problems"), file=sys.stderr)
        for problem in exc.problems:
            print(text("config.problem", problem=problem), file=sys.stderr)
        return None


def settings_with_date(flag: str, value: dt.date | None) -> Settings | None:
    """Validated settings when `value` (given as `flag`) can be a treatment date; None after
    printing what is wrong."""
    settings = read_settings()
    if settings is None:
        return None
    problem = checked_date(settings, value)
    if problem:
        print(text("config.flag", flag=flag, problem=problem), file=sys.stderr)
        return None
    return settings


def checked_date(settings: Settings, value: dt.date | None) -> str | None:
    """An error message when `value` can't be a treatment date (future, over a year ago)."""
    if value is None:
        return None
    today = local_today(utcnow(), settings.tz)
    problem = check_session_date(value, today)
    if problem is DateProblem.FUTURE:
        return text("config.future_date", date=value.isoformat())
    if problem is DateProblem.TOO_OLD:
        return text("config.old_date", date=value.isoformat())
    return None
