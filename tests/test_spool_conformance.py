"""The report spool as a local file (`ReportSpool`, storage/spool.py) and its in-memory twin
(`MemorySpool`, storage/spool_memory.py): the same tests, each way. The spool is not in the
database (it is what is kept while the database is away), so there is no SQLite or PostgreSQL
side: the twin is proven equal to the file. What only the file does (several processes on one
file, torn lines after a crash, owner-only permissions) is in tests/test_spool.py and
tests/test_outage.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.ports import Spool
from storage.spool import ReportSpool, Spooled, SpooledEvent, SpooledReport
from storage.spool_memory import MemorySpool

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).isoformat()


@pytest.fixture(params=["file", "memory"])
def spool(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Spool]:
    yield ReportSpool(tmp_path / "reports.spool") if request.param == "file" else MemorySpool()


def _report(update_id: int, user: int = 1) -> SpooledReport:
    return SpooledReport(update_id, user, user, f"words {update_id}", "urgent", None, None, AT,
                         kind="patient", describes=update_id - 1)


def _event(entry: str, update_id: int, user: int = 1) -> SpooledEvent:
    return SpooledEvent(entry, update_id, user, user, "Ivy", "", AT, describing=update_id - 2)


def _ids(items: list[Spooled]) -> list[tuple[str, int]]:
    return [(item.entry, item.update_id) for item in items]


def test_entries_are_kept_in_order_once_per_kind_and_update(spool: Spool) -> None:
    assert len(spool) == 0 and spool.pending() == []
    spool.append(_report(7))
    spool.append(_event("photo", 7))  # the same update, another kind: kept too
    spool.append(_report(7))  # delivered twice: once
    spool.append(_event("describe", 3))
    assert len(spool) == 3
    assert spool.pending() == [_report(7), _event("photo", 7), _event("describe", 3)]
    assert spool.location


async def test_a_replay_stores_each_in_order_and_empties_the_spool(spool: Spool) -> None:
    for update_id in (1, 2, 3):
        spool.append(_report(update_id))
    stored: list[int] = []
    left: list[int] = []

    async def store(item: Spooled) -> None:
        stored.append(item.update_id)
        left.append(len(spool))  # the ones stored before are gone already
    assert await spool.replay(store) == 3
    assert stored == [1, 2, 3] and left == [3, 2, 1] and len(spool) == 0
    assert await spool.replay(store) == 0 and stored == [1, 2, 3]


async def test_a_replay_follows_the_order_it_is_given(spool: Spool) -> None:
    for update_id in (1, 2, 3):
        spool.append(_report(update_id))
    stored: list[int] = []

    async def store(item: Spooled) -> None:
        stored.append(item.update_id)
    assert await spool.replay(store, lambda items: items[::-1]) == 3
    assert stored == [3, 2, 1]


async def test_a_failure_stops_the_replay_and_the_next_goes_on_from_it(spool: Spool) -> None:
    for update_id in (1, 2, 3):
        spool.append(_report(update_id))
    stored: list[int] = []
    down = True

    async def store(item: Spooled) -> None:
        if item.update_id == 2 and down:
            raise OSError("the database went away again")
        stored.append(item.update_id)
    with pytest.raises(OSError):
        await spool.replay(store)
    assert stored == [1] and _ids(spool.pending()) == [("report", 2), ("report", 3)]
    down = False
    assert await spool.replay(store) == 2
    assert stored == [1, 2, 3] and len(spool) == 0


async def test_an_entry_kept_is_tried_again_after_the_others(spool: Spool) -> None:
    spool.append(_event("photo", 1))
    spool.append(_report(2))
    spool.append(_event("photo", 3))  # kept every time
    tried: list[tuple[str, int]] = []

    async def store(item: Spooled) -> bool:
        tried.append((item.entry, item.update_id))
        if item.update_id == 3:
            return False
        return item.entry != "photo" or ("report", 2) in tried  # after the report: stored
    assert await spool.replay(store) == 2
    assert tried == [("photo", 1), ("report", 2), ("photo", 3), ("photo", 1), ("photo", 3)]
    assert _ids(spool.pending()) == [("photo", 3)]  # for the next replay


async def test_entries_taken_with_another_are_removed_and_not_stored(spool: Spool) -> None:
    spool.append(_event("describe", 1))
    spool.append(_event("photo", 3))
    spool.append(_report(4))
    spool.append(_event("photo", 5))
    stored: list[tuple[str, int]] = []

    async def store(item: Spooled) -> None:
        stored.append((item.entry, item.update_id))
        if isinstance(item, SpooledReport):  # the words take the photos sent before them
            spool.remove([other for other in spool.pending() if other.entry == "photo"])
    assert await spool.replay(store, lambda items: [items[2], items[0], items[1],
                                                     items[3]]) == 4
    assert stored == [("report", 4), ("describe", 1)] and len(spool) == 0


async def test_a_new_entry_while_replaying_waits_for_the_next_replay(spool: Spool) -> None:
    spool.append(_report(1))

    async def store(item: Spooled) -> None:
        if item.update_id == 1:
            spool.append(_report(2))  # the patient writes while the replay runs
    assert await spool.replay(store) == 1
    assert _ids(spool.pending()) == [("report", 2)]
    assert await spool.replay(store) == 1 and len(spool) == 0
