"""The 429 pause and back-off both outbox senders share (scheduler/sending.py)."""

from __future__ import annotations

import datetime as dt

from scheduler.sending import SendPause, backoff
from storage.clock import ManualClock

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Store:
    def __init__(self) -> None:
        self.stored: dt.datetime | None = None

    async def until(self) -> dt.datetime | None:
        return self.stored

    async def extend(self, until: dt.datetime, now: dt.datetime) -> None:
        self.stored = max(self.stored or until, until)


def test_backoff_doubles_up_to_its_cap() -> None:
    base, cap = dt.timedelta(seconds=2), dt.timedelta(seconds=10)
    assert [backoff(n, base, cap).total_seconds() for n in range(6)] == [2, 2, 4, 8, 10, 10]


async def test_a_pause_is_held_here_and_adopted_by_the_other_sender() -> None:
    clock, store = ManualClock(START), Store()
    checkins = SendPause(store, clock, clock.monotonic)
    alerts = SendPause(store, clock, clock.monotonic)
    assert checkins.hold(30) and not checkins.hold(10)  # a shorter 429 does not shorten it
    await checkins.share(30)
    await alerts.sync()
    assert alerts.left == checkins.left == 30
    clock.advance(seconds=31)
    await alerts.sync()
    assert alerts.left == checkins.left == 0
