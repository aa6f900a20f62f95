"""In-memory twin of `storage.desk_logins.DeskLoginStore` (web desk sign-ins already used),
for fast tests.

`MemoryDeskLoginStore` remembers used payload hashes (cut to 64 characters, as the column)
with the same rules: a payload is accepted once, and `purge` forgets those past their expiry.
It shares no rows with the other aggregates. tests/test_desk_logins_conformance.py runs the
same tests against both.
"""

from __future__ import annotations

import datetime as dt

from storage.memory_tables import utc


class MemoryDeskLoginStore:
    """Used login payloads in memory (the interface of `DeskLoginStore`)."""

    def __init__(self) -> None:
        self.used: dict[str, tuple[int, dt.datetime, dt.datetime]] = {}  # hash -> (user, ...)

    async def use(self, payload_hash: str, telegram_id: int, now: dt.datetime,
                  expires_at: dt.datetime) -> bool:
        """Record the payload as used; False when it was used before (a replay)."""
        key = payload_hash[:64]
        if key in self.used:
            return False
        self.used[key] = (telegram_id, utc(now), utc(expires_at))
        return True

    async def purge(self, now: dt.datetime) -> int:
        """Forget payloads that are too old to be accepted anyway."""
        old = [k for k, (_, _, expires_at) in self.used.items() if expires_at < now]
        for key in old:
            del self.used[key]
        return len(old)


__all__ = ["MemoryDeskLoginStore"]
