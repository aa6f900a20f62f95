"""The in-memory twin of the record of handled updates (storage/handled_updates.py
`HandledSql`): what the memory backend's polling leader keeps, and what the leader's unit tests
drive. Proven equal to the SQL table by tests/test_polling_rows_conformance.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage.handled_updates import KEEP


class MemoryHandled:
    """In-memory twin of `HandledSql`. `fail` makes every call raise it (an outage)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], dt.datetime] = {}
        self.fail: Exception | None = None

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    async def handled(self, bot: str, update_ids: Sequence[int]) -> set[int]:
        self._check()
        return {i for i in update_ids if (bot, i) in self.rows}

    async def record(self, bot: str, update_ids: Sequence[int], now: dt.datetime) -> None:
        self._check()
        for update_id in update_ids:
            self.rows.setdefault((bot, update_id), now)

    async def purge(self, now: dt.datetime) -> int:
        self._check()
        old = [key for key, at in self.rows.items() if at < now - KEEP]
        for key in old:
            del self.rows[key]
        return len(old)
