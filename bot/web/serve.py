"""``aftercare desk``: serve the web desk with uvicorn (host and port from `Settings`).

With ``--demo`` it first fills a throwaway SQLite database (in a temporary folder, deleted
on exit) with fictitious patients (bot/web/demo.py) and offers a demo sign-in. Once it listens,
the advisor is warmed up in the background (bot/warmup.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import uvicorn

from bot.config import Settings
from bot.datafiles import check_templates, check_texts
from bot.warmup import warm_in_background
from bot.web.app import create_app, freeze_heap
from bot.web.services import DeskServices, build_desk_services
from storage import Database, utcnow

log = logging.getLogger(__name__)


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints `line` once it listens (its socket bound), so that
    whoever reads it (a person, a script, a test) can use the address at once, then calls
    `listening` (the advisor's warm-up, bot/warmup.py: started, not waited for)."""

    def __init__(self, config: uvicorn.Config, line: str,
                 listening: Callable[[], object] = lambda: None) -> None:
        super().__init__(config)
        self.line = line
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # (not when the address could not be bound: uvicorn exits)
            print(self.line, flush=True)
            self.listening()


async def _serve(services: DeskServices) -> None:
    """Serve the desk; say where (bot/web/texts.yaml "serve") once it listens."""
    settings = services.settings
    app = create_app(services)
    freeze_heap()  # loaded: full garbage collections no longer walk the loaded data
    config = uvicorn.Config(app, host=settings.desk_host, port=settings.desk_port,
                            log_level="warning", proxy_headers=True, access_log=False,
                            server_header=False)
    line = services.text("serve.listening_demo" if services.demo else "serve.listening",
                         url=f"http://{settings.desk_host}:{settings.desk_port}/")
    # the gaps page asks the advisor (bot/web/gaps.py): warmed up once listening
    warm = (lambda: warm_in_background(services.advisor)) if settings.warm_up else (lambda: None)
    await _AnnouncingServer(config, line, warm).serve()


async def serve_desk(settings: Settings) -> None:
    """The desk over the configured database (migrated first, like ``aftercare run``)."""
    from storage.advisory_locks import migration_lock

    async with migration_lock(settings.database_url):
        db = await Database.connect(settings.database_url)
    try:
        services = build_desk_services(settings, db)
        await _serve(services)
    finally:
        await db.close()


async def serve_demo(settings: Settings) -> None:
    """The desk over a throwaway database of fictitious patients, with a demo sign-in."""
    from bot.web.demo import DEMO_STAFF, DEMO_TOKEN, demo_settings, seed_demo
    from storage.clock import ManualClock

    with tempfile.TemporaryDirectory(prefix="aftercare-desk-demo-") as folder:
        settings = demo_settings(settings, f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}")
        db = await Database.connect(settings.database_url)
        try:
            end = utcnow()
            clock = ManualClock(end - dt.timedelta(days=16))
            seeding = build_desk_services(settings, db, clock=clock, demo=True,
                                          login_token=DEMO_TOKEN, demo_staff=DEMO_STAFF)
            print(seeding.text("serve.seeding"), flush=True)
            await seed_demo(seeding, clock, end)
            services = build_desk_services(settings, db, demo=True, login_token=DEMO_TOKEN,
                                           demo_staff=DEMO_STAFF,
                                           advisor=seeding.advisor)  # loaded once, not twice
            await _serve(services)
        finally:
            await db.close()


def run(settings: Settings, demo: bool = False) -> int:
    """Serve until Ctrl+C / SIGTERM; a broken text file or page template stops it first,
    with its file and line (before the database)."""
    check_texts(settings)
    check_templates()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_demo(settings) if demo else serve_desk(settings))
    return 0
