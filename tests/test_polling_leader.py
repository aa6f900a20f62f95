"""The polling lease and the leader's poll loop, on the lease table's in-memory twin, the real
table (SQLite and PostgreSQL) and a scripted Bot API client; time is a manual monotonic clock.

A standby takes over only when the leader's beat has stood still for a lease; a leader that
was frozen finds the row taken before it polls or handles again; a database outage leaves
the leader polling; the loop survives 429, 5xx, timeouts and unknown errors with backoff,
logs each without the token, gives leadership up when it cannot poll, and the gauge reads 1
only while polling works.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot.telegram.handling import may_answer, not_handled
from bot.telegram.polling.failures import Backoff
from bot.telegram.polling.handled import HandledLog
from bot.telegram.polling.lease import LeaderElection, _host, holder_gone, lease_name
from bot.telegram.polling.poller import ConfirmingPoller
from storage import Database
from storage.clock import ManualClock
from storage.handled_updates_memory import MemoryHandled
from storage.leader_lease import LeaseSql
from storage.leader_lease_memory import MemoryLeases
from tests.clocks import Ticker

LEASE = 10.0
NAME = lease_name("123:abcdef")
TOKEN = "123456:SECRET-token-part"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Replica:
    """One election with its own record of what it was told."""

    def __init__(self, leases: Any, ticker: Ticker, holder: str,
                 is_gone: Callable[[str], bool] = lambda _h: False) -> None:
        self.events: list[str] = []
        self.election = LeaderElection(leases, NAME, self._elected, self._lost, lease=LEASE,
                                       holder=holder, clock=ManualClock(), monotonic=ticker,
                                       is_gone=is_gone)

    async def _elected(self) -> None:
        self.events.append("elected")

    async def _lost(self, confirm: bool) -> None:
        self.events.append("resigned" if confirm else "lost")


async def test_a_standby_takes_over_only_when_the_beat_stands_still() -> None:
    leases, ticker = MemoryLeases(), Ticker()
    a, b = Replica(leases, ticker, "host:1:a"), Replica(leases, ticker, "host:2:b")
    await a.election.step()
    await b.election.step()
    assert a.events == ["elected"] and b.events == []
    for _ in range(10):  # the leader renews every lease/5: the standby never takes over
        ticker.now += LEASE / 5
        await a.election.step()
        await b.election.step()
    assert b.events == [] and await a.election.held()

    # a freezes after its last beat: no more renewals
    ticker.now += LEASE / 5
    await b.election.step()
    ticker.now += LEASE - LEASE / 5 - 0.1
    await b.election.step()
    assert b.events == []  # not a full lease since the last beat b saw
    ticker.now += 0.2
    await b.election.step()
    assert b.events == ["elected"]

    # a wakes: before it polls or handles anything it finds the row taken
    assert not await a.election.held()
    assert a.events == ["elected", "lost"] and not a.election.is_leader
    assert (await leases.read(NAME)).holder == "host:2:b"


async def test_a_clean_stop_hands_over_at_once_and_only_one_standby_wins() -> None:
    leases, ticker = MemoryLeases(), Ticker()
    a = Replica(leases, ticker, "host:1:a")
    standbys = [Replica(leases, ticker, f"host:{n}:s") for n in (2, 3, 4)]
    await a.election.step()
    for s in standbys:
        await s.election.step()
    await a.election.resign()
    assert a.events == ["elected", "resigned"]
    await asyncio.gather(*(s.election.step() for s in standbys))
    assert sum(s.election.is_leader for s in standbys) == 1


async def test_the_lease_of_a_crashed_run_on_this_host_is_free_at_once() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert holder_gone(f"{_host()}:{dead.pid}:old")
    assert not holder_gone(f"{_host()}:1:init")  # alive (or not ours to signal)
    assert not holder_gone(f"elsewhere.example:{dead.pid}:old")  # another host: wait
    leases, ticker = MemoryLeases(), Ticker()
    await leases.take(NAME, f"{_host()}:{dead.pid}:old", 0, ManualClock()(), ManualClock()())
    fresh = Replica(leases, ticker, "me:5:x", is_gone=holder_gone)
    await fresh.election.step()
    assert fresh.events == ["elected"]


async def test_during_a_database_outage_the_leader_polls_on_and_nobody_takes_over() -> None:
    leases, ticker = MemoryLeases(), Ticker()
    a, b = Replica(leases, ticker, "host:1:a"), Replica(leases, ticker, "host:2:b")
    await a.election.step()
    await b.election.step()
    leases.fail = OSError("database down")
    for _ in range(20):
        ticker.now += LEASE / 5
        await a.election.step()
        await b.election.step()
        assert await a.election.held()  # advice first: the leader keeps polling
    assert a.election.degraded and b.events == []
    leases.fail = None
    await a.election.step()
    await b.election.step()
    assert not a.election.degraded and a.election.is_leader and b.events == []


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_the_lease_table_takes_renews_and_releases(database_url: str) -> None:
    db = await Database.connect(database_url)
    try:
        leases, ticker = LeaseSql(db.sessions), Ticker()
        a, b = Replica(leases, ticker, "host:1:a"), Replica(leases, ticker, "host:2:b")
        await asyncio.gather(a.election.step(), b.election.step())
        assert [a.election.is_leader, b.election.is_leader].count(True) == 1
        leader, standby = (a, b) if a.election.is_leader else (b, a)
        ticker.now += LEASE / 5
        await leader.election.step()
        await standby.election.step()
        ticker.now += LEASE + 1  # the leader is frozen
        await standby.election.step()
        assert standby.election.is_leader
        assert not await leader.election.held()
        await standby.election.resign()
        row = await leases.read(NAME)
        assert row.holder is None and row.beat >= 4
    finally:
        await db.close()


# --- the poll loop -------------------------------------------------------------------------

class ScriptedBot:
    """getUpdates answers from a script: an exception to raise or a list of update ids."""

    def __init__(self, script: list[Any]) -> None:
        self.token = TOKEN
        self.script = script
        self.calls: list[int | None] = []  # the offset of each call
        self.drained = asyncio.Event()

    async def get_updates(self, offset: int | None = None, **_kw: Any) -> list[Update]:
        self.calls.append(offset)
        if not self.script:
            self.drained.set()
            await asyncio.sleep(0.01)
            return []
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return [Update(update_id) for update_id in step]

    async def delete_webhook(self, **_kw: Any) -> bool:
        return True


class Processor:
    async def process_update(self, _update: object, coroutine: Any) -> None:
        await coroutine


class App:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.update_processor = Processor()
        self.handled: list[int] = []

    async def process_update(self, update: Update) -> None:
        self.handled.append(update.update_id)


class Guard:
    """A scripted `PollGuard`: `held` answers from `answers` (then True)."""

    def __init__(self, answers: list[bool] | None = None) -> None:
        self.answers = answers or []
        self.stepped_down: list[str] = []

    async def held(self) -> bool:
        return self.answers.pop(0) if self.answers else not self.stepped_down

    def fresh(self) -> bool:
        return not self.stepped_down

    async def step_down(self, reason: str) -> None:
        self.stepped_down.append(reason)

    async def contested(self) -> bool:
        return await self.held()


async def test_the_loop_survives_429_5xx_timeouts_and_unknown_errors(
        caplog: pytest.LogCaptureFixture) -> None:
    ticker = Ticker()
    bot = ScriptedBot([RetryAfter(dt.timedelta(seconds=7)),
                       NetworkError("Internal Server Error (500)"), TimedOut(),
                       NetworkError(f"Bad Gateway at /bot{TOKEN}/getUpdates"),
                       TelegramError("something new"), ValueError("not JSON"), [1, 2], [3]])
    app, states = App(bot), list[bool]()
    poller = ConfirmingPoller(app, ["message"], Guard(), on_polling=states.append,
                              give_up=120, backoff=Backoff(first=1, cap=10),
                              sleep=ticker.sleep, monotonic=ticker)
    with caplog.at_level(logging.WARNING, logger="bot.telegram.polling"):
        await poller.start()
        await asyncio.wait_for(bot.drained.wait(), 10)
        await asyncio.wait_for(_until(lambda: app.handled == [1, 2, 3]), 10)
        assert poller.polling and states == [True]
        await poller.stop()
    assert ticker.slept == [7, 2, 4, 8, 10, 10]  # retry_after, then doubling up to the cap
    assert bot.calls[-1] == 4  # everything handled is confirmed
    log = caplog.text
    assert "429" in log and "Internal Server Error" in log and "TimedOut" in log
    assert "something new" in log and "ValueError" in log
    assert TOKEN not in log and "SECRET-token-part" not in log


async def test_a_leader_that_cannot_poll_gives_up_and_reads_0() -> None:
    ticker = Ticker()
    bot = ScriptedBot([[1], *[NetworkError("Bad Gateway") for _ in range(20)]])
    guard, app, states = Guard(), App(bot), list[bool]()
    poller = ConfirmingPoller(app, ["message"], guard, on_polling=states.append, give_up=30,
                              backoff=Backoff(first=1, cap=8), sleep=ticker.sleep,
                              monotonic=ticker)
    await poller.start()
    await asyncio.wait_for(_until(lambda: bool(guard.stepped_down)), 10)
    await asyncio.wait_for(_until(lambda: not poller.running), 10)
    assert states == [True, False] and not poller.polling
    assert sum(ticker.slept) <= 30  # gave up instead of waiting past AFTERCARE_..._GIVE_UP
    assert app.handled == [1]


async def test_a_leader_that_lost_the_lease_handles_and_confirms_nothing_it_polled() -> None:
    bot = ScriptedBot([[7, 8]])
    app = App(bot)
    poller = ConfirmingPoller(app, ["message"], Guard([True, False]))
    await poller.start()
    await asyncio.wait_for(_until(lambda: not poller.running), 10)
    assert app.handled == [] and bot.calls == [None]  # no second getUpdates: no confirmation


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=0.5, cap=30)
    assert [backoff.delay(n) for n in (1, 2, 3, 7, 8, 1000)] == [0.5, 1, 2, 30, 30, 30]


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.005)


# --- updates that could not be handled (database down, nothing spooled) ---------------------

class PendingBot:
    """getUpdates like Telegram: pending update ids, those below `offset` forgotten."""

    def __init__(self, pending: list[int]) -> None:
        self.token = TOKEN
        self.pending = pending
        self.calls: list[int | None] = []
        self.handled: list[int] = []  # the app's record of handled updates
        self.lost: list[int] = []  # confirmed before they were handled

    async def get_updates(self, offset: int | None = None, limit: int = 100,
                          **_kw: Any) -> list[Update]:
        self.calls.append(offset)
        if offset is not None:
            self.lost += [i for i in self.pending if i < offset and i not in self.handled]
            self.pending = [i for i in self.pending if i >= offset]
        await asyncio.sleep(0.001)
        return [Update(i) for i in self.pending[:limit]]

    async def delete_webhook(self, **_kw: Any) -> bool:
        return True


class OutageApp(App):
    """Update ids in `down` are not handled (as the error handler marks a database outage)
    as many times as `down` says; every attempt is in `attempts`."""

    def __init__(self, bot: Any, down: dict[int, int]) -> None:
        super().__init__(bot)
        bot.handled = self.handled
        self.down = down
        self.attempts: list[int] = []

    async def process_update(self, update: Update) -> None:
        self.attempts.append(update.update_id)
        if self.down.get(update.update_id, 0) > 0:
            self.down[update.update_id] -= 1
            not_handled()
            return
        self.handled.append(update.update_id)


async def test_an_update_the_database_could_not_take_is_not_confirmed_but_retried() -> None:
    ticker = Ticker()
    bot = PendingBot([1, 2, 3])
    app, waiting = OutageApp(bot, {2: 2}), list[int]()
    poller = ConfirmingPoller(app, ["message"], Guard(), on_waiting=waiting.append,
                              backoff=Backoff(first=1, cap=4), sleep=ticker.sleep,
                              monotonic=ticker)
    await poller.start()
    await asyncio.wait_for(_until(lambda: app.handled == [1, 3]), 10)
    await asyncio.wait_for(_until(lambda: 1 in waiting), 10)
    bot.pending.append(4)  # arrives while 2 waits: handled at once
    await asyncio.wait_for(_until(lambda: app.handled == [1, 3, 4, 2]), 10)
    await asyncio.wait_for(_until(lambda: bot.pending == []), 10)
    await poller.stop()
    assert sorted(app.attempts) == [1, 2, 2, 2, 3, 4]  # only the unhandled one again
    assert bot.lost == []
    assert ticker.now >= 1000 + 1 + 2  # 1 s, then 2 s of backoff between its attempts
    assert waiting[-1] == 0 and max(waiting) == 1 and not poller.waiting


class GatedRetryApp(OutageApp):
    """As OutageApp, but each retry of an update waits for `gate` before it is handled."""

    def __init__(self, bot: Any, down: dict[int, int]) -> None:
        super().__init__(bot, down)
        self.gate = asyncio.Event()

    async def process_update(self, update: Update) -> None:
        if update.update_id in self.attempts:
            self.attempts.append(update.update_id)
            await self.gate.wait()
            self.handled.append(update.update_id)
            return
        await super().process_update(update)


async def test_an_update_being_retried_still_counts_as_unhandled_until_it_is_handled() -> None:
    """/readyz reads this count: while the retry of an update the database could not take
    is in flight, the bot is not ready (it said 0 between the backoff and the retry's end)."""
    ticker = Ticker()
    bot = PendingBot([7])
    app, waiting = GatedRetryApp(bot, {7: 1}), list[int]()
    poller = ConfirmingPoller(app, ["message"], Guard(), on_waiting=waiting.append,
                              backoff=Backoff(first=1, cap=2), sleep=ticker.sleep,
                              monotonic=ticker)
    await poller.start()
    await asyncio.wait_for(_until(lambda: app.attempts.count(7) == 2), 10)  # retry in flight
    bot.pending.append(8)  # polls go on meanwhile, and each reports the count
    await asyncio.wait_for(_until(lambda: app.handled == [8]), 10)
    await asyncio.wait_for(_until(lambda: len(waiting) >= 3), 10)
    assert waiting[-1] == 1 and 0 not in waiting[waiting.index(1):]
    app.gate.set()
    await asyncio.wait_for(_until(lambda: app.handled == [8, 7] and waiting[-1] == 0), 10)
    await poller.stop()
    assert bot.lost == []


async def test_on_stop_an_update_still_waiting_stays_unconfirmed() -> None:
    ticker = Ticker()
    bot = PendingBot([5, 6])
    app = OutageApp(bot, {5: 100})
    poller = ConfirmingPoller(app, ["message"], Guard(), backoff=Backoff(first=1, cap=2),
                              sleep=ticker.sleep, monotonic=ticker)
    await poller.start()
    await asyncio.wait_for(_until(lambda: app.handled == [6] and app.attempts.count(5) >= 2), 10)
    await poller.stop()
    assert bot.pending[0] == 5 and bot.lost == []


# --- a leader taking over skips what its frozen predecessor handled ------------------------

class HangingApp(App):
    """Update ids in `hang` are never finished (a leader frozen while handling them)."""

    def __init__(self, bot: Any, hang: set[int]) -> None:
        super().__init__(bot)
        self.hang = hang
        self.thaw = asyncio.Event()

    async def process_update(self, update: Update) -> None:
        if update.update_id in self.hang:
            await self.thaw.wait()
            return  # woken after losing the lease: answers nothing
        self.handled.append(update.update_id)


async def _next_leader(table: MemoryHandled, pending: list[int]) -> App:
    """A new leader that Telegram gives the `pending` updates, run until none is left; what
    it answered is in the returned app's `handled`."""
    bot = PendingBot(list(pending))
    app = App(bot)
    leader = ConfirmingPoller(app, ["message"], Guard(),
                              seen=HandledLog(table, "polling:1", clock=lambda: START))
    await leader.start()
    await asyncio.wait_for(_until(lambda: bot.pending == []), 10)
    await leader.stop()
    return app


async def test_a_new_leader_skips_what_the_frozen_one_handled_but_had_not_confirmed() -> None:
    table = MemoryHandled()
    first_bot = PendingBot([1, 2, 3])
    first = HangingApp(first_bot, hang={1})  # 1 in hand, 2 and 3 answered: 1..3 unconfirmed
    guard = Guard()
    frozen = ConfirmingPoller(first, ["message"], guard,
                              seen=HandledLog(table, "polling:1", clock=lambda: START))
    await frozen.start()
    await asyncio.wait_for(_until(lambda: len(table.rows) == 2), 10)
    guard.stepped_down.append("frozen")  # its lease is gone: it polls and confirms no more
    assert first.handled == [2, 3] and first_bot.pending == [1, 2, 3]

    second = await _next_leader(table, first_bot.pending)
    assert second.handled == [1]  # 2 and 3 are not answered twice
    assert sorted(key[1] for key in table.rows) == [1, 2, 3]
    first.thaw.set()
    await asyncio.wait_for(_until(lambda: not frozen.running), 10)
    assert set(first_bot.calls) <= {None, 1}  # it never confirmed 1 or later


class LostAfter:
    """A `PollGuard` held until `app` has handled `ids` (the leader stalls right after
    answering them, and another replica takes the lease meanwhile)."""

    def __init__(self, app: App, ids: list[int]) -> None:
        self.app, self.ids = app, ids

    async def held(self) -> bool:
        return self.fresh()

    def fresh(self) -> bool:
        return sorted(self.app.handled) != self.ids

    async def step_down(self, reason: str) -> None:
        """Not asked here."""

    async def contested(self) -> bool:
        return self.fresh()


async def test_a_leader_that_answered_and_then_lost_the_lease_leaves_no_answer_to_repeat(
        ) -> None:
    table = MemoryHandled()
    first_bot = PendingBot([1, 2])
    first = App(first_bot)
    poller = ConfirmingPoller(first, ["message"], LostAfter(first, [1, 2]),
                              seen=HandledLog(table, "polling:1", clock=lambda: START))
    await poller.start()
    await asyncio.wait_for(_until(lambda: not poller.running), 10)
    assert sorted(first.handled) == [1, 2] and first_bot.pending == [1, 2]  # not confirmed
    assert sorted(key[1] for key in table.rows) == [1, 2]  # ... but recorded as answered

    second = await _next_leader(table, first_bot.pending)
    assert second.handled == []  # nobody is answered twice


async def test_without_the_database_a_leader_handles_everything_it_gets() -> None:
    table, ticker = MemoryHandled(), Ticker()
    table.fail = OSError("database away")
    bot = PendingBot([1, 2])
    app = App(bot)
    poller = ConfirmingPoller(app, ["message"], Guard(),
                              seen=HandledLog(table, "polling:1", monotonic=ticker))
    await poller.start()
    await asyncio.wait_for(_until(lambda: bot.pending == []), 10)
    await poller.stop()
    assert app.handled == [1, 2]


async def test_what_could_not_be_recorded_is_recorded_once_the_database_answers() -> None:
    table, ticker = MemoryHandled(), Ticker()
    seen = HandledLog(table, "polling:1", clock=lambda: START, monotonic=ticker)
    table.fail = OSError("database away")
    await seen.record([1, 2])  # fails: kept
    table.fail = None
    await seen.record([3])  # the database was away a moment ago: kept, not asked
    assert table.rows == {}
    await ticker.sleep(HandledLog.QUIET_AFTER_FAILURE)
    await seen.record([])  # the poll loop's next round
    assert sorted(key[1] for key in table.rows) == [1, 2, 3]
    assert await seen.skip([1, 2, 3, 4]) == {1, 2, 3}  # a next leader skips all three


class Switch:
    """A `PollGuard` held until `lost` is set."""

    def __init__(self) -> None:
        self.lost = False

    async def held(self) -> bool:
        return not self.lost

    def fresh(self) -> bool:
        return not self.lost

    async def step_down(self, reason: str) -> None:
        self.lost = True

    async def contested(self) -> bool:
        return not self.lost


class AnsweringApp(App):
    """Each update waits for `go`, then asks whether it may answer (as `send_replies` does)."""

    def __init__(self, bot: Any) -> None:
        super().__init__(bot)
        self.started = asyncio.Event()
        self.go = asyncio.Event()
        self.answers: list[bool] = []

    async def process_update(self, update: Update) -> None:
        self.started.set()
        await self.go.wait()
        self.answers.append(await may_answer())


async def test_a_leader_woken_after_losing_the_lease_does_not_answer_what_it_had_in_hand(
        ) -> None:
    bot, table, guard = PendingBot([1]), MemoryHandled(), Switch()
    app = AnsweringApp(bot)
    poller = ConfirmingPoller(app, ["message"], guard,
                              seen=HandledLog(table, "polling:1", clock=lambda: START))
    await poller.start()
    await asyncio.wait_for(app.started.wait(), 10)
    guard.lost = True  # frozen meanwhile; another replica took the lease
    app.go.set()
    await asyncio.wait_for(_until(lambda: not poller.running), 10)
    assert app.answers == [False]  # the next leader answers it
    assert table.rows == {} and set(bot.calls) <= {None, 1}  # not recorded, not confirmed


async def test_outside_polling_every_update_may_be_answered() -> None:
    assert await may_answer()


async def test_stopping_cuts_off_an_update_that_never_finishes() -> None:
    bot = PendingBot([1, 2])
    app = HangingApp(bot, hang={1})
    poller = ConfirmingPoller(app, ["message"], Guard())
    await poller.start()
    await asyncio.wait_for(_until(lambda: app.handled == [2]), 10)
    stopping = asyncio.create_task(poller.stop(timeout=0.05))
    done, _ = await asyncio.wait({stopping}, timeout=8)  # a bound on a hang
    assert done, "stop() waited for an update that never finishes"
    assert not poller.running and set(bot.calls) <= {None, 1}  # 1 is not confirmed
