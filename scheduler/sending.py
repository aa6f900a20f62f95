"""What both outbox senders share (the check-in dispatcher, scheduler/dispatcher.py, and the
alert sender, scheduler/alerts.py): the Telegram 429 pause and the retry back-off.

`SendPause` is one sender's pause, on a monotonic clock: a 429's ``retry_after`` holds every
send of this process, and is written to the `SharedPauseStore` (scheduler/pause.py, one row in
the database) so that other replicas, and the other sender of this process, hold too; `sync`
adopts a pause somebody else stored. `backoff` is the delay before a failed row is tried again.
The claims and leases themselves are storage/leases.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol

from storage.clock import Clock, utcnow


class SharedPauseStore(Protocol):
    """A 429 pause shared by replicas (scheduler/pause.py `SharedPause`)."""

    async def until(self) -> dt.datetime | None: ...

    async def extend(self, until: dt.datetime, now: dt.datetime) -> None: ...


def backoff(attempts: int, base: dt.timedelta, cap: dt.timedelta) -> dt.timedelta:
    """The wait before attempt ``attempts + 1``: `base` doubled per attempt, at most `cap`."""
    return min(base * (1 << max(0, attempts - 1)), cap)


class SendPause:
    """A sender's 429 pause, kept on `monotonic` and shared through `shared` (if any)."""

    def __init__(self, shared: SharedPauseStore | None = None, clock: Clock = utcnow,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.shared = shared
        self.clock = clock
        self.monotonic = monotonic
        self.until = 0.0  # monotonic time sending may resume

    @property
    def left(self) -> float:
        """Seconds left of the pause (0 when sending is allowed)."""
        return max(0.0, self.until - self.monotonic())

    async def sync(self) -> None:
        """Adopt a pause another sender or replica stored in the database."""
        if self.shared is None:
            return
        until = await self.shared.until()
        if until is not None:
            left = (until - self.clock()).total_seconds()
            self.until = max(self.until, self.monotonic() + left)

    def hold(self, seconds: float) -> bool:
        """Pause this process for `seconds` from now; True when that moved the end later."""
        until = self.monotonic() + seconds
        if until <= self.until:
            return False
        self.until = until
        return True

    async def share(self, seconds: float) -> None:
        """Tell the other senders (replicas) to pause for `seconds` too."""
        if self.shared is not None:
            now = self.clock()
            await self.shared.extend(now + dt.timedelta(seconds=seconds), now)

    def clear(self) -> None:
        """End this process's pause now (the shared one is left to run out)."""
        self.until = 0.0


__all__ = ["SendPause", "SharedPauseStore", "backoff"]
