"""The per-message read on SQLite, PostgreSQL and its in-memory twin: the same tests, each
way (`ContextReader`, storage/context.py; `MemoryContextReader`, storage/context_memory.py).

What every chat message relies on: the user's patient row with their count of reports not
resolved, their latest not-cancelled session and their unexpired conversation states of the
patient kinds, read together, and states even for a user without a patient row.
"""

from __future__ import annotations

import datetime as dt

from storage.chat_state import StateKind
from storage.states import SessionSource
from tests.twins import NOW, Backend

HOUR = dt.timedelta(hours=1)
TODAY = NOW.date()


async def test_a_stranger_has_no_row_no_session_and_no_state(backend: Backend) -> None:
    found = await backend.contexts.patient_context(1)
    assert (found.patient, found.session, found.states) == (None, None, {})


async def test_a_user_without_a_row_still_has_their_patient_states(backend: Backend) -> None:
    await backend.chat_states.put(2, StateKind.FLOW, {"step": "consent"}, HOUR)
    await backend.chat_states.put(2, StateKind.STAFF, {"report_id": 1}, HOUR)
    found = await backend.contexts.patient_context(2)
    assert found.patient is None and found.session is None
    assert {k: s.payload for k, s in found.states.items()} == {"flow": {"step": "consent"}}
    assert found.state("flow", NOW) == {"step": "consent"}
    assert found.state("flow", NOW + HOUR) is None


async def test_the_patient_their_latest_session_open_reports_and_states(
        backend: Backend) -> None:
    patient = await backend.patients.record_consent(3, "Lu")
    await backend.patients.ensure(3, 30)
    add = backend.treatments.add
    older = await add(TODAY - dt.timedelta(days=3), SessionSource.STAFF, patient_id=patient.id)
    newer = await add(TODAY, SessionSource.STAFF, patient_id=patient.id)
    await backend.plant.report(patient.id)
    await backend.plant.report(patient.id)
    await backend.plant.report(patient.id, resolved=True)
    await backend.chat_states.put(3, StateKind.PATIENT, {"last_question": "ok?"}, HOUR)
    await backend.chat_states.put(3, StateKind.REPORT, {"r": 1}, 2 * HOUR)

    found = await backend.contexts.patient_context(3)
    assert found.patient is not None
    assert found.patient.id == patient.id and found.patient.chat_id == 30
    assert found.patient.open_reports == 2
    assert found.session == newer
    assert set(found.states) == {"patient", "report"}
    later = await backend.contexts.patient_context(3, now=NOW + HOUR)  # (maybe cached:
    assert later.state("patient", NOW + HOUR) is None  # callers read states through `state`)
    assert later.state("report", NOW + HOUR) == {"r": 1}

    await backend.plant.cancel_session(newer.id, NOW)
    assert (await backend.contexts.patient_context(3)).session == older
    await backend.plant.cancel_session(older.id, NOW)
    assert (await backend.contexts.patient_context(3)).session is None


async def test_what_the_read_returns_follows_writes(backend: Backend) -> None:
    await backend.patients.ensure(4, 40)
    assert (await backend.contexts.patient_context(4)).patient.has_consent is False  # type: ignore[union-attr]
    await backend.patients.record_consent(4, "Mo")
    await backend.chat_states.put(4, StateKind.PATIENT, {"a": 1}, HOUR)
    found = await backend.contexts.patient_context(4)
    assert found.patient is not None and found.patient.has_consent
    assert found.state("patient", NOW) == {"a": 1}
    await backend.chat_states.clear(4)
    await backend.patients.erase(4)
    assert await backend.contexts.patient_context(4) == (
        await backend.contexts.patient_context(404))
