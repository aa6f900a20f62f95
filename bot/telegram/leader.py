"""Polling leader election for several replicas on one PostgreSQL database.

Telegram allows one ``getUpdates`` poller per bot token (a second one gets 409 Conflict), so
with several ``aftercare run`` replicas exactly one polls. `LeaderElection` holds a
PostgreSQL *session-level* advisory lock on a dedicated connection: whoever holds the lock
polls; the others try again every `retry` seconds. If the leader dies (even by SIGKILL) its
connection drops, PostgreSQL releases the lock, and a standby takes over within about
`retry` seconds. The lock key is derived from the bot id and the schema, so deployments that
share a database server do not block each other.

`ConfirmingPoller` is the leader's ``getUpdates`` loop. Unlike PTB's Updater it confirms a
batch of updates (by asking for the next offset) only after every update in it has been
handled, so updates in flight when a leader dies are delivered again to the next leader:
nothing is lost, and only updates being handled at that moment can be answered twice. It
keeps fetching while a batch is handled (the confirmed offset slides up to the oldest update
still in hand), so a flood from one patient does not make everyone else wait for it.

On SQLite there is one process and no election (`bot.telegram.app` runs a `ConfirmingPoller`); in
webhook mode every replica serves the updates the load balancer sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError, TimedOut

log = logging.getLogger(__name__)

POLL_LIMIT = 50  # updates per getUpdates batch = the most that can be answered twice
POLL_TIMEOUT = 10  # long-poll seconds
POLL_PAUSE = 0.2  # seconds between polls while updates are being handled
Callback = Callable[[], Awaitable[None]]


def lock_key(token: str, database_url: str) -> int:
    """A signed 64-bit advisory lock key for this bot (token's bot id) and schema."""
    bot_id = token.split(":", 1)[0]
    search_path = make_url(database_url).query.get("search_path", "")
    digest = hashlib.sha256(f"aftercare-polling:{bot_id}:{search_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderElection:
    """Try to hold a PostgreSQL advisory lock; call `on_elected` / `on_lost` as it changes."""

    def __init__(self, engine: AsyncEngine, key: int, on_elected: Callback, on_lost: Callback,
                 retry: float = 1.0) -> None:
        self.engine = engine
        self.key = key
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.retry = retry
        self.is_leader = False
        self._conn: AsyncConnection | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Campaign until `stop` is set; then give leadership up (unlock, close)."""
        try:
            while not stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry)
        finally:
            await self.resign()

    async def step(self) -> None:
        """One round: try to become leader, or check that the lock's connection is alive."""
        try:
            if self.is_leader:
                await self._query("SELECT 1")
            elif await self._query("SELECT pg_try_advisory_lock(:key)", key=self.key):
                self.is_leader = True
                log.info("elected polling leader")
                await self.on_elected()
        except (OSError, TimeoutError, Exception) as exc:  # noqa: BLE001 - any DB failure
            await self._lost(exc)

    async def _query(self, sql: str, **params: Any) -> Any:
        if self._conn is None:
            self._conn = await self.engine.connect()
        async with asyncio.timeout(max(2.0, self.retry * 2)):
            value = (await self._conn.execute(text(sql), params)).scalar()
            await self._conn.commit()  # session-level lock survives; no idle transaction
        return value

    async def _lost(self, exc: BaseException) -> None:
        """The lock connection failed: stop polling at once (the lock is gone with it)."""
        log.warning("leader election: database connection lost (%s)", type(exc).__name__)
        was_leader, self.is_leader = self.is_leader, False
        await self._close()
        if was_leader:
            await self.on_lost()

    async def resign(self) -> None:
        """Stop polling (if leader) and release the lock."""
        if self.is_leader:
            self.is_leader = False
            await self.on_lost()
            with contextlib.suppress(Exception):
                await self._query("SELECT pg_advisory_unlock(:key)", key=self.key)
            log.info("polling leadership released")
        await self._close()

    async def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()


class ConfirmingPoller:
    """``getUpdates`` loop that confirms a batch only after handling all of it."""

    def __init__(self, app: Any, allowed_updates: list[str], *, limit: int = POLL_LIMIT,
                 timeout: int = POLL_TIMEOUT, on_update: Callable[[], None] | None = None) -> None:
        self.app = app
        self.allowed_updates = allowed_updates
        self.limit = limit
        self.timeout = timeout
        self.on_update = on_update
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._handling = False

    @property
    def running(self) -> bool:
        """True while the loop runs."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Remove any webhook (polling and a webhook exclude each other) and start polling."""
        if self.running:
            return
        with contextlib.suppress(TelegramError):
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="aftercare-poller")
        log.info("long polling started (leader)")

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop: a waiting poll is cancelled, a batch being handled may finish first."""
        if self._task is None:
            return
        self._stopping = True
        task, self._task = self._task, None
        if not self._handling:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout)
        log.info("long polling stopped")

    async def _loop(self) -> None:
        """Fetch, handle, confirm. The offset asked for (which confirms everything below it)
        is the oldest update still being handled, so nothing unhandled is ever confirmed;
        new updates are fetched while older ones are still handled, so one patient's backlog
        does not hold back everybody else's next message (they are started as they come;
        ones already being handled are not started twice)."""
        offset: int | None = None
        running: dict[int, asyncio.Task[None]] = {}
        newest: int | None = None
        try:
            while not self._stopping:
                try:
                    updates = await self.app.bot.get_updates(
                        offset=offset, limit=self.limit,
                        timeout=0 if running else self.timeout,
                        allowed_updates=self.allowed_updates)
                except Conflict:
                    log.warning("getUpdates conflict: another poller is running; retrying")
                    await asyncio.sleep(1.0)
                    continue
                except (TimedOut, NetworkError) as exc:
                    log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                fresh = [u for u in updates if newest is None or u.update_id > newest]
                for update in fresh:
                    running[update.update_id] = asyncio.create_task(self._handle(update))
                    newest = update.update_id
                self._handling = bool(running)
                if running and not fresh:  # only updates in hand came back: wait a moment
                    await asyncio.wait(running.values(), timeout=POLL_PAUSE,
                                       return_when=asyncio.FIRST_COMPLETED)
                for update_id in [i for i, task in running.items() if task.done()]:
                    task = running.pop(update_id)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("update %d: handling failed", update_id,
                                  exc_info=task.exception())
                self._handling = bool(running)
                if running:
                    offset = min(running)
                elif newest is not None:
                    offset = newest + 1
        finally:
            if running:  # stopping: let updates in hand finish (the caller bounds the wait)
                await asyncio.gather(*running.values(), return_exceptions=True)
            self._handling = False
        if newest is not None:  # confirm what was handled so the next leader does not redo it
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=newest + 1, limit=1, timeout=0)

    async def _handle(self, update: Update) -> None:
        if self.on_update is not None:
            self.on_update()
        processor = self.app.update_processor
        await processor.process_update(update, self.app.process_update(update))


def _engine_of(app: Any) -> AsyncEngine:
    engine: AsyncEngine = app.bot_data.database.engine
    return engine


@contextlib.asynccontextmanager
async def elected_polling(app: Any, settings: Any, allowed_updates: list[str],
                          on_change: Callable[[bool], None] | None = None,
                          retry: float = 1.0) -> AsyncIterator[LeaderElection]:
    """Campaign for polling leadership while inside; the leader runs a `ConfirmingPoller`."""
    poller = ConfirmingPoller(app, allowed_updates)

    async def elected() -> None:
        await poller.start()
        if on_change is not None:
            on_change(True)

    async def lost() -> None:
        if on_change is not None:
            on_change(False)
        await poller.stop()

    election = LeaderElection(_engine_of(app), lock_key(settings.token, settings.database_url),
                              elected, lost, retry=retry)
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop), name="aftercare-leader-election")
    log.info("polling: standing for election (PostgreSQL advisory lock)")
    try:
        yield election
    finally:
        stop.set()
        await task


@contextlib.asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """On PostgreSQL, let one replica at a time run the migrations (others wait for it)."""
    async with registration_lock(database_url, "migrations"):
        yield


@contextlib.asynccontextmanager
async def registration_lock(database_url: str, name: str) -> AsyncIterator[None]:
    """On PostgreSQL, one replica at a time inside (others wait): migrations, webhook
    registration. A no-op on SQLite (one process)."""
    from storage.db import is_sqlite, make_engine

    if is_sqlite(database_url):
        yield
        return
    engine = make_engine(database_url)
    key = lock_key(f"{name}:0", database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()
    finally:
        await engine.dispose()
