"""The web desk's used sign-ins on SQLite, PostgreSQL and the in-memory twin: the same tests,
each way (`DeskLoginStore`, storage/desk_logins.py; `MemoryDeskLoginStore`,
storage/desk_logins_memory.py): a login payload works once, until it is too old anyway."""

from __future__ import annotations

import datetime as dt

from tests.twins import NOW, Backend

HOUR = dt.timedelta(hours=1)


async def test_a_payload_is_accepted_once(backend: Backend) -> None:
    logins = backend.desk_logins
    assert await logins.use("a" * 64, 77, NOW, NOW + HOUR) is True
    assert await logins.use("a" * 64, 77, NOW, NOW + HOUR) is False  # a replay
    assert await logins.use("a" * 64 + "tail", 78, NOW, NOW + HOUR) is False  # same 64 chars
    assert await logins.use("b" * 64, 77, NOW, NOW + HOUR) is True


async def test_purging_forgets_only_payloads_past_their_expiry(backend: Backend) -> None:
    logins = backend.desk_logins
    await logins.use("old", 77, NOW, NOW + HOUR)
    await logins.use("new", 77, NOW, NOW + 2 * HOUR)
    assert await logins.purge(NOW + HOUR) == 0  # at its expiry: still kept
    assert await logins.purge(NOW + HOUR + dt.timedelta(seconds=1)) == 1
    assert await logins.purge(NOW + HOUR + dt.timedelta(seconds=1)) == 0
    assert await logins.use("new", 77, NOW, NOW + HOUR) is False
    assert await logins.use("old", 77, NOW, NOW + HOUR) is True  # forgotten: a new sign-in
