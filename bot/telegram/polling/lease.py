"""The polling lease: which replica polls, kept as a heartbeat row in ``leader_lease``.

`LeaderElection` keeps the row (storage/leader_lease.py; SQLite and PostgreSQL alike): the
holder renews it every ``lease / 5`` seconds; a standby reads it as often and takes it over
(compare-and-set on the row's ``beat``) once the beat has not moved for ``lease`` seconds on
the standby's own monotonic clock, so no two hosts' clocks are compared. A leader that is
killed, frozen (SIGSTOP) or whose host vanishes is therefore replaced within
``lease + lease / 5`` seconds
(15 s lease by default, AFTERCARE_POLLING_LEASE_SECONDS); one that stops cleanly releases the
row and a standby takes it at once, as it does when the row names a process of this host
that no longer exists (a restart after a crash).

The leader trusts its lease for ``lease / 2`` after the start of its last renewal, measured on
its own monotonic clock (injected); past that it renews before it polls or handles anything
(`LeaderElection.held`), and `held` says yes only when that is true at the moment it answers
(a renewal that a freeze held up is not trusted: it renews again). A frozen process's
monotonic clock has moved on when it wakes, so a leader that was frozen past its trust finds
the row taken before it sends anything, and stops without handling or confirming the updates
its last poll brought (the new leader gets them). The same check runs once more right before
a ``getUpdates`` is written (bot/telegram/polling/fence.py), so a freeze between the poll
loop's check and the request is caught too. While the database cannot be reached at all the
leader keeps polling (patients get advice first; reports are spooled) and says so in the log;
a standby that can still reach the database would take over after a lease, and at the first
409 (Telegram ends the earlier of two polls with it) the leader that cannot confirm its lease
in the database gives it up (`LeaderElection.contested`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.telegram.polling.ports import Leases, Monotonic
from storage.clock import Clock, utcnow

log = logging.getLogger(__name__)

Elected = Callable[[], Awaitable[None]]
Lost = Callable[[bool], Awaitable[None]]  # argument: confirm what was handled (clean stop)


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
        """May this replica poll and handle now? True only when, at the moment it answers, the
        last renewal started less than `trust` ago on this process's monotonic clock (or the
        database failed just now: polling goes on without it). Renews first when the last
        renewal is too old to trust (after a freeze, a stall or a database outage), and again
        when that renewal itself was held up past `trust` (frozen while it ran): a process
        frozen past its lease learns it on waking, before it sends anything."""
        while self.is_leader:
            if self.fresh():
                return True
            try:
                if not await self._renew():
                    return False
            except Exception as exc:  # noqa: BLE001 - any database failure
                self._unreachable(exc)
        return False

    def fresh(self) -> bool:
        """`held` from what this replica knows, without asking the database: leader, and the
        last renewal started less than `trust` ago on this process's monotonic clock (or the
        database failed just now: polling goes on without it, advice first; the heartbeat
        retries). Checked as a poll is written (bot/telegram/polling/fence.py)."""
        if not self.is_leader:
            return False
        now = self.monotonic()
        if now - self._renewed < self.trust:
            return True
        return self.degraded and now - self._failed_at < self.every

    async def contested(self) -> bool:
        """Telegram ended a poll with 409: another poller polled after it. Keep polling only
        when the database confirms now (whatever the last renewal's age) that this replica
        holds the lease: the other poller is then a replica that lost it (it finds out before
        its next poll) or not one of ours. A replica that lost the row stops at once; one that
        cannot reach the database to confirm it gives the lease up (`step_down`): the poller
        that can prove its lease is the one that polls."""
        if not self.is_leader:
            return False
        try:
            return await self._renew()  # False: lost (it stopped polling, logged)
        except Exception as exc:  # noqa: BLE001 - any database failure
            self._unreachable(exc)
        await self.step_down("Telegram reports another poller (409) and the database does not "
                             "answer to confirm the lease")
        return False

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
