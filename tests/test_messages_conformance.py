"""The message log on SQLite, PostgreSQL and its in-memory twin: the same tests, each way
(`MessageLog`, storage/messages.py; `MemoryMessageLog`, storage/messages_memory.py).

What callers rely on: a batch of several users' messages is stored at once, and the privacy
rule: the messages of a user without a consenting patient row are dropped, never kept.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.messages import LogEntry
from tests.twins import NOW, Backend


def entry(telegram_id: int, text: str = "hi", direction: str = "in",
          outcome: str | None = None, at: dt.datetime = NOW) -> LogEntry:
    return LogEntry(telegram_id, direction, text, None, outcome, at)


async def test_an_empty_batch_stores_nothing(backend: Backend) -> None:
    assert await backend.messages.log_batch([]) == 0
    assert await backend.messages.count(1) == 0


async def test_only_consenting_patients_messages_are_kept(backend: Backend) -> None:
    await backend.patients.record_consent(2, "Kim")
    await backend.patients.ensure(3, 30)  # a row, but no consent
    batch = [entry(2), entry(3), entry(4), entry(2, "answer", "out", "answered")]
    assert await backend.messages.log_batch(batch) == 2
    assert await backend.messages.count(2) == 2
    assert await backend.messages.count(3) == 0
    assert await backend.messages.count(4) == 0
    summary = await backend.stats.data_summary(2)
    assert summary["messages"] == 2


async def test_a_bad_entry_of_a_consenting_patient_stores_none_of_the_batch(
        backend: Backend) -> None:
    await backend.patients.record_consent(5, None)
    for bad in (entry(5, direction="sideways"), entry(5, outcome="ignored"),
                entry(5, at=dt.datetime(2025, 6, 2, 9, 0))):
        with pytest.raises(ValueError):
            await backend.messages.log_batch([entry(5), bad])
    assert await backend.messages.count(5) == 0
    # the same mistakes in a message that is dropped anyway go unnoticed
    assert await backend.messages.log_batch([entry(6, direction="sideways")]) == 0
