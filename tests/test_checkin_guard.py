"""The single-dispatcher lock of SQLite databases: a second dispatcher on the same file is
refused with a clear error, the lock is released on close, other databases need none; a
standby that takes sending over sends no check-in twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path

import pytest

from bot.core.messages import PACKAGED_MESSAGES
from knowledge.catalogue import Catalogue
from scheduler.careplan import load_careplan
from scheduler.dispatcher import OutgoingCheckin, Sender, TickStats
from scheduler.guard import (
    DispatcherLockError,
    SingleDispatcherLock,
    dispatcher_lock,
    sqlite_file,
)
from scheduler.service import CheckinService
from scheduler.sql import ClaimedCheckin, SqlConnector, SqlPlanStore
from storage.clock import ManualClock
from storage.db import Database
from storage.models import CheckIn, SessionSource
from storage.sessions import new_session
from tests.databases import migrated_sqlite
from tests.stores import Stores


class NoSender:
    async def send(self, message: object) -> int:
        raise AssertionError("nothing is due")


def test_only_sqlite_files_get_a_lock(tmp_path: Path) -> None:
    assert sqlite_file(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") == tmp_path / "a.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://u@localhost/db") is None


def test_second_holder_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    first, second = (SingleDispatcherLock(tmp_path / "a.db") for _ in range(2))
    first.acquire()
    with pytest.raises(DispatcherLockError) as refused:
        second.acquire()
    assert f"process {os.getpid()}" in str(refused.value)
    assert str(tmp_path / "a.db") in str(refused.value)
    first.release()
    second.acquire()
    assert second.held
    second.release()


async def test_a_second_service_on_the_same_file_cannot_start(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path / "bot.db")  # a no-op upgrade, not a first migration
    databases = [await Database.connect(url) for _ in range(2)]
    services = [CheckinService(SqlPlanStore(d.sessions), SqlConnector(d.sessions),
                               Stores.over(d).reports, load_careplan(), "Europe/London",
                               texts=Catalogue.load(PACKAGED_MESSAGES), sender=NoSender(),
                               lock=dispatcher_lock(d.engine.url))
                for d in databases]
    try:
        await services[0].start()
        with pytest.raises(DispatcherLockError):
            await services[1].start()
        services[0].close()
        await services[1].start()  # the first one stopped: the second may dispatch now
    finally:
        for service in services:
            service.close()
        for database in databases:
            await database.close()


async def test_a_standby_service_sends_nothing_until_the_first_lets_go(tmp_path: Path) -> None:
    url = migrated_sqlite(tmp_path / "bot.db")  # a no-op upgrade, not a first migration
    databases = [await Database.connect(url) for _ in range(2)]
    services = [CheckinService(SqlPlanStore(d.sessions), SqlConnector(d.sessions),
                               Stores.over(d).reports, load_careplan(), "Europe/London",
                               texts=Catalogue.load(PACKAGED_MESSAGES), sender=NoSender(),
                               lock=dispatcher_lock(d.engine.url))
                for d in databases]
    try:
        assert await services[0].start(standby=True)
        assert not await services[1].start(standby=True)  # the file's sender is the first
        assert services[1].standby and (await services[1].tick()).claimed == 0
        services[0].close()
        assert await services[1].start(standby=True)  # the first exited: take over
        assert not services[1].standby
    finally:
        for service in services:
            service.close()
        for database in databases:
            await database.close()


class HeldSender:
    """Sends into a list, each send held until `go` is set; `entered` once one has begun."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, message: OutgoingCheckin) -> int:
        self.sent.append(message.checkin_id)
        self.entered.set()
        await self.go.wait()
        return len(self.sent)


async def plant_due_checkin(db: Database, telegram_id: int, now: dt.datetime) -> int:
    """A consenting patient's session with its day-1 check-in due a minute ago (one
    transaction: no reconcile sees the session without it)."""
    repo = Stores.over(db)
    await repo.patients.ensure(telegram_id, telegram_id)
    patient = await repo.patients.record_consent(telegram_id, "Patient")
    async with db.sessions.begin() as s:
        session = new_session(s, patient.id, now.date() - dt.timedelta(days=1),
                              SessionSource.STAFF, now)
        await s.flush()
        row = CheckIn(session_id=session.id, patient_id=patient.id, step="day1", day_offset=1,
                      local_date=now.date(), tz="UTC", due_at=now - dt.timedelta(minutes=1),
                      deliver_until=now + dt.timedelta(hours=1), status="pending", attempts=0,
                      created_at=now, updated_at=now)
        s.add(row)
        await s.flush()
        return row.id


async def test_a_tick_during_the_takeover_sends_nothing_twice(tmp_path: Path) -> None:
    """The JobQueue keeps ticking while a standby takes sending over. A tick that claimed a
    row before the takeover put every claim back in the queue would still be sending it when
    its next claim takes the same row again: the patient would get the check-in twice."""
    url = migrated_sqlite(tmp_path / "bot.db")
    databases = [await Database.connect(url) for _ in range(2)]
    clock = ManualClock(dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC))
    sender = HeldSender()
    senders: tuple[Sender, Sender] = (NoSender(), sender)  # the standby sends through `sender`
    services = [CheckinService(SqlPlanStore(d.sessions), SqlConnector(d.sessions),
                               Stores.over(d).reports, load_careplan(), "Europe/London",
                               texts=Catalogue.load(PACKAGED_MESSAGES), clock=clock,
                               sender=sent_by, lock=dispatcher_lock(d.engine.url))
                for d, sent_by in zip(databases, senders, strict=True)]
    standby = services[1]
    # the order of events is forced, not timed: a tick comes in at the takeover's first read
    # (reconcile) and, if it sends, its next claim waits for the takeover's re-queue
    ticks: list[asyncio.Task[TickStats]] = []
    requeued = asyncio.Event()
    listed = standby.manager.store.sessions_without_rows
    claim, release_all = standby.connector.claim_due, standby.connector.release_all_claims
    claims = 0

    async def a_tick_meanwhile(since: dt.date) -> list[int]:
        ids = await listed(since)
        ticks.append(asyncio.create_task(standby.tick()))
        sending = asyncio.create_task(sender.entered.wait())
        await asyncio.wait([ticks[0], sending], return_when=asyncio.FIRST_COMPLETED)
        sending.cancel()
        return ids

    async def second_claim_after_requeue(now: dt.datetime, limit: int, lease: dt.timedelta,
                                         worker: str) -> list[ClaimedCheckin]:
        nonlocal claims
        claims += 1
        if claims == 2:
            await requeued.wait()
        return await claim(now, limit, lease, worker)

    async def requeue(now: dt.datetime) -> int:
        count = await release_all(now)
        requeued.set()
        return count

    try:
        assert await services[0].start(standby=True)
        assert not await standby.start(standby=True)
        checkin = await plant_due_checkin(databases[0], 8100, clock())
        services[0].close()  # the sending process exits
        standby.manager.store.sessions_without_rows = a_tick_meanwhile  # type: ignore[method-assign]
        standby.connector.claim_due = second_claim_after_requeue  # type: ignore[method-assign]
        standby.connector.release_all_claims = requeue  # type: ignore[method-assign]
        assert await standby.start(standby=True)  # takes over; a tick came in meanwhile
        sender.go.set()
        await ticks[0]
        while (await standby.tick()).claimed:
            pass
        assert sender.sent == [checkin]  # the patient got the check-in once
    finally:
        sender.go.set()
        for service in services:
            service.close()
        for database in databases:
            await database.close()
