"""The Telegram 429 pause shared by every replica through the database (table ``send_pause``).

Telegram's flood limit is per bot token, so when one replica is told to wait, all must.
`SharedPause.until()` reads the pause; `SharedPause.extend(until)` moves it later (never
earlier). The dispatcher reads it before each claim and writes it on a 429.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import SendPause
from storage.results import affected

log = logging.getLogger(__name__)
ROW = 1


class SharedPause:
    """Read and extend the one ``send_pause`` row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def until(self) -> dt.datetime | None:
        """When sending may resume (None or a past time: now)."""
        async with self.sessions() as s:
            return await s.scalar(select(SendPause.paused_until).where(SendPause.id == ROW))

    async def extend(self, until: dt.datetime, now: dt.datetime) -> None:
        """Pause every replica until `until`, unless a later pause is already set."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                update(SendPause).where(SendPause.id == ROW, or_(
                    SendPause.paused_until.is_(None), SendPause.paused_until < until))
                .values(paused_until=until, updated_at=now))
            if affected(result):
                return
            exists = await s.scalar(select(SendPause.id).where(SendPause.id == ROW))
            if exists is None:  # the row was deleted by hand: put it back
                await s.execute(insert(SendPause).values(id=ROW, paused_until=until,
                                                         updated_at=now))
        log.debug("shared pause until %s", until.isoformat())
