"""The leader's record of handled updates, so a leader taking over skips what an earlier one
handled instead of answering a whole batch twice."""

from __future__ import annotations

import asyncio
import logging
import math
import time

from bot.telegram.polling.ports import HandledUpdates, Monotonic
from storage.clock import Clock, utcnow

log = logging.getLogger(__name__)


class HandledLog:
    """`Seen` on the ``handled_update`` table (a `HandledUpdates`: storage/handled_updates.py,
    or its twin) for one bot. The
    database is asked with a short timeout and, after a failure, not for `QUIET_AFTER_FAILURE`
    seconds: during an outage updates are handled (advice first) without it, and what could
    not be recorded meanwhile is recorded with the next `record` that reaches it."""

    QUIET_AFTER_FAILURE = 5.0
    PURGE_EVERY = 3600.0
    KEEP_UNRECORDED = 10_000  # ids kept for the next record while the database is away

    def __init__(self, table: HandledUpdates, bot: str, clock: Clock = utcnow,
                 monotonic: Monotonic = time.monotonic, timeout: float = 2.0) -> None:
        self.table = table
        self.bot = bot
        self.clock = clock
        self.monotonic = monotonic
        self.timeout = timeout
        self._failed_at = -math.inf
        self._purged_at = -math.inf
        self._unrecorded: list[int] = []  # handled, not yet recorded (the database was away)

    def _quiet(self) -> bool:
        return self.monotonic() - self._failed_at < self.QUIET_AFTER_FAILURE

    async def skip(self, update_ids: list[int]) -> set[int]:
        if not update_ids or self._quiet():
            return set()
        try:
            async with asyncio.timeout(self.timeout):
                return await self.table.handled(self.bot, update_ids)
        except Exception as exc:  # noqa: BLE001 - the database is away: handle them
            self._failed(exc)
            return set()

    async def record(self, update_ids: list[int]) -> None:
        """Record `update_ids` as handled; what cannot be recorded now (the database did not
        answer) is recorded with the next call, not forgotten."""
        self._unrecorded = [*self._unrecorded, *update_ids][-self.KEEP_UNRECORDED:]
        if not self._unrecorded or self._quiet():
            return
        ids = self._unrecorded
        try:
            async with asyncio.timeout(self.timeout):
                await self.table.record(self.bot, ids, self.clock())
                self._unrecorded = self._unrecorded[len(ids):]
                if self.monotonic() - self._purged_at > self.PURGE_EVERY:
                    self._purged_at = self.monotonic()
                    await self.table.purge(self.clock())
        except Exception as exc:  # noqa: BLE001 - only a takeover would repeat them
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self._failed_at = self.monotonic()
        log.warning("handled updates: the database does not answer (%s); a leader taking "
                    "over may handle the latest updates again", type(exc).__name__)
