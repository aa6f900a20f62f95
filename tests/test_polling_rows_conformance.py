"""What the polling leader keeps in the database, on SQLite, PostgreSQL and the in-memory twins:
the same tests, each way. The lease rows of the election (`LeaseSql`, storage/leader_lease.py;
`MemoryLeases`, storage/leader_lease_memory.py): taking is a compare-and-set on the beat the
taker saw, every change raises the beat, only the holder renews or releases. The handled
updates (`HandledSql`, storage/handled_updates.py; `MemoryHandled`,
storage/handled_updates_memory.py): recorded per bot, twice is fine, purged after `KEEP`."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage.handled_updates import KEEP
from storage.leader_lease import NO_LEASE, Lease
from tests.twins import NOW, Backend

NAME = "polling:1"
LEASE = dt.timedelta(seconds=15)
LATER = NOW + LEASE


async def test_the_first_taker_of_a_new_lease_wins_and_it_beats_once(backend: Backend) -> None:
    leases = backend.leases
    assert await leases.read(NAME) == NO_LEASE
    assert await leases.take(NAME, "host:1:a", 0, NOW, LATER) is True
    assert await leases.take(NAME, "host:2:b", 0, NOW, LATER) is False  # saw no row: too late
    assert await leases.read(NAME) == Lease("host:1:a", 1, LATER)
    assert await leases.read("polling:2") == NO_LEASE  # another bot's lease


async def test_a_take_over_needs_the_beat_the_taker_saw(backend: Backend) -> None:
    leases = backend.leases
    await leases.take(NAME, "host:1:a", 0, NOW, LATER)
    assert await leases.renew(NAME, "host:1:a", NOW, LATER) is True
    seen = await leases.read(NAME)
    assert seen.beat == 2 and seen.holder == "host:1:a"
    assert await leases.take(NAME, "host:2:b", 1, NOW, LATER) is False  # an old beat
    assert await leases.take(NAME, "host:2:b", seen.beat, LATER, LATER + LEASE) is True
    assert await leases.read(NAME) == Lease("host:2:b", 3, LATER + LEASE)


async def test_only_the_holder_renews_or_releases(backend: Backend) -> None:
    leases = backend.leases
    assert await leases.renew(NAME, "host:1:a", NOW, LATER) is False  # no row
    assert await leases.release(NAME, "host:1:a", NOW) is False
    await leases.take(NAME, "host:1:a", 0, NOW, LATER)
    assert await leases.renew(NAME, "host:2:b", NOW, LATER) is False  # a frozen ex-holder
    assert await leases.release(NAME, "host:2:b", NOW) is False
    assert await leases.read(NAME) == Lease("host:1:a", 1, LATER)
    assert await leases.release(NAME, "host:1:a", NOW) is True
    assert await leases.read(NAME) == Lease(None, 2, None)  # free, and the beat moved
    assert await leases.renew(NAME, "host:1:a", NOW, LATER) is False  # released: not its own
    assert await leases.take(NAME, "host:2:b", 2, NOW, LATER) is True  # taken at once


async def test_of_standbys_taking_at_once_only_one_wins(backend: Backend) -> None:
    leases = backend.leases
    await leases.take(NAME, "host:1:a", 0, NOW, LATER)
    taken = await asyncio.gather(*(leases.take(NAME, f"host:{n}:s", 1, NOW, LATER)
                                   for n in (2, 3, 4)))
    assert sorted(taken) == [False, False, True]
    assert (await leases.read(NAME)).beat == 2


async def test_handled_updates_are_recorded_per_bot_and_twice_is_fine(backend: Backend) -> None:
    handled = backend.handled
    assert await handled.handled("polling:1", []) == set()
    await handled.record("polling:1", [], NOW)  # nothing to record
    await handled.record("polling:1", [5, 6], NOW)
    await handled.record("polling:1", [6, 7], NOW + dt.timedelta(days=1))  # 6 again: fine
    await handled.record("polling:2", [8], NOW)
    assert await handled.handled("polling:1", [4, 5, 6, 7, 8]) == {5, 6, 7}
    assert await handled.handled("polling:2", [5, 8]) == {8}


async def test_handled_updates_are_forgotten_after_they_are_kept(backend: Backend) -> None:
    handled = backend.handled
    await handled.record("polling:1", [5, 6], NOW)
    await handled.record("polling:1", [6, 7], NOW + dt.timedelta(days=1))  # 6 keeps its time
    await handled.record("polling:2", [8], NOW)
    assert await handled.purge(NOW + KEEP) == 0  # exactly `KEEP` old: kept
    assert await handled.purge(NOW + KEEP + dt.timedelta(seconds=1)) == 3  # 5, 6 and 8
    assert await handled.handled("polling:1", [5, 6, 7]) == {7}
    assert await handled.purge(NOW + KEEP + dt.timedelta(seconds=1)) == 0
