"""Bot sub-commands of the ``aftercare`` CLI: run, demo, start, patient invite, session add.

`register(subparsers)` is called by bot/cli/main.py. Settings come from
`bot.cli.settings.read_settings` (problems printed one per line, exit status 2).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bot.cli.texts import text

if TYPE_CHECKING:  # the handlers import what they use: `aftercare --help` loads no settings
    from bot.cli.parsing import SubCommands
    from bot.config import Settings

log = logging.getLogger(__name__)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN)."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    if not settings.token:
        print(text("config.problems"), file=sys.stderr)
        print(text("config.problem", problem=text("config.missing_token")), file=sys.stderr)
        return 2
    from bot.ops.logs import setup_logging
    from bot.ops.startup import StartupFailed, dispatcher_locked
    from scheduler.guard import DispatcherLockError

    setup_logging(settings.log_format, secrets=(settings.token,),
                  level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    try:
        asyncio.run(_serve_until_signalled(settings))
    except DispatcherLockError as exc:
        print(text("cannot_start", reason=dispatcher_locked(exc)), file=sys.stderr)
        return 1
    except StartupFailed as exc:
        print(text("cannot_start", reason=exc), file=sys.stderr)
        return 1
    return 0


async def _serve_until_signalled(settings: Settings) -> None:
    """Catch SIGINT/SIGTERM first, so a stop that arrives while the bot's modules still load
    ends in the same clean shutdown as one while it runs; then run the bot."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from bot.telegram.app import serve

    await serve(settings, stop)


def cmd_demo(args: argparse.Namespace) -> int:
    """The terminal chat (no token needed)."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    from bot.cli.demo import run_demo

    return asyncio.run(run_demo(settings))


def cmd_start(args: argparse.Namespace) -> int:
    """The bot when a token is configured, otherwise the terminal demo (`make run`)."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    if settings.token:
        return cmd_run(args)
    print(text("start.demo_instead"), file=sys.stderr)
    return cmd_demo(args)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(text("config.not_a_date", value=value)) from None


async def _bot_username(settings: Settings) -> str | None:
    if settings.bot_username:
        return settings.bot_username
    if not settings.token:
        return None
    from bot.telegram.bot_api import fetch_bot_username

    return await fetch_bot_username(settings.token, settings.bot_api_url)


async def _invite(settings: Settings, name: str, session_date: dt.date | None) -> int:
    from bot.compose import build_stores
    from bot.core.flows.staff_commands import invite_link
    from storage import Database

    username = await _bot_username(settings)
    if username is None:
        print(text("invite.no_username"), file=sys.stderr)
        return 2
    async with await Database.connect(settings.database_url) as db:
        invite = await build_stores(settings, db).invites.create(name, session_date,
                                                                 settings.invite_ttl)
    print(invite_link(username, invite.code))
    print(text("invite.made", name=name, expires=invite.expires_at), file=sys.stderr)
    return 0


def cmd_patient_invite(args: argparse.Namespace) -> int:
    """Create a patient record and print its one-time t.me invite link."""
    from bot.cli.settings import settings_with_date

    settings = settings_with_date("--session-date", args.session_date)
    if settings is None:
        return 2
    if not args.name.strip():
        print(text("invite.empty_name"), file=sys.stderr)
        return 2
    return asyncio.run(_invite(settings, args.name.strip(), args.session_date))


def cmd_session_add(args: argparse.Namespace) -> int:
    """Record a treatment session for a patient by Telegram id."""
    from bot.cli.sessions import add_session
    from bot.cli.settings import settings_with_date

    settings = settings_with_date("--date", args.date)
    if settings is None:
        return 2
    return asyncio.run(add_session(settings, args.telegram_id, args.date))


def register(subparsers: SubCommands) -> None:
    """Add the bot's sub-commands to the ``aftercare`` parser."""
    run = subparsers.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.set_defaults(handler=cmd_run)
    demo = subparsers.add_parser("demo", help="chat with the bot in the terminal (no token)")
    demo.set_defaults(handler=cmd_demo)
    start = subparsers.add_parser("start", help="run the bot if a token is set, else the demo")
    start.set_defaults(handler=cmd_start)

    patient = subparsers.add_parser("patient", help="patient records")
    patient_commands = patient.add_subparsers(dest="patient_command", required=True)
    invite = patient_commands.add_parser("invite", help="print a one-time invite link")
    invite.add_argument("--name", required=True, help="the patient's name")
    invite.add_argument("--session-date", type=_date, default=None,
                        help="treatment date YYYY-MM-DD (optional)")
    invite.set_defaults(handler=cmd_patient_invite)

    session = subparsers.add_parser("session", help="treatment sessions")
    session_commands = session.add_subparsers(dest="session_command", required=True)
    add = session_commands.add_parser("add", help="record a treatment for a patient")
    add.add_argument("--telegram-id", type=int, required=True, help="the patient's Telegram id")
    add.add_argument("--date", type=_date, default=None,
                     help="treatment date YYYY-MM-DD (default: today)")
    add.set_defaults(handler=cmd_session_add)
    from bot.cli.sessions import add_session_commands

    add_session_commands(session_commands, _date)

    from bot.cli.checkins import add_checkins_command

    add_checkins_command(subparsers)

    from bot.cli.staff import add_staff_commands

    add_staff_commands(subparsers)

    from bot.cli.desk import add_desk_command

    add_desk_command(subparsers)
