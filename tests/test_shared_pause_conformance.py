"""The shared 429 pause on SQLite, PostgreSQL and in memory: the same tests, each way
(`SharedPause`, scheduler/pause.py, one ``send_pause`` row; `MemorySharedPause`,
scheduler/memory.py).

What the senders rely on (scheduler/sending.py `SendPause`): no pause until one is stored, a
pause only ever moves later, and a pause one sender shares is adopted by every other sender
over the same store (the alert sender, the check-in dispatcher, another replica).
"""

from __future__ import annotations

import datetime as dt

from scheduler.sending import SendPause
from tests.twins import NOW, Backend

MINUTE = dt.timedelta(minutes=1)


async def test_there_is_no_pause_until_one_is_stored(backend: Backend) -> None:
    assert await backend.pause.until() is None


async def test_a_pause_moves_later_never_earlier(backend: Backend) -> None:
    await backend.pause.extend(NOW + 2 * MINUTE, NOW)
    assert await backend.pause.until() == NOW + 2 * MINUTE
    await backend.pause.extend(NOW + MINUTE, NOW)  # an earlier end is ignored
    assert await backend.pause.until() == NOW + 2 * MINUTE
    await backend.pause.extend(NOW + 2 * MINUTE, NOW)  # the same end changes nothing
    assert await backend.pause.until() == NOW + 2 * MINUTE
    await backend.pause.extend(NOW + 5 * MINUTE, NOW + MINUTE)
    assert await backend.pause.until() == NOW + 5 * MINUTE


async def test_times_come_back_in_utc(backend: Backend) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    await backend.pause.extend((NOW + MINUTE).astimezone(paris), NOW)
    until = await backend.pause.until()
    assert until == NOW + MINUTE and until is not None and until.utcoffset() == dt.timedelta(0)


async def test_a_pause_one_sender_shares_holds_the_others(backend: Backend) -> None:
    ticks = [100.0]
    told = SendPause(backend.pause, backend.clock, lambda: ticks[0])
    other = SendPause(backend.pause, backend.clock, lambda: ticks[0] + 50)  # its own clock
    assert told.hold(30) and other.left == 0
    await told.share(30)
    await other.sync()
    assert other.left == 30
    backend.clock.advance(seconds=10)  # the stored end is a wall time: less is left later
    late = SendPause(backend.pause, backend.clock, lambda: 0.0)
    await late.sync()
    assert late.left == 20
