"""``aftercare session add / list / move / cancel``: staff record and correct treatment sessions.

Moving a session re-plans its open check-ins for the new date; cancelling it cancels them
(scheduler/manager.py).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.cli.texts import text
from scheduler.days import local_today, recovery_day
from storage.clock import utcnow

if TYPE_CHECKING:  # imported where used: registering the commands loads no settings
    from bot.cli.parsing import DateType, SubCommands
    from bot.compose import CheckinParts
    from bot.config import Settings
    from storage import Database


def add_session_commands(session_commands: SubCommands, date_type: DateType) -> None:
    """Register list, move and cancel under ``aftercare session``."""
    listing = session_commands.add_parser("list", help="a patient's sessions with their ids")
    listing.add_argument("--telegram-id", type=int, required=True)
    listing.set_defaults(handler=cmd_session_list)
    move = session_commands.add_parser("move", help="correct a session's date (check-ins follow)")
    move.add_argument("session_id", type=int)
    move.add_argument("--date", type=date_type, required=True, help="YYYY-MM-DD")
    move.set_defaults(handler=cmd_session_move)
    cancel = session_commands.add_parser("cancel", help="cancel a session and its check-ins")
    cancel.add_argument("session_id", type=int)
    cancel.set_defaults(handler=cmd_session_cancel)


def _run(args: argparse.Namespace,
         action: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]) -> int:
    from bot.cli.settings import settings_with_date

    settings = settings_with_date("--date", getattr(args, "date", None))
    if settings is None:
        return 2
    return asyncio.run(action(settings, args))


def cmd_session_list(args: argparse.Namespace) -> int:
    return _run(args, _list)


def cmd_session_move(args: argparse.Namespace) -> int:
    return _run(args, _move)


def cmd_session_cancel(args: argparse.Namespace) -> int:
    return _run(args, _cancel)


async def add_session(settings: Settings, telegram_id: int, day: dt.date | None) -> int:
    """`aftercare session add`: record a staff-logged session and plan its check-ins."""
    from storage import SessionSource

    async with _ManagerScope(settings) as parts:
        patient = await parts.patients.get(telegram_id)
        if patient is None:
            print(text("sessions.no_patient_yet", telegram_id=telegram_id), file=sys.stderr)
            return 1
        now = utcnow()
        chosen = day or local_today(now, settings.tz)
        session = await parts.treatments.add(chosen, SessionSource.STAFF,
                                             telegram_id=telegram_id)
        scheduled = await parts.checkins.manager.schedule_session(session.id)
        print(text("sessions.scheduled", count=scheduled))
    print(text("sessions.recorded", date=chosen.isoformat(),
               name=patient.name or text("sessions.the_patient"), telegram_id=telegram_id,
               day=recovery_day(chosen, now, settings.tz)))
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.compose import build_stores
    from storage import Database

    async with await Database.connect(settings.database_url) as db:  # reads only: no plan
        stores = build_stores(settings, db)
        patient = await stores.patients.get(args.telegram_id)
        if patient is None:
            print(text("patients.unknown", telegram_id=args.telegram_id), file=sys.stderr)
            return 1
        sessions = await stores.treatments.of_patient(patient.id)
    print(text("sessions.heading", name=patient.name or text("sessions.a_patient"),
               telegram_id=args.telegram_id))
    for session in sessions:
        state = text("sessions.cancelled_mark") if session.cancelled_at else ""
        print(text("sessions.line", id=session.id, date=session.session_date.isoformat(),
                   state=state))
    if not sessions:
        print(text("sessions.none"))
    return 0


async def _move(settings: Settings, args: argparse.Namespace) -> int:
    async with _ManagerScope(settings) as parts:
        try:
            moved = await parts.checkins.manager.move_session(args.session_id, args.date)
        except LookupError:
            print(text("sessions.no_open", id=args.session_id), file=sys.stderr)
            return 1
    print(text("sessions.moved", id=args.session_id, date=args.date.isoformat(), count=moved))
    return 0


async def _cancel(settings: Settings, args: argparse.Namespace) -> int:
    async with _ManagerScope(settings) as parts:
        known = await parts.treatments.get(args.session_id)
        if known is None:
            print(text("sessions.unknown", id=args.session_id), file=sys.stderr)
            return 1
        cancelled = await parts.checkins.manager.cancel_session(args.session_id)
    print(text("sessions.cancelled", id=args.session_id, count=cancelled))
    return 0


class _ManagerScope:
    """The database and the check-in side of the services (bot/compose.py `build_checkins`)
    for one command: yields the patient and session stores and the check-in service."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db: Database | None = None

    async def __aenter__(self) -> CheckinParts:
        from bot.compose import build_checkins
        from storage import Database

        self.db = await Database.connect(self.settings.database_url)
        return build_checkins(self.settings, self.db, None, clock=utcnow)

    async def __aexit__(self, *_: object) -> None:
        if self.db is not None:
            await self.db.close()
