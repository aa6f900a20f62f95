"""The per-message patient read is cached briefly, and never serves data this process changed."""

from __future__ import annotations

import datetime as dt

from storage import Database
from tests.stores import Stores

NOW = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)


async def test_own_writes_are_seen_at_once(database_url: str) -> None:
    db = await Database.connect(database_url)
    try:
        repo = Stores.over(db, clock=lambda: NOW)
        await repo.patients.ensure(7, 7)
        await repo.patients.record_consent(7, "Ana")
        patient, session = await repo.patient_and_session(7)
        assert patient is not None and session is None
        assert await repo.patient_and_session(7) == (patient, None)  # served from the cache
        await repo.treatments.add(dt.date(2026, 3, 9), "staff", telegram_id=7)
        _, session = await repo.patient_and_session(7)
        assert session is not None and session.session_date == dt.date(2026, 3, 9)
        await repo.patients.set_timezone(7, "Asia/Tokyo")
        patient, _ = await repo.patient_and_session(7)
        assert patient is not None and patient.timezone == "Asia/Tokyo"
        await repo.patients.erase(7)
        assert await repo.patient_and_session(7) == (None, None)
    finally:
        await db.close()


async def test_other_processes_writes_are_seen_after_the_ttl(database_url: str) -> None:
    ours, theirs = await Database.connect(database_url), await Database.connect(database_url)
    ticks = [0.0]
    ours.patient_cache.clock = lambda: ticks[0]
    try:
        repo, other = Stores.over(ours, clock=lambda: NOW), Stores.over(theirs, clock=lambda: NOW)
        await repo.patients.ensure(8, 8)
        await repo.patients.record_consent(8, "Bo")
        assert (await repo.patient_and_session(8))[1] is None
        await other.treatments.add(dt.date(2026, 3, 1), "staff", telegram_id=8)  # e.g. the CLI
        assert (await repo.patient_and_session(8))[1] is None  # still cached
        ticks[0] += ours.patient_cache.ttl + 0.1
        _, session = await repo.patient_and_session(8)
        assert session is not None and session.session_date == dt.date(2026, 3, 1)
    finally:
        await ours.close()
        await theirs.close()
