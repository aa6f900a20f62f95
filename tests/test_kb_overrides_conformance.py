"""The clinic's knowledge-base additions on SQLite, PostgreSQL and the in-memory twin: the
same tests, each way (`KBOverrideStore`, storage/kb_overrides.py; `MemoryKBOverrideStore`,
storage/kb_overrides_memory.py).

What the replicas rely on: every change bumps the version (a replica reloads when it differs),
overrides come back in the order they were made, as their JSON round trip.
"""

from __future__ import annotations

import datetime as dt

from tests.twins import NOW, Backend


async def test_nothing_before_the_first_override(backend: Backend) -> None:
    assert await backend.kb_overrides.version() == 0
    assert await backend.kb_overrides.all() == (0, [])
    assert await backend.kb_overrides.remove(1, NOW) is False
    assert await backend.kb_overrides.version() == 0  # nothing removed, nothing changed


async def test_every_change_bumps_the_version_and_rows_keep_their_order(
        backend: Backend) -> None:
    store = backend.kb_overrides
    first = await store.add("entry", "x" * 150, {"q": ["Ça pique ?"], "n": (1, 2)}, 7, NOW)
    second = await store.add("hide", "swelling", {}, None, NOW + dt.timedelta(minutes=1))
    assert await store.version() == 2
    version, rows = await store.all()
    assert version == 2 and [r.id for r in rows] == [first, second]
    assert rows[0].entry_id == "x" * 100 and rows[0].body == {"q": ["Ça pique ?"], "n": [1, 2]}
    assert (rows[0].kind, rows[0].created_by, rows[0].created_at) == ("entry", 7, NOW)
    assert (rows[1].kind, rows[1].created_by) == ("hide", None)
    assert await store.remove(first, NOW) is True
    assert await store.remove(first, NOW) is False
    assert await store.all() == (3, [rows[1]])
    third = await store.add("entry", "later", {}, 7, NOW)
    assert third not in (first, second)  # an id is never given again
