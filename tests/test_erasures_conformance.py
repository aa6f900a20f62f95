"""The count of erasures (`ErasureSql`, storage/erasures.py; `MemoryErasures`,
storage/erasures_memory.py) on SQLite, PostgreSQL and the in-memory twin: the same tests, each
way. Every erasure counts once, in its own transaction, whether or not there was a patient row
(a user without one may have written too); the row holds a number only."""

from __future__ import annotations

import asyncio

from tests.twins import Backend


async def test_every_erasure_counts_once(backend: Backend) -> None:
    assert await backend.erasures.epoch() == 0  # no erasure yet (and no row)
    await backend.patients.ensure(11, 11)
    await backend.patients.record_consent(11, "Bea")
    assert await backend.patients.erase(11) is True
    assert await backend.erasures.epoch() == 1
    assert await backend.patients.erase(11) is False  # no row now: counted all the same
    assert await backend.patients.erase(12) is False  # never had one
    assert await backend.erasures.epoch() == 3
    backend.erasures.forget_cached()  # nothing to read back: it only empties a cache


async def test_erasures_at_once_all_count(backend: Backend) -> None:
    for user in range(20, 26):
        await backend.patients.ensure(user, user)
    erased = await asyncio.gather(*(backend.patients.erase(user) for user in range(20, 26)))
    assert erased == [True] * 6
    assert await backend.erasures.epoch() == 6
