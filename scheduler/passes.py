"""`Passes`: how many full passes a background sender has made, and a way to wait for the next.

The alert sender (scheduler/alerts.py), the desk-outbox job (bot/telegram/desk_sender.py) and
the spool replayer (bot/telegram/spooling.py) each look for work again and again. Each holds a
`Passes` and counts a pass as it begins and as it ends, so whoever holds the sender (a probe,
a test) can wait for proof rather than for time: `next()` returns once a pass that began after
the call has ended, so anything that pass could have sent has been sent (for instance, no
second copy of a message that was already delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Passes:
    """Counts the passes of one sender; `next()` waits for one that begins after the call."""

    def __init__(self) -> None:
        self.begun = 0
        self.ended = 0
        self._changed = asyncio.Event()

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

    async def next(self) -> None:
        """Until a pass that begins after this call has ended (passes run one at a time)."""
        target = self.begun + 1
        while self.ended < target:
            changed = self._changed
            await changed.wait()
