"""The one clock: what "now" is, for the product and for tests and the demo.

Everything that needs the time takes a `Clock` (any callable returning an aware UTC datetime).
Production passes `utcnow`; tests and the terminal demo pass a `ManualClock`, which only moves
when told to. Nothing else defines a clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


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

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta | None = None, /, **parts: float) -> dt.datetime:
        """Move forward by `delta` or by timedelta keyword parts (minutes=5); the new time."""
        self.now += (delta or dt.timedelta()) + dt.timedelta(**parts)
        return self.now


__all__ = ["Clock", "ManualClock", "utcnow"]
