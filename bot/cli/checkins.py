"""``aftercare checkins``: list upcoming, sent, failed and expired check-ins for staff."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import TYPE_CHECKING

from bot.cli.texts import catalogue, text
from storage.states import CheckinStatus

if TYPE_CHECKING:  # imported where used: registering the command loads no settings
    from bot.cli.parsing import SubCommands
    from bot.config import Settings


def _when(value: str) -> dt.datetime:
    """ISO date or date-time; naive values are UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(text("config.not_a_moment", value=value)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def add_checkins_command(commands: SubCommands) -> argparse.ArgumentParser:
    """Register the ``checkins`` sub-command on an argparse sub-parsers object."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "checkins", help="list scheduled check-ins (staff)")
    parser.add_argument("--status", action="append", choices=[s.value for s in CheckinStatus],
                        help="only this status (repeatable)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--telegram-id", type=int,
                     help="only this patient, by Telegram user id (as `aftercare session` takes)")
    who.add_argument("--patient", type=int, help="only this patient, by internal patient id")
    parser.add_argument("--due-before", type=_when, help="only due before this time (UTC)")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--database-url", default=None,
                        help="default: AFTERCARE_DATABASE_URL or sqlite aftercare.db")
    parser.set_defaults(handler=cmd_checkins)
    return parser


def cmd_checkins(args: argparse.Namespace) -> int:
    """Print the matching check-ins, one per line, then counts per status."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    try:
        lines = asyncio.run(_lines(settings, args.database_url or settings.database_url, args))
    except LookupError as missing:
        print(missing.args[0], file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


async def _lines(settings: Settings, url: str, args: argparse.Namespace) -> list[str]:
    from bot.compose import build_checkins
    from storage.db import Database

    async with await Database.connect(url) as db:
        parts = build_checkins(settings, db)
        manager = parts.checkins.manager
        patient_id = args.patient
        if args.telegram_id is not None:
            patient = await parts.patients.get(args.telegram_id)
            if patient is None:
                raise LookupError(text("patients.unknown", telegram_id=args.telegram_id))
            patient_id = patient.id
        filters = {"statuses": args.status or (), "patient_id": patient_id,
                   "due_before": args.due_before}
        rows = await manager.list(**filters, limit=args.limit)
        counts = await manager.counts(**filters)
    lines = [text("checkins.row", **catalogue().raw("checkins.columns"))]
    for c in rows:
        who = (c.patient_name or text("checkins.patient_id", id=c.patient_id))[:20]
        detail = (c.answer and text("checkins.answer", answer=c.answer) or c.paused_reason
                  or c.last_error or "")
        lines.append(text("checkins.row", id=c.id, patient=who, step=c.step,
                          due=f"{c.due_at:%Y-%m-%d %H:%M}", status=c.status, detail=detail))
    shown = (", ".join(text("checkins.count", status=k, count=v) for k, v in counts.items() if v)
             or text("checkins.no_counts"))
    filtered = args.status or patient_id is not None or args.due_before is not None
    lines.append(text("checkins.totals_filtered" if filtered else "checkins.totals",
                      counts=shown))
    return lines
