"""What /mydata shows and the erasure counts on SQLite, PostgreSQL and the in-memory twin:
the same tests, each way (`Stats`, storage/stats.py; `MemoryStats`, storage/stats_memory.py).
"""

from __future__ import annotations

import datetime as dt

from storage.messages import LogEntry
from storage.states import SessionSource
from tests.twins import NOW, Backend

TODAY = NOW.date()
DAY = dt.timedelta(days=1)


async def test_an_unknown_user_has_nothing_stored(backend: Backend) -> None:
    assert await backend.stats.data_summary(1) == {"exists": False}
    assert await backend.stats.count_patients() == 0
    assert set((await backend.stats.count_rows(1)).values()) == {0}


async def test_a_patients_summary(backend: Backend) -> None:
    patient = await backend.patients.ensure(2, 20)
    bare = await backend.stats.data_summary(2)
    assert bare == {"exists": True, "name": None, "timezone": None, "consent_at": None,
                    "created_at": NOW, "active": True, "checkins_paused": False,
                    "sessions": 0, "session_dates": [], "messages": 0,
                    "first_message_at": None, "last_message_at": None, "reports": 0}
    await backend.patients.record_consent(2, "Ned", now=NOW + DAY)
    await backend.patients.set_timezone(2, "Asia/Tokyo")
    await backend.patients.set_checkins_paused(2, True)
    for day in (TODAY, TODAY - 2 * DAY, TODAY - DAY):
        await backend.treatments.add(day, SessionSource.STAFF, patient_id=patient.id)
    cancelled = await backend.treatments.add(TODAY + DAY, SessionSource.STAFF,
                                             patient_id=patient.id)
    await backend.plant.cancel_session(cancelled.id, NOW)
    await backend.messages.log_batch([
        LogEntry(2, "in", "b", None, None, NOW + 3 * DAY),
        LogEntry(2, "in", "a", None, None, NOW + 2 * DAY),
        LogEntry(2, "out", "c", None, "answered", NOW + 4 * DAY)])
    await backend.plant.report(patient.id)
    await backend.plant.report(patient.id, resolved=True)
    other = await backend.patients.record_consent(3, "Oz")
    await backend.treatments.add(TODAY, SessionSource.STAFF, patient_id=other.id)

    assert await backend.stats.data_summary(2) == {
        "exists": True, "name": "Ned", "timezone": "Asia/Tokyo", "consent_at": NOW + DAY,
        "created_at": NOW, "active": True, "checkins_paused": True, "sessions": 3,
        "session_dates": [TODAY - 2 * DAY, TODAY - DAY, TODAY], "messages": 3,
        "first_message_at": NOW + 2 * DAY, "last_message_at": NOW + 4 * DAY, "reports": 2}
    assert await backend.stats.count_rows(patient.id) == {
        "patients": 1, "treatment_sessions": 4, "invites": 0, "messages": 3, "reports": 2}
    assert await backend.stats.count_patients() == 2
