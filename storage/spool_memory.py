"""The in-memory twin of the report spool (storage/spool.py `ReportSpool`): the entries kept
while the database is down, in a list instead of a local file, for the memory backend
(bot/backends.py) and fast tests. The same entries, order, once-per-(kind, update id) rule
and replay (in order, each removed as soon as it is stored, an entry kept by `store` tried
again after the others, one taken with another not stored, stop at the first failure) as
the file, proven by tests/test_spool_conformance.py. One process holds it: a second replay
waits for the first instead of skipping its round as another process would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from storage.spool import Spooled, once_each, store_each


class MemorySpool:
    """`Spool` (bot/core/ports.py) in memory."""

    def __init__(self) -> None:
        self.entries: list[Spooled] = []  # as appended (an update kept twice: twice)
        self._lock = asyncio.Lock()
        self._taken: set[tuple[str, int]] = set()

    @property
    def location(self) -> str:
        """Where the entries are kept (for the log)."""
        return "memory"

    def __len__(self) -> int:
        return len(self.pending())

    def append(self, item: Spooled) -> None:
        self.entries.append(item)

    def pending(self) -> list[Spooled]:
        return once_each(self.entries)

    async def replay(self, store: Callable[[Spooled], Awaitable[object]],
                     order: Callable[[list[Spooled]], list[Spooled]] | None = None) -> int:
        async with self._lock:
            done: set[tuple[str, int]] = set()
            items = self.pending()
            self._taken = set()
            try:
                kept = await store_each(order(items) if order is not None else items, store,
                                        done, self._taken, self._drop)
                await store_each(kept, store, done, self._taken, self._drop)
            finally:
                done |= self._taken
                self._taken = set()
            return len(done)

    def remove(self, items: Iterable[Spooled]) -> None:
        keys = {(item.entry, item.update_id) for item in items}
        if keys:
            self._taken |= keys
            self._drop(keys)

    def _drop(self, keys: set[tuple[str, int]]) -> None:
        self.entries = [e for e in self.entries if (e.entry, e.update_id) not in keys]
