"""The report spool (storage/spool.py) shared by processes, and what it remembers about an
offline /report (bot/telegram/spooling.py).

* Two processes on one spool file: appends from one while the other replays and rewrites
  are never lost, each entry is stored once, and only one process replays at a time; each
  sees the other's entries in its count (/readyz).
* An offline /report's "describe" entry is in the file, so a restarted process still takes
  the next text as the report; a photo sent before the words is replayed after them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

from bot.telegram.spooling import DESCRIBE_WITHIN, describing_offline, photos_after_descriptions
from storage.spool import ReportSpool, Spooled, SpooledEvent, SpooledReport

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _report(update_id: int, user: int = 1) -> SpooledReport:
    return SpooledReport(update_id, user, user, f"words {update_id}", "urgent", None, None,
                         AT.isoformat(), kind="patient")


def _event(entry: str, update_id: int, user: int = 1, data: str = "") -> SpooledEvent:
    return SpooledEvent(entry, update_id, user, user, "Ivy", data, AT.isoformat())


APPENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from storage.spool import ReportSpool, SpooledReport
    spool = ReportSpool(Path(sys.argv[1]))
    for n in range(int(sys.argv[2])):
        spool.append(SpooledReport(n, 1, 1, "w", None, None, None, "2026-03-02T09:00:00+00:00"))
""")


async def test_another_process_appending_during_replays_loses_nothing(tmp_path: Path) -> None:
    path, count = tmp_path / "shared.spool", 300
    spool = ReportSpool(path)
    stored: list[int] = []

    async def store(item: Spooled) -> None:
        stored.append(item.update_id)
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(count)])
    try:
        while writer.poll() is None:
            await spool.replay(store)  # rewrites the file while the other process appends
            await asyncio.sleep(0.001)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    await spool.replay(store)
    assert sorted(stored) == list(range(count))  # each once, none lost
    assert len(spool) == 0


async def test_one_process_replays_at_a_time_and_each_counts_the_others_entries(
        tmp_path: Path) -> None:
    path = tmp_path / "shared.spool"
    first, second = ReportSpool(path), ReportSpool(path)  # two processes' views of one file
    first.append(_report(1))
    assert len(second) == 1  # the other process's entry counts in its /readyz too
    second.append(_report(2))
    assert len(first) == 2
    inside, release = asyncio.Event(), asyncio.Event()
    stored: list[int] = []

    async def slow(item: Spooled) -> None:
        inside.set()
        await release.wait()
        stored.append(item.update_id)
    replaying = asyncio.create_task(first.replay(slow))
    await inside.wait()
    assert await second.replay(slow) == 0  # the other one is replaying: skip this round
    release.set()
    assert await replaying == 2 and stored == [1, 2]
    assert len(first) == 0 and len(second) == 0


async def test_store_may_keep_an_entry_for_a_later_replay(tmp_path: Path) -> None:
    spool = ReportSpool(tmp_path / "s.spool")
    spool.append(_event("photo", 1))
    spool.append(_report(2))

    async def not_photos(item: Spooled) -> bool:
        return item.entry != "photo"
    assert await spool.replay(not_photos) == 1
    assert [item.entry for item in spool.pending()] == ["photo"]


def test_an_offline_report_waiting_for_words_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.spool"
    ReportSpool(path).append(_event("describe", 10))
    restarted = ReportSpool(path)
    assert describing_offline(restarted, 1, AT + dt.timedelta(minutes=5))
    assert not describing_offline(restarted, 2, AT)  # another patient
    assert not describing_offline(restarted, 1, AT + DESCRIBE_WITHIN + dt.timedelta(seconds=1))
    restarted.append(_event("photo", 11))  # a photo is not the words
    assert describing_offline(ReportSpool(path), 1, AT)
    restarted.append(_report(12))  # the words: described
    assert not describing_offline(ReportSpool(path), 1, AT)


def test_a_photo_between_an_offline_report_and_its_words_is_replayed_after_them() -> None:
    items: list[Spooled] = [_event("photo", 1), _event("describe", 2), _event("photo", 3),
                            _event("photo", 4, user=2), _event("command", 5, data="mydata"),
                            _report(6), _event("photo", 7), _event("describe", 8),
                            _event("photo", 9)]
    order = [item.update_id for item in photos_after_descriptions(items)]
    assert order == [1, 2, 4, 5, 6, 3, 7, 8, 9]


async def test_each_entry_leaves_the_file_as_soon_as_it_is_stored(tmp_path: Path) -> None:
    """A crash (no `finally`) in the middle of a replay repeats at most the entry being
    stored: the ones before it are already gone from the file."""
    path = tmp_path / "s.spool"
    spool = ReportSpool(path)
    for update_id in (1, 2, 3):
        spool.append(_event("command", update_id, data="mydata"))
    left_in_file: list[list[int]] = []

    async def store(item: Spooled) -> None:
        left_in_file.append([i.update_id for i in ReportSpool(path).pending()])
    assert await spool.replay(store) == 3
    assert left_in_file == [[1, 2, 3], [2, 3], [3]]
