"""The treatment sessions aggregate on SQLite, PostgreSQL and its in-memory twin: the same
tests, each way (`SessionStore`, storage/sessions.py; `MemorySessionStore`,
storage/sessions_memory.py).

What callers rely on: a session needs a known patient given one way, a date the patient typed
needs consent, the latest session is the not-cancelled one with the greatest date (the
recovery day counts from it), and a patient's sessions come oldest first, cancelled ones
only when asked for.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.patients import ConsentRequired
from storage.states import SessionSource
from tests.twins import NOW, Backend

DAY = dt.timedelta(days=1)
TODAY = NOW.date()


async def test_a_session_needs_one_known_patient(backend: Backend) -> None:
    with pytest.raises(ValueError):
        await backend.treatments.add(TODAY, SessionSource.STAFF)
    with pytest.raises(ValueError):
        await backend.treatments.add(TODAY, SessionSource.STAFF, telegram_id=1, patient_id=1)
    with pytest.raises(ValueError):
        await backend.treatments.add(TODAY, "guess", telegram_id=1)
    with pytest.raises(LookupError):
        await backend.treatments.add(TODAY, SessionSource.STAFF, telegram_id=404)
    with pytest.raises(LookupError):
        await backend.treatments.add(TODAY, SessionSource.STAFF, patient_id=404)
    assert await backend.treatments.get(404) is None
    assert await backend.treatments.latest(404) is None
    assert await backend.treatments.of_patient(404) == []


async def test_a_date_the_patient_typed_needs_consent_a_staff_date_does_not(
        backend: Backend) -> None:
    patient = await backend.patients.ensure(2, 20)
    with pytest.raises(ConsentRequired):
        await backend.treatments.add(TODAY, SessionSource.PATIENT, telegram_id=2)
    staff = await backend.treatments.add(TODAY, "staff", patient_id=patient.id)
    assert (staff.patient_id, staff.session_date, staff.source) == (patient.id, TODAY, "staff")
    assert staff.created_at == NOW and not staff.cancelled and staff.cancelled_at is None
    await backend.patients.record_consent(2, "Al")
    typed = await backend.treatments.add(TODAY - DAY, "patient", telegram_id=2)
    assert typed.source == "patient" and typed.id != staff.id
    assert await backend.treatments.get(typed.id) == typed


async def test_the_latest_session_has_the_greatest_date_and_is_not_cancelled(
        backend: Backend) -> None:
    patient = await backend.patients.ensure(3, 30)
    add = backend.treatments.add
    early = await add(TODAY - 5 * DAY, "staff", patient_id=patient.id)
    late = await add(TODAY, "staff", patient_id=patient.id)
    same_day = await add(TODAY, "staff", patient_id=patient.id)  # same date: the later id wins
    await add(TODAY - 9 * DAY, "staff", patient_id=patient.id)  # added last, dated earlier
    assert await backend.treatments.latest(patient.id) == same_day
    assert await backend.plant.cancel_session(same_day.id, NOW) is True
    assert await backend.plant.cancel_session(same_day.id, NOW) is False  # already
    assert await backend.treatments.latest(patient.id) == late
    await backend.plant.cancel_session(late.id, NOW)
    assert await backend.treatments.latest(patient.id) == early
    cancelled = await backend.treatments.get(late.id)
    assert cancelled is not None and cancelled.cancelled and cancelled.cancelled_at == NOW


async def test_a_patients_sessions_come_oldest_first(backend: Backend) -> None:
    patient = await backend.patients.ensure(4, 40)
    other = await backend.patients.ensure(5, 50)
    add = backend.treatments.add
    b = await add(TODAY, "staff", patient_id=patient.id)
    a = await add(TODAY - DAY, "staff", patient_id=patient.id)
    c = await add(TODAY, "staff", patient_id=patient.id)
    await add(TODAY, "staff", patient_id=other.id)
    await backend.plant.cancel_session(b.id, NOW)
    every = await backend.treatments.of_patient(patient.id)
    assert [s.id for s in every] == [a.id, b.id, c.id]
    assert [s.id for s in await backend.treatments.of_patient(patient.id, False)] == [a.id, c.id]
