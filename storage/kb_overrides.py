"""The clinic's knowledge-base overrides made on the web desk (``kb_overrides``) and their
version (``kb_override_version``): the only writer of both tables.

Every change bumps the version in the same transaction; each bot replica (and each desk
process) compares the version it loaded with the stored one every few seconds and reloads its
matcher when they differ, so an addition is answered from everywhere within seconds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import KBOverride, KBOverrideVersion
from storage.results import affected


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """One stored override."""

    id: int
    kind: str
    entry_id: str
    body: dict[str, Any]
    created_by: int | None
    created_at: dt.datetime


class KBOverrideStore:
    """Reads and writes the clinic's overrides."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def version(self) -> int:
        """The current version (0 before the first override)."""
        async with self.sessions() as s:
            return int(await s.scalar(select(KBOverrideVersion.version)
                                      .where(KBOverrideVersion.id == 1)) or 0)

    async def all(self) -> tuple[int, list[OverrideRow]]:
        """(version, every override in the order they were made), read together."""
        async with self.sessions() as s:
            version = int(await s.scalar(select(KBOverrideVersion.version)
                                         .where(KBOverrideVersion.id == 1)) or 0)
            rows = [OverrideRow(r.id, r.kind, r.entry_id, json.loads(r.body), r.created_by,
                                r.created_at)
                    for r in await s.scalars(select(KBOverride).order_by(KBOverride.id))]
        return version, rows

    async def _bump(self, s: AsyncSession, now: dt.datetime) -> None:
        row = await s.get(KBOverrideVersion, 1, with_for_update=True)
        if row is None:
            s.add(KBOverrideVersion(id=1, version=1, updated_at=now))
        else:
            row.version += 1
            row.updated_at = now

    async def add(self, kind: str, entry_id: str, body: dict[str, Any], created_by: int | None,
                  now: dt.datetime) -> int:
        """Store one override (already validated by the caller); its id."""
        async with self.sessions.begin() as s:
            row = KBOverride(kind=kind, entry_id=entry_id[:100],
                             body=json.dumps(body, ensure_ascii=False), created_by=created_by,
                             created_at=now)
            s.add(row)
            await self._bump(s, now)
            await s.flush()
            return row.id

    async def remove(self, override_id: int, now: dt.datetime) -> bool:
        """Delete one override; False when there was none with that id."""
        async with self.sessions.begin() as s:
            result = await s.execute(delete(KBOverride).where(KBOverride.id == override_id))
            if not affected(result):
                return False
            await self._bump(s, now)
            return True
