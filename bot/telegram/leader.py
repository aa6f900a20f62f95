"""Polling leader election for several replicas on one database, and the leader's poll loop.

Telegram allows one ``getUpdates`` poller per bot token (a second one gets 409 Conflict), so
with several ``aftercare run`` replicas exactly one polls. `LeaderElection` keeps a heartbeat
row in ``leader_lease`` (storage/leader_lease.py; SQLite and PostgreSQL alike): the holder
renews it every ``lease / 5`` seconds; a standby reads it as often and takes it over
(compare-and-set on the row's ``beat``) once the beat has not moved for ``lease`` seconds on
the standby's own monotonic clock, so no two hosts' clocks are compared. A leader that is
killed, frozen (SIGSTOP) or whose host vanishes is therefore replaced within
``lease + lease / 5`` seconds
(15 s lease by default, AFTERCARE_POLLING_LEASE_SECONDS); one that stops cleanly releases the
row and a standby takes it at once, as it does when the row names a process of this host
that no longer exists (a restart after a crash).

The leader trusts its lease for ``lease / 2`` after the start of its last renewal; past that
it renews before it polls or handles anything (`LeaderElection.held`). A leader that was
frozen and wakes up thus finds the row taken and stops without handling or confirming the
updates its last poll brought (the new leader gets them). While the database cannot be
reached at all the leader keeps polling (patients get advice first; reports are spooled) and
says so in the log: a standby that can still reach the database would take over after a
lease, and the two would then alternate on Telegram's 409 until the old one sees the row.

`ConfirmingPoller` is the leader's ``getUpdates`` loop. It confirms a batch of updates (by
asking for the next offset) only after every update in it has been handled, so updates in
flight when a leader dies are delivered again to the next leader: nothing is lost, and only
updates being handled at that moment can be answered twice (see below). An update that could
be neither handled nor spooled because the database was unavailable is not confirmed either:
it is fetched again and handled once its backoff has passed (later updates are handled
meanwhile, each once), and /readyz is not ready while one waits. The leader records what it
handled (`HandledLog`, table ``handled_update``) after each poll and skips what an earlier
leader recorded, so a leader frozen or killed in the middle of a batch leaves only the
updates being handled at that moment (or since its last poll) to be handled twice, not the
batch. It keeps fetching while a batch is handled (the confirmed offset slides up to the
oldest update still in hand), so a flood from one patient does not make everyone else wait
for it. It survives every failure of ``getUpdates``: a 429 waits the ``retry_after``
Telegram names, anything else (5xx, timeouts, network errors, 409, unknown errors) waits
with exponential backoff (1 s doubling up to AFTERCARE_POLLING_BACKOFF_MAX_SECONDS); each
failure is logged (error type and Telegram's description, never the token). After
AFTERCARE_POLLING_GIVE_UP_SECONDS without one successful poll the leader gives up the lease
and sits out one lease period, so another replica (perhaps on a host that can reach
Telegram) takes over. ``aftercare_polling_leader`` reads 1 only while this replica holds the
lease and its last poll succeeded.

In webhook mode every replica serves the updates the load balancer sends it (no election).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from telegram import Update
from telegram.error import RetryAfter, TelegramError

from bot.config import Settings
from bot.telegram.context import AnyApplication, services_of
from bot.telegram.handling import handling
from bot.telegram.sender import retry_after_seconds
from storage.clock import Clock, utcnow
from storage.handled_updates import HandledSql, HandledUpdates
from storage.leader_lease import Leases, LeaseSql

log = logging.getLogger(__name__)

POLL_LIMIT = 50  # updates per getUpdates batch = the most that can be answered twice
POLL_TIMEOUT = 10  # long-poll seconds
POLL_PAUSE = 0.2  # seconds between polls while updates are being handled
RETRY_POLL_EVERY = 0.5  # seconds between polls while an unhandled update waits
Elected = Callable[[], Awaitable[None]]
Lost = Callable[[bool], Awaitable[None]]  # argument: confirm what was handled (clean stop)
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def lease_name(token: str) -> str:
    """The lease row of this bot (its id, the token's public part)."""
    return f"polling:{token.split(':', 1)[0]}"


def _host() -> str:
    return socket.gethostname()[:80]


def new_holder_id() -> str:
    """This replica's name in the lease row: host, process id and a random tag."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_gone(holder: str) -> bool:
    """True when `holder` names a process of this host that no longer exists (the lease of
    a crashed run on this machine is free at once; other hosts' runs wait for the beat)."""
    host, _, rest = holder.rpartition(":")[0].rpartition(":")
    if host != _host() or not rest.isdigit() or int(rest) == os.getpid():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class LeaderElection:
    """Hold the polling lease while alive; call `on_elected` / `on_lost` as it changes."""

    def __init__(self, leases: Leases, name: str, on_elected: Elected, on_lost: Lost, *,
                 lease: float = 15.0, holder: str | None = None, clock: Clock = utcnow,
                 monotonic: Monotonic = time.monotonic,
                 is_gone: Callable[[str], bool] = holder_gone) -> None:
        self.leases = leases
        self.name = name
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.lease = lease
        self.every = lease / 5  # renewals (leader) and reads (standby)
        self.trust = lease / 2  # a renewal is trusted this long; then held() renews first
        self.holder = holder or new_holder_id()
        self.clock = clock
        self.monotonic = monotonic
        self.is_gone = is_gone
        self.is_leader = False
        self.degraded = False  # the database did not answer the last lease query
        self._renewed = -math.inf  # monotonic start of the last successful renewal
        self._seen: tuple[str | None, int] | None = None  # (holder, beat) last read
        self._seen_at = 0.0
        self._sit_out_until = -math.inf
        self._failed_at = -math.inf  # monotonic time of the last failed lease query
        self.query_timeout = max(1.0, min(5.0, self.trust))
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Campaign until `stop` is set; then give leadership up (stop polling, release)."""
        try:
            while not stop.is_set():
                await self.step()
                self._wake.clear()
                stopped = asyncio.ensure_future(stop.wait())
                woken = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait((stopped, woken), timeout=self.every,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopped.cancel()
                    woken.cancel()
        finally:
            await self.resign()

    async def step(self) -> None:
        """One round: renew (leader), or read the row and take it if it is free or stale."""
        try:
            if self.is_leader:
                await self._renew()
            else:
                await self._campaign()
        except Exception as exc:  # noqa: BLE001 - any database failure
            self._unreachable(exc)

    async def held(self) -> bool:
        """May this replica poll and handle now? Renews first when the last renewal is too
        old to trust (after a freeze, a stall or a database outage)."""
        if not self.is_leader:
            return False
        now = self.monotonic()
        if now - self._renewed < self.trust:
            return True
        if self.degraded and now - self._failed_at < self.every:
            return True  # the database is down: poll on (advice first); the heartbeat retries
        try:
            return await self._renew()
        except Exception as exc:  # noqa: BLE001 - any database failure
            self._unreachable(exc)
            return self.is_leader

    async def step_down(self, reason: str) -> None:
        """Give the lease up (this replica cannot poll) and sit out one lease period, so a
        standby takes over; with no standby this replica takes it again afterwards."""
        if not self.is_leader:
            return
        self.is_leader = False
        self._sit_out_until = self.monotonic() + self.lease
        log.error("giving up polling leadership: %s", reason)
        await self.on_lost(False)
        await self._release()
        self._wake.set()

    async def resign(self) -> None:
        """Stop polling (confirming what was handled) and release the row: a clean stop."""
        if self.is_leader:
            await self.on_lost(True)  # still the holder: the final confirmation is ours
            self.is_leader = False
            await self._release()
            log.info("polling leadership released")

    async def _campaign(self) -> None:
        now = self.monotonic()
        if now < self._sit_out_until:
            return
        async with asyncio.timeout(self.query_timeout):
            row = await self.leases.read(self.name)
        if self.degraded:
            self._reachable()
        if self._seen != (row.holder, row.beat):
            self._seen, self._seen_at = (row.holder, row.beat), now
        if row.holder is None or row.holder == self.holder:
            why = "the lease is free"
        elif self.is_gone(row.holder):
            why = "its holder's process on this host has exited"
        elif now - self._seen_at >= self.lease:
            why = f"its holder has not renewed it for {now - self._seen_at:.0f} s"
        else:
            return
        started = self.monotonic()
        wall = self.clock()
        async with asyncio.timeout(self.query_timeout):
            taken = await self.leases.take(self.name, self.holder, row.beat, wall,
                                           wall + timedelta(seconds=self.lease))
        if taken:
            self._renewed = started
            self.is_leader = True
            log.info("elected polling leader (%s)", why)
            await self.on_elected()

    async def _renew(self) -> bool:
        started = self.monotonic()
        wall = self.clock()
        async with asyncio.timeout(self.query_timeout):  # a vanished database host
            renewed = await self.leases.renew(self.name, self.holder, wall,
                                              wall + timedelta(seconds=self.lease))
        if self.degraded:
            self._reachable()
        if renewed:
            self._renewed = started
            return True
        if self.is_leader:
            self.is_leader = False
            self._seen = None
            log.warning("polling leadership lost: another replica holds the lease now; "
                        "nothing more is polled, handled or confirmed here")
            await self.on_lost(False)
        return False

    async def _release(self) -> None:
        self._seen = None
        try:
            await self.leases.release(self.name, self.holder, self.clock())
        except Exception as exc:  # noqa: BLE001 - the row then expires by itself
            log.warning("could not release the polling lease (%s); it expires in %.0f s",
                        type(exc).__name__, self.lease)

    def _unreachable(self, exc: BaseException) -> None:
        self._failed_at = self.monotonic()
        if not self.degraded:
            self.degraded = True
            what = ("polling on without it (a standby that reaches it may take over)"
                    if self.is_leader else "standing by")
            log.warning("polling lease: the database does not answer (%s); %s",
                        type(exc).__name__, what)

    def _reachable(self) -> None:
        self.degraded = False
        log.info("polling lease: the database answers again")


class PollGuard(Protocol):
    """What the poller asks its election."""

    async def held(self) -> bool:
        """May this replica poll and handle now?"""
        ...

    async def step_down(self, reason: str) -> None:
        """Give leadership up: this replica cannot poll."""
        ...


class Seen(Protocol):
    """The leader's record of handled updates (a `HandledLog`)."""

    async def skip(self, update_ids: list[int]) -> set[int]:
        """Which of `update_ids` an earlier leader already handled."""
        ...

    async def record(self, update_ids: list[int]) -> None:
        """`update_ids` are handled."""
        ...


class HandledLog:
    """`Seen` on the ``handled_update`` table (storage/handled_updates.py) for one bot. The
    database is asked with a short timeout and, after a failure, not for `QUIET_AFTER_FAILURE`
    seconds: during an outage updates are handled (advice first) without it."""

    QUIET_AFTER_FAILURE = 5.0
    PURGE_EVERY = 3600.0

    def __init__(self, table: HandledUpdates, bot: str, clock: Clock = utcnow,
                 monotonic: Monotonic = time.monotonic, timeout: float = 2.0) -> None:
        self.table = table
        self.bot = bot
        self.clock = clock
        self.monotonic = monotonic
        self.timeout = timeout
        self._failed_at = -math.inf
        self._purged_at = -math.inf

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
        if not update_ids or self._quiet():
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self.table.record(self.bot, update_ids, self.clock())
                if self.monotonic() - self._purged_at > self.PURGE_EVERY:
                    self._purged_at = self.monotonic()
                    await self.table.purge(self.clock())
        except Exception as exc:  # noqa: BLE001 - only a takeover would repeat them
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self._failed_at = self.monotonic()
        log.warning("handled updates: the database does not answer (%s); a leader taking "
                    "over may handle the latest updates again", type(exc).__name__)


class AlwaysLeader:
    """A `PollGuard` for a poller without an election (tests of the loop alone)."""

    async def held(self) -> bool:
        """Always."""
        return True

    async def step_down(self, reason: str) -> None:
        """Nobody to hand over to."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between failed polls: `first` seconds, doubling, at most `cap`."""

    first: float = 1.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row."""
        return min(self.cap, self.first * 2 ** min(max(failures - 1, 0), 30))


def describe_failure(exc: BaseException, token: str) -> str:
    """One line for the log: the error type and Telegram's description, token removed."""
    detail = str(exc)
    for secret in {token, token.partition(":")[2]} - {""}:
        detail = detail.replace(secret, "***")
    detail = " ".join(detail.split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class PollingBot(Protocol):
    """The Bot API calls the poller makes (PTB's `ExtBot`)."""

    async def get_updates(self, *, offset: int | None = None, limit: int | None = None,
                          timeout: int | None = None,
                          allowed_updates: Sequence[str] | None = None) -> Sequence[Update]: ...

    async def delete_webhook(self, *, drop_pending_updates: bool | None = None) -> bool: ...


class UpdateRunner(Protocol):
    """Runs an update's handling in its turn (PTB's `BaseUpdateProcessor`)."""

    async def process_update(self, update: object, coroutine: Awaitable[Any], /) -> None: ...


class PolledApp(Protocol):
    """What the poller uses of the PTB `Application`."""

    @property
    def bot(self) -> PollingBot: ...

    @property
    def update_processor(self) -> UpdateRunner: ...

    def process_update(self, update: Update, /) -> Awaitable[None]: ...


class ConfirmingPoller:
    """``getUpdates`` loop that confirms a batch only after handling all of it."""

    def __init__(self, app: PolledApp, allowed_updates: list[str], guard: PollGuard | None = None,
                 *, limit: int = POLL_LIMIT, timeout: int = POLL_TIMEOUT,
                 on_update: Callable[[], None] | None = None,
                 on_polling: Callable[[bool], None] | None = None,
                 on_waiting: Callable[[int], None] | None = None, seen: Seen | None = None,
                 give_up: float = 60.0,
                 backoff: Backoff = Backoff(), sleep: Sleep = asyncio.sleep,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.app = app
        self.allowed_updates = allowed_updates
        self.guard: PollGuard = guard or AlwaysLeader()
        self.limit = limit
        self.timeout = timeout
        self.on_update = on_update
        self.on_polling = on_polling
        self.on_waiting = on_waiting
        self.seen = seen
        self.give_up = give_up
        self.backoff = backoff
        self.sleep = sleep
        self.monotonic = monotonic
        self.polling = False  # True while the last getUpdates succeeded
        self.failures = 0  # failed polls in a row
        self.waiting: dict[int, float] = {}  # unhandled update id -> monotonic next attempt
        self._attempts: dict[int, int] = {}  # update id -> failed attempts so far
        self._done: list[int] = []  # handled since the last poll (recorded in `seen`)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._confirm_on_exit = True
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
        self._confirm_on_exit = True
        self.waiting.clear()  # left unconfirmed by an earlier term: Telegram still has them
        self._attempts.clear()
        if self.on_waiting is not None:
            self.on_waiting(0)
        self._task = asyncio.create_task(self._loop(), name="aftercare-poller")
        log.info("long polling started (leader)")

    async def stop(self, timeout: float = 5.0, confirm: bool = True) -> None:
        """Stop: a waiting poll is cancelled, a batch being handled may finish first (within
        `timeout`; what is still in hand then is cancelled and not confirmed).
        `confirm`: tell Telegram what was handled (only while still the lease holder)."""
        self._stopping = True
        self._confirm_on_exit = self._confirm_on_exit and confirm
        self._set_polling(False)
        if self._task is None:
            return
        task, self._task = self._task, None
        if task is asyncio.current_task():  # the loop itself lost the lease: it ends itself
            return
        if not self._handling:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        for _ in range(3):  # updates still in hand after `timeout` are cut off, unconfirmed
            if done:
                break
            task.cancel()  # (the loop waits for its updates in hand: cancelled there too)
            done, _ = await asyncio.wait({task}, timeout=timeout)
        else:
            log.error("long polling did not stop within %.0f s", 4 * timeout)
        if done and not task.cancelled() and task.exception() is not None:
            log.error("long polling ended with an error", exc_info=task.exception())
        log.info("long polling stopped")

    def _set_polling(self, polling: bool) -> None:
        if polling != self.polling:
            self.polling = polling
            if self.on_polling is not None:
                self.on_polling(polling)

    async def _loop(self) -> None:
        """Fetch, handle, confirm. The offset asked for (which confirms everything below it)
        is the oldest update still being handled or waiting to be handled again, so nothing
        unhandled is ever confirmed; new updates are fetched while older ones are still
        handled, so one patient's backlog does not hold back everybody else's next message
        (they are started as they come; ones already being handled, or handled, are not
        started twice). Before each poll, and before handling what a poll brought, the lease
        is checked (`PollGuard.held`).

        An update whose handling could not finish because the database was unavailable and
        nothing could be spooled (`not_handled()`, bot/telegram/handling.py) waits: it stays
        unconfirmed, comes back in the next polls and is handled again once its backoff
        (1 s doubling up to the poll backoff's cap) has passed; updates after it are handled
        meanwhile (a patient's emergency is not held behind their unhandled /session) and
        only once each. While one waits, a poll can bring at most `limit` updates from it
        onwards, so new ones wait too once that many have come after it."""
        offset: int | None = None
        running: dict[int, asyncio.Task[bool]] = {}
        newest: int | None = None
        last_ok = self.monotonic()
        holder = True
        try:
            while not self._stopping:
                if not await self.guard.held():
                    holder = False
                    break
                try:
                    updates = await self.app.bot.get_updates(
                        offset=offset, limit=self.limit,
                        timeout=0 if running or self.waiting else self.timeout,
                        allowed_updates=self.allowed_updates)
                except Exception as exc:  # noqa: BLE001 - the loop must not die of any
                    if not await self._failed(exc, self.monotonic() - last_ok):
                        holder = False
                        break
                    continue
                last_ok = self.monotonic()
                if self.failures:
                    log.info("getUpdates works again after %d failed polls", self.failures)
                    self.failures = 0
                if self._stopping:
                    break  # what this poll brought is not started, so not confirmed
                if updates and not await self.guard.held():
                    holder = False  # e.g. woke from a freeze: the new leader has these
                    break
                self._set_polling(True)
                if self.seen is not None:
                    done, self._done = self._done, []
                    await self.seen.record(done)
                    skip = await self.seen.skip([u.update_id for u in updates
                                                 if newest is None or u.update_id > newest])
                else:
                    skip = set()
                started = False
                now = self.monotonic()
                for update in updates:
                    update_id = update.update_id
                    if newest is None or update_id > newest:
                        newest = update_id
                        if update_id in skip:  # an earlier leader handled it: confirm only
                            log.info("update %d was handled by an earlier leader: skipped",
                                     update_id)
                            continue
                    elif self.waiting.get(update_id, math.inf) > now:
                        continue  # being handled, handled, or waiting for its backoff
                    else:
                        del self.waiting[update_id]  # its turn again
                    running[update_id] = asyncio.create_task(self._handle(update))
                    started = True
                self._handling = bool(running)
                if running and not started:  # only updates in hand came back: wait a moment
                    await asyncio.wait(running.values(), timeout=POLL_PAUSE,
                                       return_when=asyncio.FIRST_COMPLETED)
                elif self.waiting and not started:  # Telegram answers at once: don't spin
                    await self.sleep(min(RETRY_POLL_EVERY,
                                         max(0.05, min(self.waiting.values()) - now)))
                self._finished(running)
                self._handling = bool(running)
                if running or self.waiting:
                    offset = min([*running, *self.waiting])
                elif newest is not None:
                    offset = newest + 1
        finally:
            if running:  # stopping: let updates in hand finish (the caller bounds the wait)
                await asyncio.gather(*running.values(), return_exceptions=True)
                self._finished(running)
            self._handling = False
            self._set_polling(False)
        if self.seen is not None and holder:
            done, self._done = self._done, []
            await self.seen.record(done)
        if newest is not None and holder and self._confirm_on_exit and await self.guard.held():
            last = min(self.waiting) if self.waiting else newest + 1
            with contextlib.suppress(TelegramError):  # the next leader does not redo them
                await self.app.bot.get_updates(offset=last, limit=1, timeout=0)

    def _finished(self, running: dict[int, asyncio.Task[bool]]) -> None:
        """Take the finished tasks out of `running`; an update left unhandled (database
        down, nothing spooled) waits for its next attempt."""
        now = self.monotonic()
        for update_id in [i for i, task in running.items() if task.done()]:
            task = running.pop(update_id)
            if task.cancelled():
                handled = False
            elif task.exception() is not None:  # a bug, not an outage: not retried forever
                log.error("update %d: handling failed", update_id, exc_info=task.exception())
                handled = True
            else:
                handled = task.result()
            if handled:
                self._attempts.pop(update_id, None)
                self._done.append(update_id)
                continue
            attempts = self._attempts[update_id] = self._attempts.get(update_id, 0) + 1
            wait = self.backoff.delay(attempts)
            self.waiting[update_id] = now + wait
            log.warning("update %d not handled (database unavailable; attempt %d): not "
                        "confirmed, handled again in %.0f s at the earliest", update_id,
                        attempts, wait)
        if self.on_waiting is not None:
            self.on_waiting(len(self.waiting))

    async def _failed(self, exc: Exception, failing_for: float) -> bool:
        """Log a failed poll and wait before the next; False when the loop must end (the
        lease is gone, or polling has failed for `give_up` seconds: leadership is given up)."""
        self.failures += 1
        self._set_polling(False)
        token = str(getattr(self.app.bot, "token", ""))
        if isinstance(exc, RetryAfter):
            wait = retry_after_seconds(exc)
            reason = f"Telegram asks to wait {wait:.0f} s (429)"
        else:
            wait = self.backoff.delay(self.failures)
            reason = describe_failure(exc, token)
        if self._stopping:
            return True  # the while condition ends the loop
        if not await self.guard.held():
            return False
        if failing_for + wait > self.give_up:
            log.error("getUpdates failed %d times in a row over %.0f s (last: %s)",
                      self.failures, failing_for, reason)
            await self.guard.step_down(f"no successful poll for {failing_for:.0f} s")
            return False
        log.warning("getUpdates failed (%s); polling again in %.1f s", reason, wait)
        await self.sleep(wait)
        return True

    async def _handle(self, update: Update) -> bool:
        """Handle `update`; False when it was not handled (bot/telegram/handling.py)."""
        if self.on_update is not None:
            self.on_update()
        processor = self.app.update_processor
        with handling(self.guard.held) as state:
            await processor.process_update(update, self.app.process_update(update))
        return state.complete


@contextlib.asynccontextmanager
async def elected_polling(app: AnyApplication, settings: Settings, allowed_updates: list[str],
                          on_change: Callable[[bool], None] | None = None,
                          on_waiting: Callable[[int], None] | None = None,
                          ) -> AsyncIterator[LeaderElection]:
    """Stand for election while inside; the leader runs a `ConfirmingPoller`. `on_change`
    hears whether this replica is actually polling (the ``aftercare_polling_leader`` gauge),
    `on_waiting` how many updates wait to be handled again (/readyz)."""
    services = services_of(app)
    assert settings.token is not None  # polling starts only with a bot token
    name = lease_name(settings.token)

    async def elected() -> None:
        await poller.start()

    async def lost(confirm: bool) -> None:
        await poller.stop(confirm=confirm)

    election = LeaderElection(
        LeaseSql(services.database.sessions), name, elected, lost,
        lease=settings.polling_lease_seconds, clock=services.clock)
    poller = ConfirmingPoller(
        app, allowed_updates, election, on_polling=on_change, on_waiting=on_waiting,
        seen=HandledLog(HandledSql(services.database.sessions), name,
                        clock=services.clock),
        give_up=settings.polling_give_up_seconds,
        backoff=Backoff(cap=settings.polling_backoff_max_seconds))
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop), name="aftercare-leader-election")
    log.info("polling: standing for election (lease %.0f s, holder %s)",
             settings.polling_lease_seconds, election.holder)
    try:
        yield election
    finally:
        stop.set()
        await task
