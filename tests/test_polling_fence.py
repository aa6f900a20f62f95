"""A replica that lost the polling lease does not poll: the freeze between the lease check and
the poll, reproduced step by step (no timing), on the real PTB bot and HTTP client (httpx's
mock transport stands in for Telegram) over the lease table's in-memory twin; time is a manual
monotonic clock, shared by the replicas as on one host.

The race (found as a flake of tests/test_polling_failover.py): the poll loop checks the lease
and then awaits ``get_updates``; a leader frozen (SIGSTOP) between the two, replaced while
frozen, used to send that poll on waking, and it cut the new leader's waiting poll with 409.
Now the request layer checks again right before the request is written
(bot/telegram/polling/fence.py), the check trusts a renewal only while it is fresh on the
process's own clock (which has moved on after a freeze, even when the freeze hit during the
renewal), and a 409 has the lease confirmed in the database before polling on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from telegram import Update
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.telegram.bot_api import polling_request
from bot.telegram.polling.failures import Backoff
from bot.telegram.polling.lease import LeaderElection, lease_name
from bot.telegram.polling.poller import ConfirmingPoller
from storage.clock import ManualClock
from storage.leader_lease_memory import MemoryLeases
from tests.clocks import Ticker

LEASE = 10.0
TOKEN = "123:abcdef"
NAME = lease_name(TOKEN)
CONFLICT = {"ok": False, "error_code": 409, "description": "Conflict: terminated by other "
            "getUpdates request; make sure that only one bot instance is running"}


class Telegram:
    """The Bot API on a local socket, getUpdates as Telegram answers it: a long poll waits
    until it is timed out (`time_out_polls`) or another poll comes, which ends it with 409.
    Records whose polls reached it (`polls`; each bot's base URL names it) and whose were
    cut (`cut`)."""

    def __init__(self) -> None:
        self.polls: list[str] = []
        self.cut: list[str] = []
        self._waiting: dict[asyncio.Event, list[bool]] = {}  # -> [timed out]
        self.root = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Telegram:
        app = web.Application()
        app.router.add_post("/as/{client}/bot{token}/{method}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.root = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.time_out_polls()
        assert self._runner is not None
        await self._runner.cleanup()

    def base_url(self, client: str) -> str:
        return f"{self.root}/as/{client}/bot"

    def waiting(self) -> int:
        return len(self._waiting)

    async def _answer(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getUpdates":
            params = await request.post()
            status, body = await self.poll(request.match_info["client"],
                                           int(str(params.get("timeout", "0"))))
            return web.json_response(body, status=status)
        result: Any = True
        if method == "getMe":
            result = {"id": 123, "is_bot": True, "first_name": "Aftercare",
                      "username": "aftercare_bot"}
        return web.json_response({"ok": True, "result": result})

    async def poll(self, client: str, timeout: int) -> tuple[int, dict[str, Any]]:
        self.polls.append(client)
        for ended in self._waiting:  # a new poll ends the one waiting (409)
            ended.set()
        self._waiting.clear()
        if timeout:
            ended, timed_out = asyncio.Event(), [False]
            self._waiting[ended] = timed_out
            await ended.wait()
            if not timed_out[0]:
                self.cut.append(client)
                return 409, CONFLICT
        return 200, {"ok": True, "result": []}

    def time_out_polls(self) -> None:
        """The waiting polls end with nothing (their long-poll timeout)."""
        for ended, timed_out in self._waiting.items():
            timed_out[0] = True
            ended.set()
        self._waiting.clear()


class Freezer:
    """The poll loop's `PollGuard`: the election, with a freeze (`arm`) right after one check
    that said yes: the loop then waits, as a SIGSTOPped process would, until `wake`."""

    def __init__(self, election: LeaderElection) -> None:
        self.election = election
        self.armed = False
        self.skip = 0
        self.frozen = asyncio.Event()
        self.woken = asyncio.Event()

    def arm(self, skip: int) -> None:
        """Freeze after the next check that says yes but `skip`."""
        self.armed, self.skip = True, skip

    async def held(self) -> bool:
        held = await self.election.held()
        if held and self.armed:
            if self.skip:
                self.skip -= 1
            else:
                self.armed = False
                self.frozen.set()
                await self.woken.wait()  # frozen between the check and the poll it allowed
        return held

    def fresh(self) -> bool:
        return self.election.fresh()

    async def step_down(self, reason: str) -> None:
        await self.election.step_down(reason)

    async def contested(self) -> bool:
        return await self.election.contested()


class FreezingLeases(MemoryLeases):
    """The lease rows, with a freeze (`armed`) right after one renewal is done."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.renewed = asyncio.Event()
        self.woken = asyncio.Event()

    async def renew(self, name: str, holder: str, now: dt.datetime,
                    expires_at: dt.datetime) -> bool:
        done = await super().renew(name, holder, now, expires_at)
        if self.armed:
            self.armed = False
            self.renewed.set()
            await self.woken.wait()
        return done


class App:
    """What the poller uses of PTB's Application, around a real `ExtBot`."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot
        self.update_processor = self
        self.handled: list[int] = []

    async def process_update(self, update: Any, coroutine: Any = None) -> None:
        if coroutine is not None:
            await coroutine
        elif isinstance(update, Update):
            self.handled.append(update.update_id)


class Replica:
    """One ``aftercare run`` as elected_polling wires it: its election starts and stops its
    poller, whose bot talks to `telegram` through the production poll client."""

    def __init__(self, name: str, leases: MemoryLeases, ticker: Ticker,
                 telegram: Telegram, *, poll: bool = True) -> None:
        self.name = name
        self.poll = poll
        self.events: list[str] = []
        self.election = LeaderElection(leases, NAME, self._elected, self._lost, lease=LEASE,
                                       holder=f"host:{name}", clock=ManualClock(),
                                       monotonic=ticker, is_gone=lambda _h: False)
        self.bot = ExtBot(TOKEN, base_url=telegram.base_url(name), request=HTTPXRequest(),
                          get_updates_request=polling_request())  # the production client
        self.guard = Freezer(self.election)
        self.poller = ConfirmingPoller(App(self.bot), ["message"], self.guard,
                                       backoff=Backoff(first=1, cap=1), sleep=ticker.sleep,
                                       monotonic=ticker)

    async def _elected(self) -> None:
        self.events.append("elected")
        if self.poll:
            await self.poller.start()

    async def _lost(self, confirm: bool) -> None:
        self.events.append("resigned" if confirm else "lost")
        await self.poller.stop(confirm=confirm)

    async def close(self) -> None:
        await self.election.resign()
        await self.poller.stop()
        await self.bot.shutdown()


@pytest.fixture
async def telegram() -> AsyncIterator[Telegram]:
    async with Telegram() as fake:
        yield fake


async def _until(predicate: Callable[[], bool]) -> None:
    async def check() -> None:
        while not predicate():
            await asyncio.sleep(0)
    await asyncio.wait_for(check(), 10)  # a bound on a hang, not a timing assertion


async def _leader_waiting(telegram: Telegram, leader: Replica) -> None:
    """`leader` elected and its long poll waiting at Telegram (after the term's first poll,
    which Telegram answers at once)."""
    await leader.election.step()
    assert leader.election.is_leader
    await _until(lambda: telegram.waiting() == 1 and telegram.polls[-1] == leader.name)


@pytest.mark.parametrize("where", ["after the poll loop's check", "after the request's check"])
async def test_a_leader_frozen_between_its_lease_check_and_its_poll_sends_nothing_on_waking(
        telegram: Telegram, where: str) -> None:
    """Reproduces the flake of test_a_frozen_leader_is_replaced_and_stays_quiet_when_it_wakes
    deterministically: before the fix the woken leader's poll reached Telegram and cut the new
    leader's with 409."""
    leases, ticker = MemoryLeases(), Ticker()
    a, b = (Replica(name, leases, ticker, telegram) for name in ("a", "b"))
    try:
        await _leader_waiting(telegram, a)
        await b.election.step()  # the standby sees the beat
        a.guard.arm(skip=0 if where == "after the poll loop's check" else 1)
        telegram.time_out_polls()  # a's long poll ends with nothing: a checks, then freezes
        await a.guard.frozen.wait()

        # frozen past its lease: the standby takes over and polls
        await b.election.step()
        ticker.now += LEASE + LEASE / 5
        await b.election.step()
        assert b.events == ["elected"]
        await _until(lambda: telegram.waiting() == 1 and telegram.polls[-1] == "b")
        took_over = len(telegram.polls)

        a.guard.woken.set()  # SIGCONT: the clock a reads has moved on by the freeze
        await _until(lambda: not a.poller.running)
        assert a.events == ["elected", "lost"] and not a.election.is_leader
        assert telegram.polls[took_over:] == []  # a's poll never reached Telegram
        assert telegram.cut == [] and telegram.waiting() == 1  # b's poll still waits
        assert b.poller.running
    finally:
        for replica in (a, b):
            await replica.close()


async def test_a_renewal_held_up_past_the_lease_is_not_trusted(telegram: Telegram) -> None:
    """A leader frozen while its renewal ran (the row renewed, then the process stopped) wakes
    to a row someone else took: `held` must not answer from that renewal."""
    leases, ticker = FreezingLeases(), Ticker()
    a, b = (Replica(name, leases, ticker, telegram, poll=False) for name in ("a", "b"))
    try:
        await a.election.step()
        await b.election.step()
        ticker.now += LEASE / 2  # the last renewal is too old to trust: held() renews
        leases.armed = True
        held = asyncio.create_task(a.election.held())
        await leases.renewed.wait()  # renewed in the database, then frozen
        await b.election.step()  # sees the new beat; it then stands still for a lease
        ticker.now += LEASE
        await b.election.step()
        assert b.events == ["elected"]
        leases.woken.set()
        assert not await held
        assert a.events == ["elected", "lost"]
    finally:
        for replica in (a, b):
            await replica.close()


async def test_a_leader_whose_poll_is_cut_by_a_stale_one_confirms_its_lease_and_polls_on(
        telegram: Telegram) -> None:
    """The 409 goes to the poll that was cut, the rightful leader's: it keeps the lease."""
    leases, ticker = MemoryLeases(), Ticker()
    a = Replica("a", leases, ticker, telegram)
    try:
        await _leader_waiting(telegram, a)
        beat = (await leases.read(NAME)).beat
        await telegram.poll("stale", 0)  # a poll from elsewhere ends a's with 409
        await _until(lambda: telegram.waiting() == 1 and telegram.polls[-1] == "a")
        assert telegram.cut == ["a"] and a.election.is_leader and a.poller.running
        assert (await leases.read(NAME)).beat > beat  # confirmed in the database, not trusted
        assert ticker.slept == [1]  # the usual backoff, then polling on
        assert a.events == ["elected"]
    finally:
        await a.close()


async def test_a_leader_that_lost_the_row_stops_at_its_first_409(telegram: Telegram) -> None:
    """Its last renewal is still fresh on its clock, but the row is someone else's: a 409 is
    not waited out and polled past, it has the lease checked in the database."""
    leases, ticker = MemoryLeases(), Ticker()
    a = Replica("a", leases, ticker, telegram)
    try:
        await _leader_waiting(telegram, a)
        row = await leases.read(NAME)
        now = ManualClock()()
        assert await leases.take(NAME, "host:b", row.beat, now, now + dt.timedelta(seconds=10))
        polls = len(telegram.polls)
        await telegram.poll("b", 0)  # the new holder's poll ends a's with 409
        await _until(lambda: not a.poller.running)
        assert a.events == ["elected", "lost"] and ticker.slept == []
        assert telegram.polls[polls:] == ["b"]  # nothing more from a
    finally:
        await a.close()


async def test_a_leader_that_cannot_confirm_its_lease_after_a_409_gives_it_up(
        telegram: Telegram, caplog: pytest.LogCaptureFixture) -> None:
    """The database does not answer: the poller that can prove its lease is the one to poll."""
    leases, ticker = MemoryLeases(), Ticker()
    a = Replica("a", leases, ticker, telegram)
    try:
        await _leader_waiting(telegram, a)
        leases.fail = ConnectionError("database down")
        polls = len(telegram.polls)
        with caplog.at_level(logging.WARNING, logger="bot.telegram.polling"):
            await telegram.poll("other", 0)
            await _until(lambda: not a.poller.running)
        assert a.events == ["elected", "lost"] and not a.election.is_leader
        assert telegram.polls[polls:] == ["other"]
        assert "giving up polling leadership" in caplog.text and "409" in caplog.text
    finally:
        leases.fail = None
        await a.close()
