"""The one clock: what "now" is, for the product and for tests and the demo.

Everything that needs the time takes a `Clock` (any callable returning an aware UTC datetime).
Production passes `utcnow`; tests and the terminal demo pass a `ManualClock`, which only moves
when told to. Pacing code (the check-in rate limiter, the 429 pause) also takes `monotonic`
and `sleep` callables: production uses `time.monotonic` and `asyncio.sleep`, tests pass a
`ManualClock`'s, whose `sleep` returns when the clock has been moved on (`advance`, `drive`),
so no test waits for or measures the wall clock. Nothing else defines a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Returns the current time as an aware UTC datetime."""

    def __call__(self) -> dt.datetime: ...


def utcnow() -> dt.datetime:
    """The system clock: current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until moved (tests, the demo's /advance)."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        start = now if now is not None else utcnow()
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"naive datetime {start!r}: a clock gives aware UTC times")
        self.now = start
        self._origin = start
        self._sleepers: list[tuple[dt.datetime, asyncio.Future[None]]] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta | None = None, /, **parts: float) -> dt.datetime:
        """Move forward by `delta` or by timedelta keyword parts (minutes=5); the new time.
        Sleepers whose time has come wake up."""
        self.now += (delta or dt.timedelta()) + dt.timedelta(**parts)
        for deadline, future in self._sleepers:
            if deadline <= self.now and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        return self.now

    @contextlib.contextmanager
    def at(self, moment: dt.datetime) -> Iterator[dt.datetime]:
        """Read `moment` (earlier or later) inside the block, then what it read before;
        sleepers are not woken (the desk demo replays an event at its own time)."""
        saved, self.now = self.now, moment
        try:
            yield moment
        finally:
            self.now = saved

    def monotonic(self) -> float:
        """Seconds this clock has moved since it was made (``monotonic=`` of pacing code);
        exact to the microsecond, like the datetimes."""
        return (self.now - self._origin).total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been moved `seconds` on (``sleep=`` of pacing code)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + dt.timedelta(seconds=seconds), future))
        await future

    async def drive(self, work: Awaitable[T]) -> T:
        """Run `work`; whenever everything waits on this clock, move it to the next sleeper's
        time. Virtual time passes only while nothing can run, so a run is exact and instant."""
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(5):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if task.done():
                break
            waiting = [d for d, f in self._sleepers if not f.done()]
            if waiting:
                self.advance(max(min(waiting) - self.now, dt.timedelta()))
            else:  # waiting on something real (a socket): give it a moment
                await asyncio.sleep(0.001)
        return task.result()


__all__ = ["Clock", "ManualClock", "utcnow"]
