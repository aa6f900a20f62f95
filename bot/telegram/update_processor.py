"""The order updates are handled in: one user's updates one at a time and in order, different
users' at once (`PerUserUpdateProcessor`, python-telegram-bot's update processor)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates of different users run concurrently; one user's updates run one at a time, in order.

    A patient's /start, button press and next question must be handled in the order they
    were sent; other patients need not wait for them (database and HTTP waits overlap).
    An update first waits for its user's turn and only then for one of the `limit` slots,
    so one user's backlog never holds more than one slot (40 queued messages from one
    patient used to take every slot while they waited on that patient's lock, and everybody
    else waited behind them).

    Only PTB's documented hooks are implemented. PTB's `process_update` (final) takes one of
    its own slots before it calls `do_process_update`, where an update may wait for its
    user's turn; so PTB's bound is set out of reach (`ADMIT`) and the real bound, `limit`,
    is a semaphore taken in `do_process_update` after the user's turn.
    """

    ADMIT = 1 << 30  # PTB's own slots: never the limit (every queued update is admitted)

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        super().__init__(self.ADMIT)
        self.limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # key -> updates holding or waiting for its lock

    @staticmethod
    def _key(update: object) -> int:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """The user's turn first, then one of the `limit` slots, then the handlers."""
        key = self._key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Fresh slots and no user turns (the Application calls this once before polling)."""
        self._slots = asyncio.Semaphore(self.limit)
        self._locks.clear()
        self._users.clear()

    async def shutdown(self) -> None:
        """Nothing to tear down (the Application has awaited every update by then)."""
