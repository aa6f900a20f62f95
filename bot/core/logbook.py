"""Chat logging off the reply path: message logs are written in batches in the background.

Writing each exchange in its own transaction costs a disk sync per message and would halve
the bot's throughput. `MessageLog.add` only queues; one background task at a time writes
everything queued so far in a single transaction (`storage.messages.MessageLog.log_batch`, which
still drops entries of users without consent). `flush()` waits until everything queued is
written: call it before reading or erasing a patient's data and at shutdown. If the process
dies, at most the last ~50 ms of logs (the batch being gathered or written) are lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

from bot.core.ports import MessageStore
from storage.messages import LogEntry

log = logging.getLogger(__name__)


class MessageLog:
    """A write-behind queue of chat messages for one message store."""

    def __init__(self, store: MessageStore, gather_seconds: float = 0.05) -> None:
        self.store = store
        self.gather_seconds = gather_seconds
        self._pending: list[LogEntry] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, telegram_id: int,
            entries: Sequence[tuple[str, str, str | None, str | None]],
            now: dt.datetime) -> None:
        """Queue (direction, text, topic, outcome) messages of one user, stamped `now`."""
        self._pending.extend(LogEntry(telegram_id, d, text, topic, outcome, now)
                             for d, text, topic, outcome in entries)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        await asyncio.sleep(self.gather_seconds)  # let a few exchanges gather into one batch
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self.store.log_batch(batch)
            except Exception:  # a failed log must never break the conversation
                log.exception("could not write %d logged message(s) together: one by one",
                              len(batch))
                await self._one_by_one(batch)

    async def _one_by_one(self, batch: list[LogEntry]) -> None:
        """After a failed batch: each entry alone, so one bad entry loses no other."""
        for entry in batch:
            try:
                await self.store.log_batch([entry])
            except Exception:  # noqa: BLE001 - logged with its traceback, never the words
                log.exception("could not write a logged message (direction %s, outcome %s)",
                              entry.direction, entry.outcome)

    async def flush(self) -> None:
        """Wait until every queued message is written."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._pending:  # queued without a running task (e.g. the task failed)
            await self._drain()
