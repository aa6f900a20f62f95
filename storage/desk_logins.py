"""Sign-ins to the web desk that were already used: a Telegram Login Widget payload works once.

The only writer of ``desk_logins``. A row lives until the payload would be refused as too old
anyway (`expires_at`), then `purge` may delete it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import DeskLogin
from storage.results import affected


class DeskLoginStore:
    """Remembers used login payloads (by their hash)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def use(self, payload_hash: str, telegram_id: int, now: dt.datetime,
                  expires_at: dt.datetime) -> bool:
        """Record the payload as used; False when it was used before (a replay)."""
        try:
            async with self.sessions.begin() as s:
                s.add(DeskLogin(hash=payload_hash[:64], telegram_id=telegram_id, used_at=now,
                                expires_at=expires_at))
        except IntegrityError:
            return False
        return True

    async def purge(self, now: dt.datetime) -> int:
        """Forget payloads that are too old to be accepted anyway."""
        async with self.sessions.begin() as s:
            result = await s.execute(delete(DeskLogin).where(DeskLogin.expires_at < now))
            return affected(result)
