"""Data retention on SQLite, PostgreSQL and its in-memory twin: the same tests, each way
(`SqlRetention`, storage/retention.py; `MemoryRetention`, storage/retention_memory.py).

What the daily job relies on: a patient's messages and resolved reports go once their last
non-cancelled session (or their record's creation, without one) is the retention period ago;
the patient row, sessions and unresolved reports stay; running it again deletes nothing more.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.messages import LogEntry
from storage.states import SessionSource
from tests.twins import NOW, Backend

DAY = dt.timedelta(days=1)
TODAY = NOW.date()


async def patient(backend: Backend, telegram_id: int, created: dt.datetime,
                  *sessions: dt.date) -> int:
    """A consenting patient with two logged messages, an open and a resolved report."""
    found = await backend.patients.record_consent(telegram_id, f"P{telegram_id}", now=created)
    for day in sessions:
        await backend.treatments.add(day, SessionSource.STAFF, patient_id=found.id)
    await backend.messages.log_batch([LogEntry(telegram_id, "in", "hi", None, None, NOW),
                                      LogEntry(telegram_id, "out", "yo", None, None, NOW)])
    await backend.reports.create(telegram_id, "patient", "open one")
    done = await backend.reports.create(telegram_id, "patient", "done one")
    await backend.reports.resolve(done.id, 900, "ok")
    return found.id


async def test_the_period_must_be_a_day_or_more(backend: Backend) -> None:
    with pytest.raises(ValueError):
        await backend.retention.purge(0, NOW)


async def test_messages_and_resolved_reports_go_after_the_last_session_plus_the_period(
        backend: Backend) -> None:
    expired = await patient(backend, 1, NOW - 90 * DAY, TODAY - 60 * DAY, TODAY - 30 * DAY)
    recent = await patient(backend, 2, NOW - 90 * DAY, TODAY - 29 * DAY)
    cancelled = await patient(backend, 3, NOW - 90 * DAY, TODAY - 40 * DAY, TODAY - 5 * DAY)
    await backend.plant.cancel_session(
        (await backend.treatments.of_patient(cancelled))[-1].id, NOW)  # counts from day -40
    never = await patient(backend, 4, NOW - 30 * DAY)  # no session: from the record's creation
    new = await patient(backend, 5, NOW - 29 * DAY)

    result = await backend.retention.purge(30, NOW)
    assert (result.patients, result.messages, result.reports) == (3, 6, 3)
    for gone in (expired, cancelled, never):
        counts = await backend.stats.count_rows(gone)
        assert (counts["patients"], counts["messages"], counts["reports"]) == (1, 0, 1)
    for telegram_id in (1, 3, 4):
        [overview] = await backend.reports.find_patients(f"P{telegram_id}")
        assert [r.text for r in overview.reports] == ["open one"]  # the unresolved one stays
    for kept in (recent, new):
        counts = await backend.stats.count_rows(kept)
        assert (counts["messages"], counts["reports"]) == (2, 2)
    assert (await backend.stats.count_rows(expired))["treatment_sessions"] == 2
    assert [r.telegram_id for r in await backend.reports.queue()] == [1, 2, 3, 4, 5]

    again = await backend.retention.purge(30, NOW)
    assert (again.patients, again.messages, again.reports) == (3, 0, 0)


async def test_a_resolved_reports_trail_and_cards_go_with_it(backend: Backend) -> None:
    await backend.patients.record_consent(6, "Q", now=NOW - 60 * DAY)
    report = await backend.reports.create(6, "triage", "x", urgency="urgent")
    await backend.reports.card_sent(report.id, -100, 1, "card")
    await backend.reports.resolve(report.id, 900, "ok")
    assert (await backend.retention.purge(30, NOW)).reports == 1
    assert await backend.reports.get(report.id) is None
    assert await backend.reports.card(-100, 1) is None
    assert await backend.reports.actions(report.id) == []


async def test_a_run_that_deletes_words_counts_as_an_erasure_so_every_replica_forgets(
        backend: Backend) -> None:
    """Other replicas (and this one) keep patients' words in caches that only an erasure's
    count empties (bot/core/forgetting.py): a purge that deleted messages or reports raises
    it once, a purge that found nothing to delete leaves it alone."""
    await patient(backend, 7, NOW - 90 * DAY, TODAY - 40 * DAY)
    before = await backend.erasures.epoch()
    assert (await backend.retention.purge(30, NOW)).messages == 2
    assert await backend.erasures.epoch() == before + 1
    assert (await backend.retention.purge(30, NOW)).messages == 0
    assert await backend.erasures.epoch() == before + 1
