"""`Passes` (scheduler/passes.py): `next()` returns only after a pass that began after the call
has ended, and `next(now=True)` asks a sender that can be woken for that pass at once; one
asked for while a pass runs begins after it (the running one began too early to count)."""

from __future__ import annotations

import asyncio
import contextlib

from scheduler.passes import Passes


class Sender:
    """A sender that makes a pass whenever it is woken (and only then), each pass held open
    until the test lets it end; `started` gets each pass's number as it begins."""

    def __init__(self, passes: Passes) -> None:
        self.passes = passes
        self.woken = asyncio.Event()
        self.wakes = 0
        self.release = asyncio.Event()
        self.started: asyncio.Queue[int] = asyncio.Queue()

    def wake(self) -> None:
        self.wakes += 1
        self.woken.set()

    async def run(self) -> None:
        while True:
            await self.woken.wait()
            self.woken.clear()
            with self.passes.one():
                self.started.put_nowait(self.passes.begun)
                await self.release.wait()
                self.release.clear()

    async def begins(self) -> int:
        """The number of the next pass to begin (a bound on a hang: it begins at once)."""
        return await asyncio.wait_for(self.started.get(), 10)


async def test_next_now_wakes_an_idle_sender_and_returns_after_its_pass() -> None:
    passes = Passes()
    sender = Sender(passes)
    passes.wake_with(sender.wake)
    task = asyncio.create_task(sender.run())
    try:
        waiting = asyncio.create_task(passes.next(now=True))
        assert await sender.begins() == 1  # woken at once: no interval to wait out
        assert sender.wakes == 1 and not waiting.done()
        sender.release.set()
        await asyncio.wait_for(waiting, 10)
        assert (passes.begun, passes.ended) == (1, 1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_pass_asked_for_while_one_runs_begins_after_it() -> None:
    passes = Passes()
    sender = Sender(passes)
    passes.wake_with(sender.wake)
    task = asyncio.create_task(sender.run())
    try:
        sender.wake()
        assert await sender.begins() == 1  # a pass that began before the ask
        waiting = asyncio.create_task(passes.next(now=True))
        await asyncio.sleep(0)  # (the waiter has asked)
        assert sender.wakes == 1  # not woken while that pass runs ...
        sender.release.set()
        assert await sender.begins() == 2  # ... but as it ended
        assert sender.wakes == 2 and not waiting.done()  # the running pass did not count
        sender.release.set()
        await asyncio.wait_for(waiting, 10)
        assert (passes.begun, passes.ended) == (2, 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_next_now_without_a_way_to_wake_waits_for_the_senders_own_pass() -> None:
    passes = Passes()
    waiting = asyncio.create_task(passes.next(now=True))
    await asyncio.sleep(0)
    assert not waiting.done()
    with passes.one():  # the sender's pass on its own interval
        pass
    await asyncio.wait_for(waiting, 10)
