"""What the poll loop needs of its collaborators: the election (`PollGuard`), the record of
handled updates (`Seen`), the PTB application and bot (`PolledApp`, `PollingBot`), and the
clock and sleep it is given (so tests drive time by hand)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from telegram import Update

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class PollGuard(Protocol):
    """What the poller asks its election."""

    async def held(self) -> bool:
        """May this replica poll and handle now?"""
        ...

    async def step_down(self, reason: str) -> None:
        """Give leadership up: this replica cannot poll."""
        ...


class Seen(Protocol):
    """The leader's record of handled updates (a `HandledLog`)."""

    async def skip(self, update_ids: list[int]) -> set[int]:
        """Which of `update_ids` an earlier leader already handled."""
        ...

    async def record(self, update_ids: list[int]) -> None:
        """`update_ids` are handled."""
        ...


class AlwaysLeader:
    """A `PollGuard` for a poller without an election (tests of the loop alone)."""

    async def held(self) -> bool:
        """Always."""
        return True

    async def step_down(self, reason: str) -> None:
        """Nobody to hand over to."""



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
