"""``aftercare desk [--demo]``: the clinic desk on the web (bot/web/)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.parsing import SubCommands


def cmd_desk(args: argparse.Namespace) -> int:
    """Serve the web desk (or its demo)."""
    from bot.cli.settings import read_settings

    settings = read_settings()
    if settings is None:
        return 2
    if args.host:
        settings = settings.model_copy(update={"desk_host": args.host})
    if args.port:
        settings = settings.model_copy(update={"desk_port": args.port})
    from bot.web.serve import run

    return run(settings, demo=args.demo)


def add_desk_command(subparsers: SubCommands) -> None:
    """Register ``aftercare desk``."""
    desk = subparsers.add_parser("desk", help="the clinic desk on the web (queue, patients, "
                                              "knowledge gaps, figures)")
    desk.add_argument("--demo", action="store_true",
                      help="a throwaway database of fictitious patients and a demo sign-in")
    desk.add_argument("--host", default=None, help="listen here (default AFTERCARE_DESK_HOST, "
                                                   "127.0.0.1)")
    desk.add_argument("--port", type=int, default=None,
                      help="port (default AFTERCARE_DESK_PORT, 8090)")
    desk.set_defaults(handler=cmd_desk)
