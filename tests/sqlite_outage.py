"""A SQLite database that goes away and comes back, without touching its file.

From `begin` to `end` every statement of the engine fails with the error SQLite gives for a
database file it cannot open, and the pool's connections are dropped at both ends (the bot
reconnects to the same file afterwards). The file stays where it is: moving it aside and back
under a running bot let a connection whose open straddled the swap pair an empty stand-in file
with the real file's write-ahead log, and its writes then corrupted the database ("database
disk image is malformed"), something no real outage does.

Dropping the connections (`AsyncEngine.dispose`) gives the engine a new pool; a connection in
use at that moment goes back to the old pool, which nothing closes: garbage collection did, in
some later test, from an aiosqlite worker thread that then called into that test's closed
event loop ("Event loop is closed"). `DroppedPools` keeps the old pools and closes them.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.util import greenlet_spawn


class DroppedPools:
    """Drops an engine's connections; `close` closes those that were in use then."""

    def __init__(self) -> None:
        self._pools: list[Pool] = []

    async def drop(self, engine: AsyncEngine) -> None:
        """Close the idle connections of `engine` and give it a new pool."""
        self._pools.append(engine.pool)
        await engine.dispose()

    async def close(self) -> None:
        """Close the connections that went back to the dropped pools (call once nothing uses
        them: after the bot stopped)."""
        while self._pools:
            await greenlet_spawn(self._pools.pop().dispose)


class SqliteOutage:
    """Refuses every statement of `engine` while down; `close` once the engine's users are
    done (its own pools the engine's `dispose` closes)."""

    def __init__(self) -> None:
        self.down = False
        self._listening: AsyncEngine | None = None
        self._dropped = DroppedPools()

    def _refuse(self, *_execution: object) -> None:
        if self.down:
            raise sqlite3.OperationalError("unable to open database file")

    async def begin(self, engine: AsyncEngine) -> None:
        if self._listening is not engine:
            event.listen(engine.sync_engine, "before_cursor_execute", self._refuse)
            self._listening = engine
        self.down = True
        await self._dropped.drop(engine)

    async def end(self, engine: AsyncEngine) -> None:
        self.down = False
        await self._dropped.drop(engine)

    async def close(self) -> None:
        await self._dropped.close()
