"""The alert sender: delivers what the alert outbox owes the staff chat (storage/alerts.py).

Same design as the check-in dispatcher (scheduler/dispatcher.py): claim, lease, send, record
the outcome per row; the claim and lease statements (storage/leases.py) and the 429 pause and
back-off (scheduler/sending.py) are the same code. Differences, because an alert matters more
than a check-in:

* one row in flight at a time: a crash between a send and its commit can repeat at most
  that one card (Telegram has no idempotency key), and a restart re-sends nothing else;
* a card is never given up: 5xx, timeouts, a 403 (bot removed from the staff group) and
  unexpected errors are retried with exponential backoff (capped at `backoff_cap`) until
  Telegram accepts it; only edits Telegram refuses for good become ``failed``, and on-call
  copies to a private chat the bot cannot write to (403 "bot can't initiate conversation",
  blocked): those are given up at once and named on /queue and the web desk;
* a 429 pauses every sender for ``retry_after`` through the shared send pause
  (scheduler/pause.py, the one check-ins use), and the row goes back unchanged;
* it runs as its own task (`run`), woken at once when a report is stored in this process
  (`wake`) and every `poll_interval` otherwise (cards owed by another replica, retries).

What a row looks like in the staff chat is decided by an `AlertRenderer` (the staff desk,
bot/core/desk.py); how it reaches Telegram by an `AlertSender` (bot/telegram/alert_sender.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from scheduler.dispatcher import (
    ChatUnreachable,
    PermanentError,
    RetryAfter,
    SendError,
    TransientError,
)
from scheduler.passes import Passes
from scheduler.sending import SendPause, SharedPauseStore, backoff
from storage.alerts import MESSAGE_KINDS, UNREACHABLE, AlertConnector, ClaimedAlert
from storage.clock import Clock, utcnow
from storage.models import AlertKind

log = logging.getLogger(__name__)

Buttons = tuple[tuple[tuple[str, str], ...], ...]
DONE_EDIT_ERRORS = ("not modified", "message to edit not found", "message can't be edited")


@dataclass(frozen=True)
class OutgoingAlert:
    """A staff-chat message to send, or (with `edit_message_id`) to edit in place."""

    chat_id: int
    text: str
    buttons: Buttons = ()
    reply_to: int | None = None
    edit_message_id: int | None = None
    caption: bool = False  # the edited message is a photo or document: edit its caption


class AlertRenderer(Protocol):
    """Turns a claimed row into what to show; None when nothing is to be shown any more
    (the row is then done, e.g. a re-post of a report somebody took meanwhile)."""

    async def render(self, alert: ClaimedAlert) -> OutgoingAlert | None: ...


class AlertSender(Protocol):
    """Sends (or edits) one staff-chat message; returns its message id or raises a
    scheduler.dispatcher `SendError`."""

    async def send(self, alert: OutgoingAlert) -> int: ...


class AlertBell:
    """Wakes the alert sender when a card was just owed in this process.

    Made before the staff desk and the sender (bot/compose.py): the desk rings it, the sender
    waits on it, so neither is handed to the other after it is built."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Something was just owed: the sender looks at once."""
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        await self._event.wait()


@dataclass
class AlertConfig:
    """Tuning knobs (bot/config.py `Settings.alert_config`: AFTERCARE_ALERT_* variables)."""

    lease: dt.timedelta = dt.timedelta(seconds=60)
    backoff_base: dt.timedelta = dt.timedelta(seconds=2)
    backoff_cap: dt.timedelta = dt.timedelta(seconds=120)
    poll_interval: float = 1.0  # seconds between looks for rows owed by other replicas
    max_edit_attempts: int = 20
    read_timeout: float | None = None  # seconds Telegram may take to answer (None: default)


@dataclass
class AlertStats:
    """What the sender did (accumulated over its life)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: int = 0
    lost_claims: int = 0
    errors: list[str] = field(default_factory=list)


class AlertDispatcher:
    """Claims owed alerts through an `AlertConnector`, renders and sends them one by one."""

    def __init__(self, connector: AlertConnector, renderer: AlertRenderer,
                 sender: AlertSender, *, config: AlertConfig | None = None,
                 clock: Clock = utcnow, worker: str | None = None,
                 bell: AlertBell | None = None, shared_pause: SharedPauseStore | None = None,
                 exclusive: bool = True, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.connector = connector
        self.renderer = renderer
        self.sender = sender
        self.config = config or AlertConfig()
        self.clock = clock
        self.worker = worker or f"alerts:{os.uname().nodename}:{os.getpid()}:{id(self):x}"[:64]
        self.stats = AlertStats()
        # a 429, shared with check-ins and replicas
        self.pause = SendPause(shared_pause, clock, monotonic)
        self.exclusive = exclusive  # False when other replicas send alerts too (PostgreSQL)
        self.bell = bell or AlertBell()
        self.passes = Passes()  # ticks made: a probe or test waits for the next
        self._stopping = asyncio.Event()
        self._tick_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def paused_for(self) -> float:
        """Seconds left of a 429 pause."""
        return self.pause.left

    def wake(self) -> None:
        """Something was just owed: look at once."""
        self.bell.wake()

    async def start(self) -> int:
        """When this is the only sender: rows a dead run had claimed go back at once."""
        if not self.exclusive:
            return 0
        return await self.connector.release_all_claims(self.clock())

    def launch(self) -> asyncio.Task[None]:
        """Run the send loop as a task of the running loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="alert-sender")
        return self._task

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop; a send in flight may finish (its row is then recorded)."""
        self._stopping.set()
        self.bell.wake()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            log.warning("alert sender still busy after %.1f s: its claim will expire", timeout)

    async def run(self) -> None:
        """Send until stopped; never ends on an error (each is logged and retried)."""
        while not self._stopping.is_set():
            self.bell.clear()
            try:
                await self.tick()
            except Exception:  # the database is away, say: try again shortly
                log.exception("alert sender: tick failed")
            wait = self.paused_for or self.config.poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bell.wait(), timeout=wait)
            if self.paused_for:  # a wake-up during a 429 pause waits for its end
                await asyncio.sleep(self.paused_for)

    async def tick(self) -> int:
        """Send every due row, one at a time; returns how many were delivered (one pass,
        counted in `passes`)."""
        async with self._tick_lock:
            with self.passes.one():
                return await self._send_due()

    async def _send_due(self) -> int:
        delivered = 0
        while not self._stopping.is_set():
            await self.pause.sync()
            if self.paused_for:
                return delivered
            rows = await self.connector.claim_due(self.clock(), 1, self.config.lease,
                                                  self.worker)
            if not rows:
                return delivered
            delivered += await self._process(rows[0])
        return delivered

    async def _process(self, row: ClaimedAlert) -> int:
        try:
            message = await self.renderer.render(row)
        except Exception as exc:
            log.exception("alert %d: could not be rendered", row.id)
            await self._retry(row, f"render: {type(exc).__name__}: {exc}")
            return 0
        if message is None:
            await self.connector.mark_sent(row.id, self.worker, None, None, self.clock())
            self.stats.skipped += 1
            return 0
        try:
            message_id = await self.sender.send(message)
        except RetryAfter as exc:
            await self._rate_limited(row, exc)
            return 0
        except PermanentError as exc:
            await self._refused(row, message, exc)
            return 0
        except ChatUnreachable as exc:
            if row.chat_id is not None and row.chat_id > 0:  # a staff member's private chat
                await self._unreachable(row, exc)
            else:  # the staff chat (cards are never given up there)
                await self._retry(row, f"{type(exc).__name__}: {exc}")
            return 0
        except SendError as exc:  # transient, or the staff chat unreachable for now
            await self._retry(row, f"{type(exc).__name__}: {exc}")
            return 0
        except Exception as exc:
            log.exception("alert %d: unexpected error while sending", row.id)
            await self._retry(row, str(TransientError(f"{type(exc).__name__}: {exc}")))
            return 0
        if await self.connector.mark_sent(row.id, self.worker, message.chat_id, message_id,
                                          self.clock(), kind=row.kind):
            self.stats.sent += 1
            log.info("alert %d (%s, report %s) delivered", row.id, row.kind, row.report_id)
            return 1
        self.stats.lost_claims += 1
        return 0

    async def _rate_limited(self, row: ClaimedAlert, exc: RetryAfter) -> None:
        self.stats.rate_limited += 1
        if self.pause.hold(exc.retry_after):
            log.warning("Telegram flood control: alerts pause for %.1f s", exc.retry_after)
        await self.pause.share(exc.retry_after)
        await self.connector.release(row.id, self.worker, self.clock(), count_attempt=False,
                                     error=f"rate limited: {exc}")

    async def _refused(self, row: ClaimedAlert, message: OutgoingAlert,
                       exc: PermanentError) -> None:
        text = str(exc).lower()
        if message.edit_message_id is not None and any(e in text for e in DONE_EDIT_ERRORS):
            await self.connector.mark_sent(row.id, self.worker, message.chat_id,
                                           message.edit_message_id, self.clock(), kind=row.kind)
            self.stats.skipped += 1
            return
        if row.kind in MESSAGE_KINDS or row.attempts < self.config.max_edit_attempts:
            await self._retry(row, f"refused: {exc}")  # a card (or a raise) is never given up
            return
        await self.connector.mark_failed(row.id, self.worker, f"refused: {exc}", self.clock())
        self.stats.failed += 1

    async def _unreachable(self, row: ClaimedAlert, exc: ChatUnreachable) -> None:
        """An on-call copy whose private chat the bot cannot write to (the staff member
        never pressed Start there, or blocked the bot): given up at once, not retried for
        ever; the staff chat's own card is unaffected, and /queue and the web desk name the
        staff member (storage/alerts.py `unreachable`)."""
        log.error("alert %d (%s, report %s): private chat %s unreachable, given up: %s",
                  row.id, row.kind, row.report_id, row.chat_id, exc)
        await self.connector.mark_failed(row.id, self.worker, f"{UNREACHABLE}{exc}",
                                         self.clock())
        self.stats.failed += 1

    async def _retry(self, row: ClaimedAlert, error: str) -> None:
        delay = backoff(row.attempts, self.config.backoff_base, self.config.backoff_cap)
        now = self.clock()
        self.stats.retried += 1
        self.stats.errors = (self.stats.errors + [f"{row.id}: {error}"])[-20:]
        log.warning("alert %d (%s) not delivered (attempt %d): %s; retry in %s", row.id,
                    row.kind, row.attempts, error, delay)
        await self.connector.release(row.id, self.worker, now, due_at=now + delay, error=error)


__all__ = ["AlertBell", "AlertConfig", "AlertDispatcher", "AlertKind", "AlertRenderer",
           "AlertSender", "AlertStats", "OutgoingAlert"]
