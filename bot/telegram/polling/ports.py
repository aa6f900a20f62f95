"""What the poll loop needs of its collaborators: the election (`PollGuard`), the record of
handled updates (`Seen`), the PTB application and bot (`PolledApp`, `PollingBot`), and the
clock and sleep it is given (so tests drive time by hand); and what the election and that
record keep in the database: the lease rows (`Leases`: storage/leader_lease.py `LeaseSql`, or
its twin `MemoryLeases`) and the handled updates (`HandledUpdates`: storage/handled_updates.py
`HandledSql`, or `MemoryHandled`), both built by the composition root (bot/compose.py
`Services.polling`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from telegram import Update

from storage.leader_lease import Lease

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class PollGuard(Protocol):
    """What the poller asks its election."""

    async def held(self) -> bool:
        """May this replica poll and handle now?"""
        ...

    def fresh(self) -> bool:
        """`held` without awaiting anything (no renewal): may it poll at this instant?"""
        ...

    async def step_down(self, reason: str) -> None:
        """Give leadership up: this replica cannot poll."""
        ...

    async def contested(self) -> bool:
        """Telegram ended a poll with 409 (another poller): may this replica poll on? Only
        when the lease is confirmed now, not from an earlier renewal."""
        ...


class Seen(Protocol):
    """The leader's record of handled updates (a `HandledLog`)."""

    async def skip(self, update_ids: list[int]) -> set[int]:
        """Which of `update_ids` an earlier leader already handled."""
        ...

    async def record(self, update_ids: list[int]) -> None:
        """`update_ids` are handled."""
        ...


class Leases(Protocol):
    """What the polling election needs from the lease table (bot/telegram/polling/lease.py)."""

    async def read(self, name: str) -> Lease:
        """The row (`storage.leader_lease.NO_LEASE` when there is none)."""
        ...

    async def take(self, name: str, holder: str, seen_beat: int, now: dt.datetime,
                   expires_at: dt.datetime) -> bool:
        """Become the holder if the row is still at `seen_beat` (True when taken)."""
        ...

    async def renew(self, name: str, holder: str, now: dt.datetime,
                    expires_at: dt.datetime) -> bool:
        """Renew if `holder` still holds the row (False: someone else took it)."""
        ...

    async def release(self, name: str, holder: str, now: dt.datetime) -> bool:
        """Let go of the row if `holder` holds it (a standby may take it at once)."""
        ...


class HandledUpdates(Protocol):
    """What the polling leader's record of handled updates (`HandledLog`) needs from the
    table."""

    async def handled(self, bot: str, update_ids: Sequence[int]) -> set[int]:
        """Which of `update_ids` were handled already."""
        ...

    async def record(self, bot: str, update_ids: Sequence[int], now: dt.datetime) -> None:
        """`update_ids` are handled (recording one twice is fine)."""
        ...

    async def purge(self, now: dt.datetime) -> int:
        """Forget updates handled more than `storage.handled_updates.KEEP` before `now`; how
        many were forgotten."""
        ...


class AlwaysLeader:
    """A `PollGuard` for a poller without an election (tests of the loop alone)."""

    async def held(self) -> bool:
        """Always."""
        return True

    def fresh(self) -> bool:
        """Always."""
        return True

    async def step_down(self, reason: str) -> None:
        """Nobody to hand over to."""

    async def contested(self) -> bool:
        """Nobody else can hold the lease: poll on."""
        return True



class PollingBot(Protocol):
    """The Bot API calls the poller makes (PTB's `ExtBot`)."""

    async def get_updates(self, *, offset: int | None = None, limit: int | None = None,
                          timeout: int | None = None,
                          allowed_updates: Sequence[str] | None = None) -> Sequence[Update]: ...

    async def delete_webhook(self, *, drop_pending_updates: bool | None = None) -> bool: ...


class UpdateRunner(Protocol):
    """Runs an update's handling in its turn (PTB's `BaseUpdateProcessor`)."""

    async def process_update(self, update: object, coroutine: Awaitable[Any], /) -> None: ...


class PolledApp(Protocol):
    """What the poller uses of the PTB `Application`."""

    @property
    def bot(self) -> PollingBot: ...

    @property
    def update_processor(self) -> UpdateRunner: ...

    def process_update(self, update: Update, /) -> Awaitable[None]: ...
