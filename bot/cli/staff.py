"""Staff sub-commands of the ``aftercare`` CLI: ``gaps`` and ``export``.

``aftercare gaps`` prints the questions the bot could not answer, grouped by similarity (the
same text as /gaps in the staff chat). ``aftercare export --from DATE --to DATE [--out FILE]``
writes the reports raised on those days (clinic time zone, both days included) and every
action taken on them as CSV, to FILE or standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.texts import text

if TYPE_CHECKING:  # imported where used: registering the commands loads no settings
    from bot.cli.parsing import SubCommands
    from bot.config import Settings


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(text("config.not_a_date", value=value)) from None


def day_bounds(first: dt.date, last: dt.date, settings: Settings) -> tuple[dt.datetime,
                                                                          dt.datetime]:
    """[start of `first`, start of the day after `last`) in the clinic's zone, as UTC."""
    start = dt.datetime.combine(first, dt.time(0), settings.tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), settings.tz)
    return start, end.astimezone(dt.UTC)


async def gaps_report(settings: Settings) -> str:
    """The grouped unanswered questions as plain text."""
    from bot.compose import build_stores
    from bot.core.desk import format_gaps, gaps
    from bot.core.messages import PACKAGED_MESSAGES
    from knowledge.catalogue import Catalogue
    from storage import Database

    texts = Catalogue.load(settings.messages_path or PACKAGED_MESSAGES)
    async with await Database.connect(settings.database_url) as db:
        return format_gaps(await gaps(build_stores(settings, db).reports), texts)


async def export_report(settings: Settings, first: dt.date, last: dt.date) -> str:
    """Reports of [first, last] and their actions as CSV text."""
    from bot.compose import build_stores
    from bot.core.desk import export_csv
    from storage import Database

    start, end = day_bounds(first, last, settings)
    async with await Database.connect(settings.database_url) as db:
        return export_csv(await build_stores(settings, db).reports.export(start, end))


def cmd_gaps(args: argparse.Namespace) -> int:
    """Print the unanswered questions, grouped."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    print(asyncio.run(gaps_report(settings)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write reports and their actions as CSV."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    if args.date_from > args.date_to:
        print(text("export.bad_range"), file=sys.stderr)
        return 2
    csv = asyncio.run(export_report(settings, args.date_from, args.date_to))
    if args.out:
        write_private(Path(args.out), csv)
        rows = max(0, csv.count("\n") - 1)
        print(text("export.wrote", rows=rows, path=args.out), file=sys.stderr)
    else:
        sys.stdout.write(csv)
    return 0


def add_staff_commands(subparsers: SubCommands) -> None:
    """Register ``gaps`` and ``export`` on the ``aftercare`` parser."""
    gaps = subparsers.add_parser("gaps", help="questions the bot could not answer, grouped")
    gaps.set_defaults(handler=cmd_gaps)
    export = subparsers.add_parser("export", help="reports and their actions as CSV")
    export.add_argument("--from", dest="date_from", type=_date, required=True,
                        help="first day YYYY-MM-DD (clinic time zone)")
    export.add_argument("--to", dest="date_to", type=_date, required=True,
                        help="last day YYYY-MM-DD (included)")
    export.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    export.set_defaults(handler=cmd_export)


def write_private(path: Path, text: str) -> None:
    """Write the export readable by its owner only (0600): it holds patients' words."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
