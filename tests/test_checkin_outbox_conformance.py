"""The check-in outbox over the same rows as the storage aggregates, on SQLite, PostgreSQL and
in memory: the same tests, each way (`SqlPlanStore` / `SqlConnector`, scheduler/sql.py, over
the database the stores use; `MemoryPlanStore` / `MemoryConnector`, scheduler/memory.py, over
the `MemoryTables` the storage twins use).

What the composition relies on: the manager plans the sessions the sessions' store wrote for
the patients the patients' store wrote, the dispatcher sees a pause or an inactive flag set
through the patients' store, the patients' store and /patient see the pause the manager
set, and erasing a patient takes their check-ins with their sessions (ON DELETE CASCADE).
The outbox's own state machine is tested on both by tests/test_manager_connectors.py and
tests/test_dispatch.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from scheduler.careplan import load_careplan
from scheduler.manager import CheckinManager
from storage.states import InactiveReason, SessionSource
from tests.twins import NOW, Backend

LEASE = dt.timedelta(minutes=5)
LATER = NOW + dt.timedelta(days=2)  # day 1's check-in is due, its window open


def manager(backend: Backend) -> CheckinManager:
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    return CheckinManager(backend.plans, plan, "Europe/London", clock=backend.clock)


async def planned(backend: Backend, telegram_id: int) -> tuple[int, int, int]:
    """A consenting patient with a session today and its check-ins planned: (patient,
    session, rows planned)."""
    await backend.patients.ensure(telegram_id, telegram_id * 10)
    patient = await backend.patients.record_consent(telegram_id, f"P{telegram_id}")
    session = await backend.treatments.add(NOW.date(), SessionSource.STAFF,
                                           telegram_id=telegram_id)
    return patient.id, session.id, await manager(backend).schedule_session(session.id)


async def test_the_manager_plans_the_stores_sessions_with_the_stores_patients(
        backend: Backend) -> None:
    patient_id, session_id, made = await planned(backend, 1)
    assert made > 0
    rows = await backend.plans.listing(patient_id=patient_id)
    assert len(rows) == made
    assert {(r.session_id, r.patient_name, r.status) for r in rows} == {
        (session_id, "P1", "pending")}
    assert await backend.plans.sessions_without_rows(NOW.date()) == []
    other = await backend.treatments.add(NOW.date(), SessionSource.STAFF, patient_id=patient_id)
    assert await backend.plans.sessions_without_rows(NOW.date()) == [other.id]


async def test_the_dispatcher_claims_with_the_patients_chat_and_flags(backend: Backend) -> None:
    patient_id, _, _ = await planned(backend, 2)
    claimed = await backend.outbox.claim_due(LATER, 10, LEASE, "w1")
    assert [(c.patient_id, c.chat_id, c.patient_active, c.patient_paused)
            for c in claimed] == [(patient_id, 20, True, False)]
    assert await backend.outbox.release(claimed[0].id, "w1", LATER)
    assert await backend.patients.set_checkins_paused(2, True)
    assert await backend.patients.mark_inactive(InactiveReason.BLOCKED, telegram_id=2) == 1
    again = await backend.outbox.claim_due(LATER, 10, LEASE, "w1")
    assert [(c.id, c.patient_active, c.patient_paused) for c in again] == [
        (claimed[0].id, False, True)]


async def test_an_unreachable_patient_is_inactive_for_the_patients_store(
        backend: Backend) -> None:
    patient_id, _, made = await planned(backend, 3)
    assert await backend.outbox.deactivate_patient(patient_id, "blocked", LATER) == made
    found = await backend.patients.get(3)
    assert found is not None and (found.active, found.inactive_reason) == (False, "blocked")
    assert await backend.outbox.deactivate_patient(404, "blocked", LATER) == 0
    assert await backend.patients.get_by_id(404) is None  # no row made for an unknown id


async def test_the_managers_pause_is_the_patients_flag(backend: Backend) -> None:
    patient_id, _, made = await planned(backend, 4)
    assert await manager(backend).pause_patient(patient_id) == made
    found = await backend.patients.get(4)
    assert found is not None and found.checkins_paused
    assert (await backend.stats.data_summary(4))["checkins_paused"] is True
    assert await manager(backend).resume_patient(patient_id) == made
    found = await backend.patients.get(4)
    assert found is not None and not found.checkins_paused


async def test_a_session_cancelled_by_the_manager_is_cancelled_for_the_sessions_store(
        backend: Backend) -> None:
    patient_id, session_id, made = await planned(backend, 5)
    assert await manager(backend).cancel_session(session_id) == made
    found = await backend.treatments.get(session_id)
    assert found is not None and found.cancelled
    assert await backend.treatments.latest(patient_id) is None


async def test_erasing_a_patient_takes_their_checkins_and_nobody_elses(
        backend: Backend) -> None:
    gone, _, _ = await planned(backend, 6)
    kept, _, made = await planned(backend, 7)
    assert await backend.patients.erase(6)
    assert await backend.plans.listing(patient_id=gone) == []
    assert len(await backend.plans.listing(patient_id=kept)) == made
    counts = await backend.plans.counts()
    assert sum(counts.values()) == made
    claimed = await backend.outbox.claim_due(LATER, 10, LEASE, "w1")
    assert {c.patient_id for c in claimed} == {kept}
