"""The single-dispatcher lock of SQLite databases: a second dispatcher on the same file is
refused with a clear error, the lock is released on close, other databases need none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.messages import PACKAGED_MESSAGES
from knowledge.catalogue import Catalogue
from scheduler.careplan import load_careplan
from scheduler.guard import (
    DispatcherLockError,
    SingleDispatcherLock,
    dispatcher_lock,
    sqlite_file,
)
from scheduler.service import CheckinService
from scheduler.sql import SqlConnector, SqlPlanStore
from storage.db import Database
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
