"""The composition root over the in-memory twins (`bot.compose.build_memory_services`): the same
graph of services as over a database, built by the same code, with the twins instead of the
SQL stores, and the twins over one `MemoryTables`, so that what one writes the others read
(the check-in outbox, the web desk's pages and the ops endpoints' figures included)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import aiohttp
import pytest

from bot.backends import MemoryBackend
from bot.compose import Services
from bot.config import load_settings
from bot.ops.http import Metrics, OpsServer, Readiness
from knowledge.advisor import Advisor
from scheduler.careplan import load_careplan
from scheduler.memory import MemoryConnector, MemoryPlanStore, MemorySharedPause
from storage.clock import ManualClock
from storage.memory_tables import MemoryTables
from storage.patients_memory import MemoryPatientStore
from storage.states import SessionSource
from tests.processes import http_get

NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)
STAFF = -100500


def settings() -> Any:
    return load_settings(None, AFTERCARE_STAFF_CHAT_ID=STAFF, AFTERCARE_STAFF_IDS="77",
                         AFTERCARE_TIMEZONE="Europe/London")


def shape(value: object, depth: int = 2) -> object:
    """The classes of a dataclass's fields, `depth` levels down (what was wired where)."""
    if depth and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: shape(getattr(value, f.name), depth - 1)
                for f in dataclasses.fields(value)}
    return type(value).__name__


async def both(compose: Any) -> tuple[Services, Services]:
    plan = dataclasses.replace(load_careplan(), spread_minutes=0)
    on_disk = await compose(settings(), ManualClock(NOW), careplan=plan)
    in_memory = await compose(settings(), ManualClock(NOW), url="memory", careplan=plan)
    return on_disk, in_memory


async def test_the_same_services_are_built_with_twins_for_stores(compose: Any) -> None:
    on_disk, in_memory = await both(compose)
    assert shape(in_memory.patient) == shape(on_disk.patient)
    disk_desk, memory_desk = shape(on_disk.desk, 1), shape(in_memory.desk, 1)
    assert isinstance(disk_desk, dict) and isinstance(memory_desk, dict)
    assert {k: v for k, v in memory_desk.items() if k not in ("store", "outbox")} == {
        k: v for k, v in disk_desk.items() if k not in ("store", "outbox")}
    assert (memory_desk["store"], memory_desk["outbox"]) == ("MemoryReportStore",
                                                             "MemoryDeskOutbox")
    assert shape(in_memory.checkins) == shape(on_disk.checkins)
    disk_stores, memory_stores = shape(on_disk.stores), shape(in_memory.stores)
    assert isinstance(disk_stores, dict) and isinstance(memory_stores, dict)
    assert memory_stores.keys() == disk_stores.keys()
    assert all(str(name).startswith("Memory") for name in memory_stores.values())
    assert isinstance(in_memory.storage, MemoryBackend)
    with pytest.raises(LookupError):
        _ = in_memory.database
    assert on_disk.database is not None


async def test_every_twin_is_over_the_one_set_of_tables(compose: Any) -> None:
    _, services = await both(compose)
    assert isinstance(services.storage, MemoryBackend)
    tables = services.storage.tables
    assert isinstance(services.stores.patients, MemoryPatientStore)
    assert services.stores.patients.tables is tables
    kit = services.patient.conversation.kit
    assert kit.patients is services.stores.patients  # handed in, not made again
    manager = services.checkins.service.manager
    assert isinstance(manager.store, MemoryPlanStore) and manager.store.tables is tables
    connector = services.checkins.service.connector
    assert isinstance(connector, MemoryConnector) and connector.tables is tables
    assert isinstance(services.storage.shared_pause(), MemorySharedPause)


async def test_the_polling_rows_and_the_spool_are_built_by_the_root_each_way(
        compose: Any) -> None:
    """The polling leader's lease rows and handled updates and the report spool come from
    the backend (bot/compose.py `Services.polling`, `Ops.spool`): the SQL ones and the file
    over a database, the twins in memory, made once (every caller shares them)."""
    on_disk, in_memory = await both(compose)
    assert (shape(on_disk.polling), type(on_disk.ops.spool).__name__) == (
        {"leases": "LeaseSql", "handled": "HandledSql"}, "ReportSpool")
    assert (shape(in_memory.polling), type(in_memory.ops.spool).__name__) == (
        {"leases": "MemoryLeases", "handled": "MemoryHandled"}, "MemorySpool")
    backend = in_memory.storage
    assert isinstance(backend, MemoryBackend)
    assert in_memory.polling.leases is backend.leases() is backend.lease_rows
    assert in_memory.polling.handled is backend.handled_updates() is backend.handled_rows
    assert in_memory.ops.spool is backend.spool(in_memory.settings) is backend.spool_rows


async def consented_with_session(services: Services, user: int) -> int:
    conv = services.patient.conversation
    await conv.start(user, user, "Ana")
    await conv.callback(user, user, "Ana", "consent:yes")
    session = await services.stores.treatments.add(NOW.date(), SessionSource.STAFF,
                                                   telegram_id=user)
    assert await services.checkins.service.session_logged(session.id) > 0
    return session.patient_id


async def test_the_check_in_side_sees_the_conversations_pause_and_erasure(
        compose: Any) -> None:
    for services in await both(compose):
        conv, checkins = services.patient.conversation, services.checkins.service
        patient_id = await consented_with_session(services, 5)
        page = await services.stores.desk_views.patient(patient_id)
        assert page is not None and len(page.checkins) == len(await checkins.list())
        await conv.command(5, 5, "Ana", "stop")
        assert {c.status for c in await checkins.list(patient_id=patient_id)} == {"paused"}
        listed = await services.stores.desk_views.patients(NOW.date())
        assert [(p.id, p.checkins_paused) for p in listed] == [(patient_id, True)]
        await conv.command(5, 5, "Ana", "delete")
        await conv.callback(5, 5, "Ana", "delete:yes")
        assert await checkins.list(patient_id=patient_id) == []
        assert await services.stores.desk_views.patients(NOW.date()) == []


async def ops_answers(services: Services) -> tuple[tuple[int, str], list[str]]:
    """/readyz's answer and /metrics' database gauges, for an authorised bot on `services`."""
    server = OpsServer(Metrics(), Readiness(services.ops.probe, bot_authorised=True),
                       services.ops.figures, services.clock)
    port = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            ready = await http_get(session, port, "/readyz")
            status, body = await http_get(session, port, "/metrics")
    finally:
        await server.stop()
    assert status == 200
    gauges = ("aftercare_checkins", "aftercare_open_reports", "aftercare_oldest_open",
              "aftercare_alerts_owed", "aftercare_first_action")
    return ready, [line for line in body.splitlines() if line.startswith(gauges)]


async def test_the_ops_endpoints_read_the_same_figures_in_memory(compose: Any) -> None:
    answers = []
    for services in await both(compose):
        clock = services.clock
        assert isinstance(clock, ManualClock)
        await consented_with_session(services, 5)
        report = await services.stores.reports.create(5, "triage", "lips", urgency="emergency")
        await services.stores.reports.create(6, "question", "a question")
        clock.advance(minutes=7)
        await services.desk.store.take(report.id, 77)
        clock.advance(hours=1)
        answers.append(await ops_answers(services))
        age = (clock() - report.created_at).total_seconds()
    (disk_ready, on_disk), (memory_ready, in_memory) = answers
    assert memory_ready == disk_ready == (200, "ready\n")
    assert in_memory == on_disk
    assert 'aftercare_checkins{status="pending"} 0.0' not in in_memory  # rows were counted
    assert 'aftercare_open_reports{urgency="emergency"} 1.0' in in_memory
    assert f"aftercare_oldest_open_report_age_seconds {age}" in in_memory
    assert "aftercare_alerts_owed 2.0" in in_memory  # the two cards, not sent
    assert "aftercare_first_action_reports 1.0" in in_memory
    assert 'aftercare_first_action_seconds{clock="wall",quantile="0.5"} 420.0' in in_memory


async def test_a_backend_given_is_the_one_used(advisor: Advisor) -> None:
    from bot.compose import build_memory_services

    backend = MemoryBackend(MemoryTables())
    services = build_memory_services(settings(), None, ManualClock(NOW), storage=backend,
                                     advisor=advisor)
    assert services.storage is backend
    await services.patient.conversation.start(9, 9, "Bo")
    assert [p.telegram_id for p in backend.tables.patients.values()] == [9]
