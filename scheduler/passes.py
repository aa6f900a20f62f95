"""`Passes`: how many full passes a background sender has made, and a way to wait for the next.

The alert sender (scheduler/alerts.py), the desk-outbox job (bot/telegram/desk_sender.py) and
the spool replayer (bot/telegram/spooling.py) each look for work again and again. Each holds a
`Passes` and counts a pass as it begins and as it ends, so whoever holds the sender (a probe,
a test) can wait for proof rather than for time: `next()` returns once a pass that began after
the call has ended, so anything that pass could have sent has been sent (for instance, no
second copy of a message that was already delivered). A sender that can be woken says how
(`wake_with`), and then `next(now=True)` asks for that pass at once instead of waiting for the
sender's next interval (the desk-outbox job wakes this way; the alert sender has its bell).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator


class Passes:
    """Counts the passes of one sender; `next()` waits for one that begins after the call."""

    def __init__(self) -> None:
        self.begun = 0
        self.ended = 0
        self._changed = asyncio.Event()
        self._wake: Callable[[], None] | None = None
        self._asked = False  # a pass was asked for while one ran: wake when it ends

    def wake_with(self, wake: Callable[[], None]) -> None:
        """How to start a pass now (`next(now=True)`): a callable that makes the sender begin
        one soon, not waiting for its interval."""
        self._wake = wake

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        """Count one pass: begun now, ended when the block is left (also on an error)."""
        self.begun += 1
        try:
            yield
        finally:
            self.ended += 1
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()
            if self._asked and self._wake is not None:
                self._asked = False
                self._wake()

    def ask(self) -> None:
        """Have the sender begin a pass now (or, while one runs, as soon as it ends); nothing
        for a sender that cannot be woken (its passes come on its interval)."""
        if self._wake is None:
            return
        if self.begun > self.ended:  # one runs: a pass asked for now must begin after it
            self._asked = True
        else:
            self._wake()

    async def next(self, *, now: bool = False) -> None:
        """Until a pass that begins after this call has ended (passes run one at a time);
        `now`: that pass is asked for at once (`ask`) rather than left to the interval."""
        target = self.begun + 1
        if now:
            self.ask()
        while self.ended < target:
            changed = self._changed
            await changed.wait()
