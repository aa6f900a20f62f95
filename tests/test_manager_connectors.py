"""The check-in manager on its SQL store and on the in-memory twin: the same tests, both ways.

`SqlPlanStore` (scheduler/sql.py) on SQLite and PostgreSQL and `MemoryPlanStore`
(scheduler/memory.py) must behave alike; each test below runs on all three. Patients and
sessions are planted the way each backend holds them (the repository for SQL, dicts for the
twin); everything else goes through `CheckinManager`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from scheduler.careplan import CarePlan, load_careplan
from scheduler.manager import CheckinManager, report_hold
from scheduler.memory import MemoryPlanStore
from scheduler.sql import CheckinInfo, SqlPlanStore
from storage import Database, ManualClock, SessionSource
from tests.conftest import _pg_connect
from tests.databases import connect_args, migrated_sqlite, reset_postgres_schema
from tests.stores import Stores

NOW = dt.datetime(2025, 6, 2, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in London
TODAY = NOW.date()
ACTIVE = ["day1", "day2", "day3", "day7", "day14", "rebook", "rebook_reminder"]


@functools.cache
def plan() -> CarePlan:
    """The packaged plan without the per-patient spread (exact times in assertions); read once
    per test process (a `CarePlan` is frozen)."""
    return dataclasses.replace(load_careplan(), spread_minutes=0)


class World(Protocol):
    """One backend: a manager, and a way to plant patients and sessions."""

    manager: CheckinManager
    clock: ManualClock

    async def patient(self, telegram_id: int, timezone: str | None = None) -> int: ...

    async def session(self, patient_id: int, day: dt.date) -> int: ...

    async def session_state(self, session_id: int) -> tuple[dt.date, bool]: ...

    async def paused(self, patient_id: int) -> bool: ...


@dataclass
class SqlWorld:
    manager: CheckinManager
    clock: ManualClock
    repo: Stores

    async def patient(self, telegram_id: int, timezone: str | None = None) -> int:
        await self.repo.patients.ensure(telegram_id, telegram_id, now=NOW)
        info = await self.repo.patients.record_consent(telegram_id, f"P{telegram_id}", now=NOW)
        if timezone:
            await self.repo.patients.set_timezone(telegram_id, timezone)
        return info.id

    async def session(self, patient_id: int, day: dt.date) -> int:
        return (await self.repo.treatments.add(day, SessionSource.STAFF, patient_id=patient_id,
                                               now=NOW)).id

    async def session_state(self, session_id: int) -> tuple[dt.date, bool]:
        found = await self.repo.treatments.get(session_id)
        assert found is not None
        return found.session_date, found.cancelled

    async def paused(self, patient_id: int) -> bool:
        found = await self.repo.patients.get_by_id(patient_id)
        assert found is not None
        return found.checkins_paused


@dataclass
class MemoryWorld:
    manager: CheckinManager
    clock: ManualClock
    store: MemoryPlanStore

    async def patient(self, telegram_id: int, timezone: str | None = None) -> int:
        patient_id = len(self.store.tables.patients) + 1
        self.store.add_patient(patient_id, telegram_id=telegram_id, timezone=timezone,
                               name=f"P{telegram_id}")
        return patient_id

    async def session(self, patient_id: int, day: dt.date) -> int:
        return self.store.add_session(patient_id, day).id

    async def session_state(self, session_id: int) -> tuple[dt.date, bool]:
        found = self.store.sessions[session_id]
        return found.session_date, found.cancelled_at is not None

    async def paused(self, patient_id: int) -> bool:
        return self.store.tables.patients[patient_id].checkins_paused


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(NOW)
    if request.param == "memory":
        store = MemoryPlanStore()
        yield MemoryWorld(CheckinManager(store, plan(), "Europe/London", clock=clock), clock,
                          store)
        return
    conn = None
    if request.param == "sqlite":  # a copy of this process's migrated template
        url = migrated_sqlite(tmp_path / "manager.db")
    else:  # this process's migrated schema, emptied to what the migrations leave
        conn, admin = await _pg_connect()
        url = await reset_postgres_schema(conn, admin)
    db = await Database.connect(url, migrate=False, connect_args=connect_args(url))
    try:
        manager = CheckinManager(SqlPlanStore(db.sessions), plan(), "Europe/London", clock=clock)
        yield SqlWorld(manager, clock, Stores.over(db, clock=clock))
    finally:
        await db.close()
        if conn is not None:
            await conn.close()


async def rows(world: World, patient_id: int) -> dict[str, CheckinInfo]:
    return {r.step: r for r in await world.manager.list(patient_id=patient_id)}


def local(row: CheckinInfo) -> str:
    return row.due_at.astimezone(dt.UTC).strftime("%m-%d %H:%M")


# --- planning -------------------------------------------------------------------------------

async def test_a_session_gets_one_row_per_step_at_its_local_time_once(world: World) -> None:
    pid = await world.patient(1)  # clinic zone, Europe/London (BST in June)
    sid = await world.session(pid, TODAY)
    assert await world.manager.schedule_session(sid) == len(ACTIVE)
    assert await world.manager.schedule_session(sid) == 0  # idempotent
    planned = await rows(world, pid)
    assert sorted(planned) == sorted(ACTIVE)
    assert {r.status for r in planned.values()} == {"pending"}
    assert local(planned["day1"]) == "06-03 18:00"  # 19:00 BST
    assert local(planned["day2"]) == "06-04 09:00"
    assert planned["day1"].patient_name == "P1"


async def test_the_patients_own_zone_sets_the_hour(world: World) -> None:
    pid = await world.patient(2, timezone="America/New_York")
    await world.manager.schedule_session(await world.session(pid, TODAY))
    assert local((await rows(world, pid))["day1"]) == "06-03 23:00"  # 19:00 EDT


async def test_steps_whose_window_closed_are_not_created(world: World) -> None:
    pid = await world.patient(3)
    sid = await world.session(pid, TODAY - dt.timedelta(days=5))
    await world.manager.schedule_session(sid)
    assert sorted(await rows(world, pid)) == ["day14", "day7", "rebook", "rebook_reminder"]


async def test_moving_a_session_moves_cancels_and_revives_its_rows(world: World) -> None:
    pid = await world.patient(4)
    sid = await world.session(pid, TODAY)
    await world.manager.schedule_session(sid)
    assert await world.manager.move_session(sid, TODAY + dt.timedelta(days=1)) == len(ACTIVE)
    assert local((await rows(world, pid))["day1"]) == "06-04 18:00"
    assert (await world.session_state(sid))[0] == TODAY + dt.timedelta(days=1)

    await world.manager.move_session(sid, TODAY - dt.timedelta(days=4))  # day 1-3 now past
    moved = await rows(world, pid)
    assert [moved[s].status for s in ("day1", "day2", "day3", "day7")] == [
        "cancelled", "cancelled", "cancelled", "pending"]
    assert moved["day1"].last_error == "session date changed"

    await world.manager.move_session(sid, TODAY)  # back again: revived
    assert {r.status for r in (await rows(world, pid)).values()} == {"pending"}


async def test_moving_a_cancelled_session_is_refused_and_changes_nothing(world: World) -> None:
    pid = await world.patient(5)
    sid = await world.session(pid, TODAY)
    await world.manager.schedule_session(sid)
    assert await world.manager.cancel_session(sid) == len(ACTIVE)
    with pytest.raises(LookupError):
        await world.manager.move_session(sid, TODAY + dt.timedelta(days=3))
    assert await world.session_state(sid) == (TODAY, True)
    assert {r.status for r in (await rows(world, pid)).values()} == {"cancelled"}


async def test_cancelling_a_session_cancels_its_open_rows_in_one_place(world: World) -> None:
    pid = await world.patient(6)
    keep = await world.session(pid, TODAY - dt.timedelta(days=40))
    gone = await world.session(pid, TODAY)
    await world.manager.schedule_session(keep)
    await world.manager.schedule_session(gone)
    before = {r.id: r.status for r in await world.manager.list(patient_id=pid)}
    assert await world.manager.cancel_session(gone) == len(ACTIVE)
    assert await world.manager.cancel_session(gone) == 0  # twice: nothing more
    assert (await world.session_state(gone))[1] and not (await world.session_state(keep))[1]
    after = await world.manager.list(patient_id=pid)
    assert {r.status for r in after if r.session_id == gone} == {"cancelled"}
    assert all(before[r.id] == r.status for r in after if r.session_id == keep)


async def test_a_new_session_cancels_older_sessions_rebook_nudges(world: World) -> None:
    pid = await world.patient(7)
    old = await world.session(pid, TODAY - dt.timedelta(days=20))
    await world.manager.schedule_session(old)
    assert {r.step for r in await world.manager.list(patient_id=pid)} == {
        "rebook", "rebook_reminder"}
    await world.manager.schedule_session(await world.session(pid, TODAY))
    listed = await world.manager.list(patient_id=pid)
    assert {(r.step, r.status) for r in listed if r.session_id == old} == {
        ("rebook", "cancelled"), ("rebook_reminder", "cancelled")}


async def test_reconcile_plans_sessions_that_have_no_rows(world: World) -> None:
    pid = await world.patient(8)
    await world.session(pid, TODAY)
    await world.session(pid, TODAY - dt.timedelta(days=200))  # too old to matter
    assert await world.manager.reconcile() == len(ACTIVE)
    assert await world.manager.reconcile() == 0


async def test_a_session_planned_while_reconcile_runs_keeps_its_rows_as_planned(
        world: World) -> None:
    """A standby taking sending over reconciles while the bot records sessions: a session
    listed without rows may get them (the handler's own planning) before reconcile plans it.
    Reconcile then changes nothing: no row doubled, none moved from its time."""
    pid = await world.patient(13)
    sid = await world.session(pid, TODAY)
    listed = world.manager.store.sessions_without_rows
    planned: dict[str, CheckinInfo] = {}

    async def planned_meanwhile(since: dt.date) -> list[int]:
        ids = await listed(since)
        assert ids == [sid]
        assert await world.manager.schedule_session(sid) == len(ACTIVE)  # the handler
        planned.update(await rows(world, pid))
        return ids

    world.manager.store.sessions_without_rows = planned_meanwhile  # type: ignore[method-assign]
    assert await world.manager.reconcile() == 0
    assert await rows(world, pid) == planned
    assert sorted(planned) == sorted(ACTIVE) and local(planned["day1"]) == "06-03 18:00"


# --- patients and reports -------------------------------------------------------------------

async def test_stop_and_resume_hold_and_release_the_patients_rows(world: World) -> None:
    pid = await world.patient(9)
    await world.manager.schedule_session(await world.session(pid, TODAY))
    assert await world.manager.pause_patient(pid) == len(ACTIVE)
    assert await world.paused(pid)
    held = await rows(world, pid)
    assert {(r.status, r.paused_reason) for r in held.values()} == {("paused", "patient")}

    world.clock.advance(days=2)  # day 1's evening passes while paused
    assert await world.manager.resume_patient(pid) == len(ACTIVE) - 1
    assert not await world.paused(pid)
    resumed = await rows(world, pid)
    assert resumed["day1"].status == "cancelled" and resumed["day2"].status == "pending"


async def test_a_report_holds_its_session_until_staff_resolve_it(world: World) -> None:
    pid = await world.patient(10)
    sid = await world.session(pid, TODAY)
    await world.manager.schedule_session(sid)
    assert await world.manager.hold_for_report(sid, 77) == len(ACTIVE)
    assert {r.paused_reason for r in (await rows(world, pid)).values()} == {report_hold(77)}
    assert await world.manager.hold_for_report(None, 78) == 0

    await world.manager.pause_patient(pid)  # /stop meanwhile: stays paused, by the patient
    assert await world.manager.release_report_hold(77) == 0
    assert {(r.status, r.paused_reason) for r in (await rows(world, pid)).values()} == {
        ("paused", "patient")}
    assert await world.manager.resume_patient(pid) == len(ACTIVE)


# --- answers --------------------------------------------------------------------------------

async def test_an_answer_counts_once_and_only_from_its_patient(world: World) -> None:
    pid = await world.patient(11)
    sid = await world.session(pid, TODAY - dt.timedelta(days=30))
    await world.manager.schedule_session(sid)
    rebook = (await rows(world, pid))["rebook_reminder"]

    assert not (await world.manager.answer(12, rebook.id, 0)).ok  # someone else's
    assert not (await world.manager.answer(11, rebook.id, 9)).ok  # no such button
    first = await world.manager.answer(11, rebook.id, 0)  # "Yes, please": book
    assert first.ok and not first.repeated and first.label == "Yes, please"
    assert first.session_id == sid and first.patient_id == pid
    again = await world.manager.answer(11, rebook.id, 1)
    assert again.ok and again.repeated  # the first answer counts
    after = (await rows(world, pid))["rebook_reminder"]
    assert after.answer == "Yes, please" and after.status == "cancelled"


# --- listings -------------------------------------------------------------------------------

async def test_listings_filter_and_count(world: World) -> None:
    one, two = await world.patient(13), await world.patient(14)
    await world.manager.schedule_session(await world.session(one, TODAY))
    await world.manager.schedule_session(await world.session(two, TODAY))
    await world.manager.pause_patient(two)
    counts = await world.manager.counts()
    assert counts["pending"] == counts["paused"] == len(ACTIVE) and counts["sent"] == 0
    assert len(await world.manager.list(statuses=["paused"])) == len(ACTIVE)
    soon = await world.manager.list(due_before=NOW + dt.timedelta(days=3), limit=3)
    assert [r.step for r in soon] == ["day1", "day1", "day2"]
    assert soon[0].due_at <= soon[1].due_at <= soon[2].due_at
    failed, silent = await world.manager.needs_attention(NOW - dt.timedelta(days=1))
    assert failed == [] and silent == []
