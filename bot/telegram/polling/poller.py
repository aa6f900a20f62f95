"""The leader's ``getUpdates`` loop: fetch, hand each update to the application, confirm.

`ConfirmingPoller` confirms a batch of updates (by asking for the next offset) only after every
update in it has been handled, so updates in flight when a leader dies are delivered again to
the next leader: nothing is lost, and only updates being handled at that moment can be answered
twice (see below). An update that could be neither handled nor spooled because the database was
unavailable is not confirmed either: it is fetched again and handled once its backoff has
passed (later updates are handled meanwhile, each once), and /readyz is not ready while one
waits. The leader records what it handled (`HandledLog`, table ``handled_update``) before
each lease check and poll (and when it stops, even when it lost the lease: what it answered
was answered) and skips what an earlier leader recorded, so a leader frozen or killed in the
middle of a batch leaves only the updates being handled at that moment (or since its last
record) to be handled twice, not the batch; what the database did not take is recorded later
(`HandledLog`). It keeps fetching while a batch is handled (the confirmed offset slides up to
the oldest update still in hand), so a flood from one patient does not make everyone else
wait for it. A poll goes out only while the lease is held: checked before each poll and once
more right before the request is written (bot/telegram/polling/fence.py), so a leader frozen
in between sends nothing when it wakes. It survives every failure of ``getUpdates``: a 429
waits the ``retry_after`` Telegram names, anything else (5xx, timeouts, network errors, 409,
unknown errors) waits with exponential backoff (1 s doubling up to
AFTERCARE_POLLING_BACKOFF_MAX_SECONDS); each failure is logged (error type and Telegram's
description, never the token). A 409 (another poller polled after this one) first has the
lease confirmed in the database (`PollGuard.contested`): a replica that lost it, or cannot
confirm it, stops at once. After AFTERCARE_POLLING_GIVE_UP_SECONDS without one successful
poll the leader gives up the lease and sits out one lease period, so another replica (perhaps
on a host that can reach Telegram) takes over. ``aftercare_polling_leader`` reads 1 only while
this replica holds the lease and its last poll succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

from telegram import Update
from telegram.error import Conflict, RetryAfter, TelegramError

from bot.telegram.handling import handling
from bot.telegram.polling.failures import Backoff, describe_failure
from bot.telegram.polling.fence import POLL_GUARD, NotSent
from bot.telegram.polling.ports import AlwaysLeader, Monotonic, PolledApp, PollGuard, Seen, Sleep
from bot.telegram.sender import retry_after_seconds

log = logging.getLogger(__name__)

POLL_LIMIT = 50  # updates per getUpdates batch = the most that can be answered twice
POLL_TIMEOUT = 10  # long-poll seconds
POLL_PAUSE = 0.2  # seconds between polls while updates are being handled
RETRY_POLL_EVERY = 0.5  # seconds between polls while an unhandled update waits
DEFAULT_BACKOFF = Backoff()


class ConfirmingPoller:
    """``getUpdates`` loop that confirms a batch only after handling all of it."""

    def __init__(self, app: PolledApp, allowed_updates: list[str], guard: PollGuard | None = None,
                 *, limit: int = POLL_LIMIT, timeout: int = POLL_TIMEOUT,
                 on_update: Callable[[], None] | None = None,
                 on_polling: Callable[[bool], None] | None = None,
                 on_waiting: Callable[[int], None] | None = None, seen: Seen | None = None,
                 give_up: float = 60.0,
                 backoff: Backoff = DEFAULT_BACKOFF, sleep: Sleep = asyncio.sleep,
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
        is checked (`PollGuard.held`). A term's first poll asks Telegram not to wait
        (timeout 0), so a new leader shows as polling (the gauge) as soon as Telegram answers,
        not only after a long poll with nothing to bring.

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
        first = True  # the term's first poll is answered at once: polling shows as working
        POLL_GUARD.set(self.guard)  # (this task's context) checked again as a poll is sent
        try:
            while not self._stopping:
                # what was answered is recorded before the lease is checked: a leader that
                # answered a batch and then finds the lease gone (a stall under load) still
                # tells the next leader, which gets the batch again, not to answer it twice
                await self._record_done()
                if not await self.guard.held():
                    holder = False
                    break
                try:
                    updates = await self.app.bot.get_updates(
                        offset=offset, limit=self.limit,
                        timeout=0 if first or running or self.waiting else self.timeout,
                        allowed_updates=self.allowed_updates)
                except NotSent:  # the lease went, or went stale, between the check above
                    continue  # and the send: checked again (renewed) at the top, or the end
                except Exception as exc:  # noqa: BLE001 - the loop must not die of any
                    if not await self._failed(exc, self.monotonic() - last_ok):
                        holder = False
                        break
                    continue
                last_ok = self.monotonic()
                first = False
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
                    await self._record_done()
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
        await self._record_done()  # answered here, lease or not: the next leader skips them
        if newest is not None and holder and self._confirm_on_exit and await self.guard.held():
            last = min(self.waiting) if self.waiting else newest + 1
            with contextlib.suppress(TelegramError):  # the next leader does not redo them
                await self.app.bot.get_updates(offset=last, limit=1, timeout=0)

    async def _record_done(self) -> None:
        """Record the updates handled since the last record (`seen`), so a later leader
        does not handle them again."""
        if self.seen is not None:  # (also when nothing is new: it may record what waited)
            done, self._done = self._done, []
            await self.seen.record(done)

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
        if self.on_waiting is not None:  # waiting for its backoff or being tried again now:
            self.on_waiting(len(self._attempts))  # unhandled either way, so not ready yet

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
        if isinstance(exc, Conflict):  # another poller: poll on only with the lease confirmed
            if not await self.guard.contested():
                return False
        elif not await self.guard.held():
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
