"""Short-lived conversation state on SQLite, PostgreSQL and its in-memory twin: the same
tests, each way (`ChatStateStore`, storage/chat_state.py; `MemoryChatStateStore`,
storage/chat_state_memory.py).

What callers rely on: one state per user and kind, replaced by the next, read back as its
JSON round trip, absent from the moment it expires (and purged then), cleared by kind or all
at once, and the staff's pending actions listed together.
"""

from __future__ import annotations

import datetime as dt

from storage.chat_state import StateKind
from tests.twins import NOW, Backend

HOUR = dt.timedelta(hours=1)
P, S, R, F = StateKind.PATIENT, StateKind.STAFF, StateKind.REPORT, StateKind.FLOW


async def test_nothing_is_stored_for_an_unknown_user(backend: Backend) -> None:
    states = backend.chat_states
    assert await states.get(1, P) is None
    assert await states.get_many(1, [P, R, F]) == {}
    assert await states.all_of_kind(S) == {}
    assert await states.clear(1) is False
    assert await states.clear(1, P) is False
    assert await states.purge_expired() == 0


async def test_a_state_comes_back_as_its_json_round_trip_and_the_next_replaces_it(
        backend: Backend) -> None:
    states = backend.chat_states
    await states.put(2, P, {"pair": (1, 2), "words": "café", "none": None}, HOUR)
    assert await states.get(2, P) == {"pair": [1, 2], "words": "café", "none": None}
    await states.put(2, P, {"n": 2}, HOUR)
    assert await states.get(2, P) == {"n": 2}
    assert await states.get(2, R) is None  # one state per kind
    await states.put(2, "report", {"r": 1}, HOUR)  # type: ignore[arg-type]
    found = await states.get_many(2, [P, R, F])
    assert {k: v.payload for k, v in found.items()} == {"patient": {"n": 2}, "report": {"r": 1}}
    assert found["patient"].expires_at == NOW + HOUR
    assert await states.get(3, P) is None  # another user's


async def test_a_state_is_absent_from_the_moment_it_expires(backend: Backend) -> None:
    states = backend.chat_states
    await states.put(4, P, {"a": 1}, HOUR)
    await states.put(5, P, {"b": 2}, 2 * HOUR)
    assert await states.get(4, P, now=NOW + HOUR - dt.timedelta(seconds=1)) == {"a": 1}
    assert await states.get(4, P, now=NOW + HOUR) is None
    backend.clock.advance(HOUR)  # the store's clock when no time is given
    assert await states.get(4, P) is None
    assert await states.get_many(4, [P]) == {}
    assert await states.get(5, P) == {"b": 2}
    await states.put(4, P, {"a": 3}, HOUR)  # a new state after expiry starts afresh
    assert await states.get(4, P) == {"a": 3}
    assert await states.purge_expired(now=NOW + 2 * HOUR) == 2
    assert await states.get(4, P, now=NOW) is None  # purged: gone even for an earlier reader


async def test_clearing_one_kind_or_every_kind(backend: Backend) -> None:
    states = backend.chat_states
    for kind in (P, R, F):
        await states.put(6, kind, {"k": kind.value}, HOUR)
    await states.put(7, P, {"k": "other"}, HOUR)
    assert await states.clear(6, R) is True
    assert await states.clear(6, R) is False
    assert set(await states.get_many(6, [P, R, F])) == {"patient", "flow"}
    assert await states.clear(6) is True
    assert await states.get_many(6, [P, R, F]) == {}
    assert await states.get(7, P) == {"k": "other"}


async def test_every_unexpired_state_of_a_kind(backend: Backend) -> None:
    states = backend.chat_states
    await states.put(8, S, {"report_id": 1}, HOUR)
    await states.put(9, S, {"report_id": 2}, 2 * HOUR)
    await states.put(10, P, {"report_id": 3}, 2 * HOUR)
    assert await states.all_of_kind(S) == {8: {"report_id": 1}, 9: {"report_id": 2}}
    assert await states.all_of_kind(S, now=NOW + HOUR) == {9: {"report_id": 2}}
