"""The dispatcher: claims due check-ins, sends them within Telegram's limits, records outcomes.

It is woken by a clock (PTB's JobQueue `run_repeating`, or any timer calling `tick()`); the
clock holds no check-in. One tick expires rows past their window, then claims small batches
and sends them until nothing is due.

Delivery guarantee (at-least-once with a bounded duplicate window): each outcome is committed
per row right after its send. A crash between claim and send leaves rows claimed; they are
re-queued when their lease runs out (or at once when the only dispatcher restarts), so none is
lost. Telegram has no idempotency key, so a crash after a send but before its commit re-sends
that row: only the rows in flight (at most `batch_size`) can ever arrive twice.

Errors, as raised by a `Sender`:
* `RetryAfter` (429): every send pauses for `retry_after`; unsent rows go back to the queue
  (the attempt is not counted);
* `ChatUnreachable` (403 blocked/deactivated, 400 chat not found): the patient is marked
  inactive and all their open check-ins are cancelled;
* `PermanentError` (other 400s): the row fails at once, visibly;
* `TransientError` (5xx, network, timeouts) and anything unexpected: retried with exponential
  backoff, failed after `max_attempts`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from scheduler.careplan import CarePlan
from scheduler.sending import SendPause, SharedPauseStore, backoff
from scheduler.sql import ClaimedCheckin, Connector
from storage.clock import Clock, utcnow
from storage.models import InactiveReason

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "ci"


class SendError(Exception):
    """Base of the errors a `Sender` raises."""


class RetryAfter(SendError):
    """Flood control (429): wait `retry_after` seconds before any further send."""

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message or f"retry after {retry_after}s")
        self.retry_after = retry_after


class ChatUnreachable(SendError):
    """The patient blocked the bot, was deactivated, or the chat does not exist."""

    def __init__(self, reason: InactiveReason, message: str = "") -> None:
        super().__init__(message or reason.value)
        self.reason = reason


class PermanentError(SendError):
    """Telegram refused this message for good (a bug in the message, not a hiccup)."""


class TransientError(SendError):
    """Network trouble, timeouts, 5xx: worth retrying later."""


@dataclass(frozen=True)
class OutgoingCheckin:
    """A message to send: text plus answer buttons ((label, callback_data) pairs)."""

    checkin_id: int
    chat_id: int
    text: str
    buttons: tuple[tuple[str, str], ...]


class Sender(Protocol):
    """Sends one check-in and returns Telegram's message id, or raises a `SendError`."""

    async def send(self, message: OutgoingCheckin) -> int: ...


class SendObserver(Protocol):
    """Hears the result of every check-in send: "sent" (with the seconds Telegram took to
    accept it), "rate_limited" (a 429) or the `SendError` class's name."""

    def send_result(self, result: str, seconds: float | None = None) -> None: ...


class ObservedSender:
    """A `Sender` that tells `observer` how each send of `inner` went (the ops metrics;
    bot/compose.py builds it)."""

    def __init__(self, inner: Sender, observer: SendObserver,
                 monotonic: Callable[[], float] = time.perf_counter) -> None:
        self.inner = inner
        self.observer = observer
        self.monotonic = monotonic

    async def send(self, message: OutgoingCheckin) -> int:
        started = self.monotonic()
        try:
            message_id = await self.inner.send(message)
        except RetryAfter:
            self.observer.send_result("rate_limited")
            raise
        except SendError as exc:
            self.observer.send_result(type(exc).__name__)
            raise
        self.observer.send_result("sent", self.monotonic() - started)
        return message_id


def callback_data(checkin_id: int, choice: int) -> str:
    """Button data: "ci:<checkin id>:<choice index>" (the server re-checks the owner)."""
    return f"{CALLBACK_PREFIX}:{checkin_id}:{choice}"


@dataclass
class DispatcherConfig:
    """Tuning knobs (the bot fills them from `bot.config.Settings`, AFTERCARE_CHECKIN_*)."""

    rate_per_second: float = 30.0  # overall sends per second (Telegram: about 30)
    window_margin: float = 0.015  # pace at 98.5% of the rate: room for network jitter
    per_chat_interval: float = 1.0  # seconds between two sends to one chat
    batch_size: int = 30  # rows claimed at once = the most that can ever be sent twice
    concurrency: int = 16  # sends in flight
    lease: dt.timedelta = dt.timedelta(seconds=120)
    max_attempts: int = 5
    backoff_base: dt.timedelta = dt.timedelta(seconds=30)
    backoff_cap: dt.timedelta = dt.timedelta(minutes=15)
    max_pause_in_tick: float = 120.0  # a longer 429 pause ends the tick instead


class RateLimiter:
    """Smooth pacing: sends spaced evenly at `rate * (1 - margin)` per second overall (a leaky
    bucket of capacity 1), and at least `per_chat` seconds apart within one chat.

    Even spacing never puts more than `rate` sends in any sliding second, so the server's
    window is respected without bursts; the margin absorbs network jitter. A send waiting for
    its chat's gap holds only that chat's lock, so other chats go ahead meanwhile. Time comes
    from `now` and waits go through `sleep` (tests pass a `storage.clock.ManualClock`'s)."""

    def __init__(self, rate: float, per_chat: float, margin: float = 0.015,
                 now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        effective = rate * (1.0 - margin)
        self.interval = 1.0 / effective if effective > 0 else 0.0
        self.per_chat = per_chat
        self.now = now
        self.sleep = sleep
        self._next_slot: float | None = None  # when the next overall send may go
        self._last_by_chat: dict[int, float] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_users: dict[int, int] = {}  # sends holding or waiting for a chat's lock

    async def acquire(self, chat_id: int) -> None:
        """Wait for `chat_id`'s gap and a free overall slot, then take both."""
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_users[chat_id] = self._chat_users.get(chat_id, 0) + 1
        try:
            async with lock:
                last = self._last_by_chat.get(chat_id)
                if last is not None and self.per_chat > 0:
                    wait = last + self.per_chat - self.now()
                    if wait > 0:
                        await self.sleep(wait)
                await self._take_slot()
                self._last_by_chat[chat_id] = self.now()
        finally:
            self._chat_users[chat_id] -= 1
            if not self._chat_users[chat_id]:
                del self._chat_users[chat_id], self._chat_locks[chat_id]
        if len(self._last_by_chat) > 50_000:
            self._forget(self.now())

    async def _take_slot(self) -> None:
        """Reserve the next overall slot (first come, first served) and wait for it."""
        if not self.interval:
            return
        now = self.now()
        slot = now if self._next_slot is None else max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)

    def _forget(self, now: float) -> None:
        self._last_by_chat = {c: t for c, t in self._last_by_chat.items()
                              if t > now - self.per_chat}


@dataclass
class TickStats:
    """What one tick did (also accumulated over the dispatcher's life)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    paused: int = 0
    expired: int = 0
    rate_limited: int = 0
    lost_claims: int = 0
    retry_after_total: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, other: TickStats) -> None:
        """Accumulate another tick's figures."""
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "paused", "expired",
                     "rate_limited", "lost_claims", "retry_after_total"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors = (self.errors + other.errors)[-20:]


class Dispatcher:
    """Claims due rows through a `Connector` and sends them through a `Sender`."""

    def __init__(self, connector: Connector, sender: Sender, plan: CarePlan, *,
                 config: DispatcherConfig | None = None, clock: Clock = utcnow,
                 worker: str | None = None, shared_pause: SharedPauseStore | None = None,
                 exclusive: bool = True, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.connector = connector
        self.sender = sender
        self.plan = plan
        self.config = config or DispatcherConfig()
        self.clock = clock
        self.worker = worker or f"{os.uname().nodename}:{os.getpid()}:{id(self):x}"[:64]
        self.monotonic = monotonic
        self.sleep = sleep
        self.limiter = RateLimiter(self.config.rate_per_second, self.config.per_chat_interval,
                                   self.config.window_margin, now=monotonic, sleep=sleep)
        self.totals = TickStats()
        self.pause = SendPause(shared_pause, clock, monotonic)  # a 429, shared with replicas
        self._tick_lock = asyncio.Lock()
        self.exclusive = exclusive  # False when other replicas dispatch too (PostgreSQL)
        self._stopping = asyncio.Event()

    @property
    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when sending is allowed)."""
        return self.pause.left

    async def start(self) -> int:
        """Call once when the only dispatcher starts: rows a dead run had claimed go back.

        With other replicas dispatching (`exclusive` False) their claims are live: nothing is
        released here, and a dead replica's rows come back when their lease runs out."""
        if not self.exclusive:
            return 0
        return await self.connector.release_all_claims(self.clock())

    async def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop claiming; unsent rows of the running tick go back to the queue. True when the
        tick ended within `timeout` (else its rows come back when their lease runs out)."""
        self._stopping.set()
        try:
            async with asyncio.timeout(timeout), self._tick_lock:
                return True
        except TimeoutError:
            log.warning("dispatcher still busy after %.1f s; its claims will expire", timeout)
            return False

    async def tick(self) -> TickStats:
        """Expire overdue rows, then claim and send until nothing is due (or a long 429).

        Claims run ahead of the sends (a refill as soon as half the batch is done), so the
        sender never waits for the database; rows claimed and not yet finished never exceed
        `batch_size`, which keeps the duplicate bound of the module docstring."""
        async with self._tick_lock:
            stats = TickStats()
            stats.expired = await self.connector.expire_overdue(self.clock())
            gate = asyncio.Semaphore(self.config.concurrency)
            running: set[asyncio.Task[None]] = set()
            try:
                await self._pump(running, gate, stats)
            finally:
                if running:
                    await asyncio.gather(*running, return_exceptions=True)
            self.totals.add(stats)
            if stats.claimed or stats.expired:
                log.info("dispatch tick: %s", stats)
            return stats

    async def _pump(self, running: set[asyncio.Task[None]], gate: asyncio.Semaphore,
                    stats: TickStats) -> None:
        """Keep up to `batch_size` claimed rows in flight until the queue is empty."""
        batch = max(1, self.config.batch_size)
        refill_at = max(1, batch // 2)
        while not self._stopping.is_set():
            room = batch - len(running)
            if running and room < refill_at:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                continue
            await self.pause.sync()  # before each claim: another replica's 429
            if self.paused_for > self.config.max_pause_in_tick:
                return
            if self.paused_for:
                await self.sleep(self.paused_for)
            rows = await self.connector.claim_due(self.clock(), room, self.config.lease,
                                                  self.worker)
            if not rows:
                if not running:
                    return
                await asyncio.wait(running)  # retries may be due once these finish
                continue
            stats.claimed += len(rows)
            for row in rows:
                task = asyncio.create_task(self._gated(row, gate, stats))
                running.add(task)
                task.add_done_callback(running.discard)

    async def _gated(self, row: ClaimedCheckin, gate: asyncio.Semaphore,
                     stats: TickStats) -> None:
        async with gate:
            try:
                await self._process(row, stats)
            except Exception:  # the row stays claimed; its lease brings it back
                log.exception("check-in %d: dispatch failed", row.id)
                stats.errors.append(f"{row.id}: dispatch failed")

    async def _process(self, row: ClaimedCheckin, stats: TickStats) -> None:
        message = await self._prepare(row, stats)
        if message is None:
            return
        await self.limiter.acquire(message.chat_id)
        if self.paused_for or self._stopping.is_set():  # a 429 or shutdown: back to the queue
            await self.connector.release(row.id, self.worker, self.clock(), count_attempt=False)
            stats.retried += 1
            return
        try:
            message_id = await self.sender.send(message)
        except SendError as exc:
            await self._failed_send(row, exc, stats)
            return
        except Exception as exc:
            log.exception("unexpected error sending check-in %d", row.id)
            await self._failed_send(row, TransientError(f"{type(exc).__name__}: {exc}"), stats)
            return
        if await self.connector.mark_sent(row.id, self.worker, message_id, self.clock()):
            stats.sent += 1
        else:
            stats.lost_claims += 1

    async def _prepare(self, row: ClaimedCheckin, stats: TickStats) -> OutgoingCheckin | None:
        """The message for a row, or None after dropping/holding a row that must not go."""
        now = self.clock()
        step = self.plan.step(row.step)
        if row.chat_id is None or not row.patient_active:
            await self.connector.cancel(row.id, self.worker, "patient not reachable", now)
            stats.cancelled += 1
            return None
        if row.patient_paused:
            await self.connector.pause(row.id, self.worker, "patient", now)
            stats.paused += 1
            return None
        if step is None:
            await self.connector.cancel(row.id, self.worker, "step no longer in the care plan",
                                        now)
            stats.cancelled += 1
            return None
        buttons = tuple((choice.label, callback_data(row.id, index))
                        for index, choice in enumerate(step.choices))
        return OutgoingCheckin(row.id, row.chat_id, step.message, buttons)

    async def _failed_send(self, row: ClaimedCheckin, exc: SendError, stats: TickStats) -> None:
        now = self.clock()
        stats.errors.append(f"{row.id}: {type(exc).__name__}: {exc}")
        if isinstance(exc, RetryAfter):
            self._pause(exc.retry_after, stats)
            await self.pause.share(exc.retry_after)
            await self.connector.release(row.id, self.worker, now, count_attempt=False,
                                         error=f"rate limited: {exc}")
            stats.retried += 1
        elif isinstance(exc, ChatUnreachable):
            await self.connector.mark_failed(row.id, self.worker, str(exc), now)
            stats.failed += 1
            stats.cancelled += await self.connector.deactivate_patient(
                row.patient_id, exc.reason.value, now)
        elif isinstance(exc, PermanentError) or row.attempts >= self.config.max_attempts:
            await self.connector.mark_failed(
                row.id, self.worker, f"{exc} (attempt {row.attempts})", now)
            stats.failed += 1
        else:
            retry_at = now + backoff(row.attempts, self.config.backoff_base,
                                     self.config.backoff_cap)
            await self.connector.release(row.id, self.worker, now, due_at=retry_at,
                                         error=f"{exc} (attempt {row.attempts})")
            stats.retried += 1

    def _pause(self, seconds: float, stats: TickStats) -> None:
        if self.pause.hold(seconds):
            log.warning("Telegram flood control: pausing all check-ins for %.1f s", seconds)
            stats.retry_after_total += seconds
        stats.rate_limited += 1
