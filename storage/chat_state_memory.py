"""In-memory twin of `storage.chat_state.ChatStateStore`, for fast tests.

`MemoryChatStateStore` keeps users' short-lived states in the `MemoryTables`
(storage/memory_tables.py) the other twins share (the patients' twin erases a user's states,
the per-message read's twin reads them). A payload is kept as the same JSON text the database
holds, so what comes back is what a round trip through the table gives (tuples come back as
lists, keys as strings); a state past its expiry counts as absent everywhere and
`purge_expired` deletes it. tests/test_chat_state_conformance.py runs the same tests against
both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from storage.chat_state import Payload, StateKind, StoredState, decode, encode
from storage.clock import Clock, utcnow
from storage.memory_tables import MemoryTables, StateRow, utc


class MemoryChatStateStore:
    """Users' short-lived states in memory (the interface of `ChatStateStore`)."""

    def __init__(self, tables: MemoryTables | None = None, clock: Clock = utcnow) -> None:
        self.tables = tables if tables is not None else MemoryTables()
        self.clock = clock

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return utc(now if now is not None else self.clock())

    async def get(self, telegram_id: int, kind: StateKind,
                  now: dt.datetime | None = None) -> Payload | None:
        """The user's unexpired state of this kind, or None."""
        found = (await self.get_many(telegram_id, (kind,), now)).get(StateKind(kind).value)
        return found.payload if found is not None else None

    async def get_many(self, telegram_id: int, kinds: Iterable[StateKind],
                       now: dt.datetime | None = None) -> dict[str, StoredState]:
        """kind -> the user's unexpired states of these kinds."""
        now = self._now(now)
        found: dict[str, StoredState] = {}
        for kind in {StateKind(k).value for k in kinds}:
            row = self.tables.states.get((telegram_id, kind))
            payload = decode(row.payload) if row is not None and row.expires_at > now else None
            if row is not None and payload is not None:
                found[kind] = StoredState(payload, row.expires_at)
        return found

    async def all_of_kind(self, kind: StateKind,
                          now: dt.datetime | None = None) -> dict[int, Payload]:
        """telegram id -> payload of every unexpired state of this kind."""
        now, kind = self._now(now), StateKind(kind)
        found = {tid: decode(row.payload) for (tid, k), row in self.tables.states.items()
                 if k == kind.value and row.expires_at > now}
        return {tid: payload for tid, payload in found.items() if payload is not None}

    async def put(self, telegram_id: int, kind: StateKind, payload: Mapping[str, Any],
                  ttl: dt.timedelta, now: dt.datetime | None = None) -> None:
        """Store (replace) the user's state of this kind; it expires `ttl` from now."""
        now = self._now(now)
        self.tables.states[(telegram_id, StateKind(kind).value)] = StateRow(
            encode(payload), now + ttl, now)

    async def clear(self, telegram_id: int, kind: StateKind | None = None) -> bool:
        """Forget the user's state of this kind (every kind when None); True if one existed."""
        keys = [k for k in self.tables.states
                if k[0] == telegram_id and (kind is None or k[1] == StateKind(kind).value)]
        for key in keys:
            del self.tables.states[key]
        return bool(keys)

    async def purge_expired(self, now: dt.datetime | None = None) -> int:
        """Delete every expired state; returns how many."""
        now = self._now(now)
        keys = [k for k, row in self.tables.states.items() if row.expires_at <= now]
        for key in keys:
            del self.tables.states[key]
        return len(keys)


__all__ = ["MemoryChatStateStore"]
