"""A SQLite database that goes away and comes back, without touching its file.

From `begin` to `end` every statement of the engine fails with the error SQLite gives for a
database file it cannot open, and the pool's connections are dropped at both ends (the bot
reconnects to the same file afterwards). The file stays where it is: moving it aside and back
under a running bot let a connection whose open straddled the swap pair an empty stand-in file
with the real file's write-ahead log, and its writes then corrupted the database ("database
disk image is malformed"), something no real outage does.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class SqliteOutage:
    """Refuses every statement of `engine` while down."""

    def __init__(self) -> None:
        self.down = False
        self._listening: AsyncEngine | None = None

    def _refuse(self, *_execution: object) -> None:
        if self.down:
            raise sqlite3.OperationalError("unable to open database file")

    async def begin(self, engine: AsyncEngine) -> None:
        if self._listening is not engine:
            event.listen(engine.sync_engine, "before_cursor_execute", self._refuse)
            self._listening = engine
        self.down = True
        await engine.dispose()

    async def end(self, engine: AsyncEngine) -> None:
        self.down = False
        await engine.dispose()
