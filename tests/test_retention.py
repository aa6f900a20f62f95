"""Data retention (AFTERCARE_RETENTION_DAYS) on SQLite and PostgreSQL with a controlled clock."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import SessionSource, Urgency
from storage.models import ReportKind, ReportStatus
from storage.retention import purge_expired
from tests.databases import columns_holding, sqlite_files_holding
from tests.records import cancel_session, log_message
from tests.stores import Stores

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
DAYS = 30


async def patient(repo: Stores, telegram_id: int, last_session: dt.date | None) -> None:
    """A consenting patient with one logged exchange, a resolved and an open report."""
    created = NOW - dt.timedelta(days=400)
    await repo.patients.ensure(telegram_id, telegram_id, now=created)
    await repo.patients.record_consent(telegram_id, "Ana", now=created)
    if last_session is not None:
        await repo.treatments.add(last_session - dt.timedelta(days=60), SessionSource.STAFF,
                                  telegram_id=telegram_id, now=created)
        await repo.treatments.add(last_session, SessionSource.STAFF, telegram_id=telegram_id,
                                  now=created)
    await log_message(repo, telegram_id, "in", "is this swelling normal?", now=created)
    await log_message(repo, telegram_id, "out", "Some swelling is normal.", now=created)
    done = await repo.reports.create(telegram_id, ReportKind.QUESTION, "call me", now=created)
    await repo.reports.set_status(done.id, ReportStatus.RESOLVED, now=created)
    await repo.reports.create(telegram_id, ReportKind.TRIAGE, "spreading redness",
                              urgency=Urgency.URGENT, now=created)


async def rows(repo: Stores, telegram_id: int) -> dict[str, int]:
    info = await repo.patients.get(telegram_id)
    assert info is not None
    return await repo.stats.count_rows(info.id)


async def test_messages_and_resolved_reports_go_after_the_retention_period(
        repo: Stores) -> None:
    old = NOW.date() - dt.timedelta(days=DAYS)  # exactly the retention period ago
    recent = NOW.date() - dt.timedelta(days=DAYS - 1)
    await patient(repo, 1, old)
    await patient(repo, 2, recent)
    await patient(repo, 3, None)  # never had a session: counts from record creation

    result = await purge_expired(repo.sessions, DAYS, NOW)

    expired, kept, no_session = await rows(repo, 1), await rows(repo, 2), await rows(repo, 3)
    assert expired["messages"] == 0 and no_session["messages"] == 0
    assert expired["reports"] == 1 and no_session["reports"] == 1  # the open one stays
    assert kept == {"patients": 1, "treatment_sessions": 2, "invites": 0, "messages": 2,
                    "reports": 2}
    assert expired["patients"] == 1 and expired["treatment_sessions"] == 2  # the record stays
    assert (result.messages, result.reports) == (4, 2)
    again = await purge_expired(repo.sessions, DAYS, NOW)  # idempotent: every replica runs it
    assert (again.messages, again.reports) == (0, 0)


async def test_purged_words_stay_in_no_column_and_no_file(repo: Stores) -> None:
    """What the purge deletes is in no table's column, nor on SQLite in the file or its
    write-ahead log (which kept the pages written before the delete: `empty_wal`); the
    words of a patient still within the period, in the same tables, stay."""
    gone, kept = "qzxgonewordq", "qzxkeptwordq"
    await patient(repo, 7, NOW.date() - dt.timedelta(days=DAYS + 1))
    await patient(repo, 8, NOW.date())
    await log_message(repo, 7, "in", f"my {gone} hurts", now=NOW - dt.timedelta(days=DAYS))
    await log_message(repo, 8, "in", f"my {kept} hurts", now=NOW)
    engine = repo.sessions.kw["bind"]
    await purge_expired(repo.sessions, DAYS, NOW)
    assert await columns_holding(engine, gone) == []
    assert sqlite_files_holding(engine.url, gone) == []
    assert await columns_holding(engine, kept) == ["messages.text"]


async def test_a_new_session_restarts_the_clock(repo: Stores) -> None:
    await patient(repo, 5, NOW.date() - dt.timedelta(days=DAYS + 10))
    await repo.treatments.add(NOW.date() - dt.timedelta(days=2), SessionSource.PATIENT,
                              telegram_id=5, now=NOW)
    await purge_expired(repo.sessions, DAYS, NOW)
    assert (await rows(repo, 5))["messages"] == 2

    later = NOW + dt.timedelta(days=DAYS)
    await purge_expired(repo.sessions, DAYS, later)
    assert (await rows(repo, 5))["messages"] == 0


async def test_a_cancelled_session_does_not_count(repo: Stores) -> None:
    await patient(repo, 6, NOW.date() - dt.timedelta(days=DAYS + 5))
    recent = await repo.treatments.add(NOW.date() - dt.timedelta(days=1), SessionSource.STAFF,
                                       telegram_id=6, now=NOW)
    await cancel_session(repo, recent.id, now=NOW)
    await purge_expired(repo.sessions, DAYS, NOW)
    assert (await rows(repo, 6))["messages"] == 0


async def test_retention_must_be_positive(repo: Stores) -> None:
    with pytest.raises(ValueError):
        await purge_expired(repo.sessions, 0, NOW)
