"""A staff reply written on the web desk reaches the patient exactly once, through the desk
outbox (storage/desk_outbox.py) and the bot's sender (bot/telegram/desk_sender.py), with a
real telegram.Bot against the fake Bot API: Telegram failing is retried on the alert outbox's
back-off until the message goes out (in order, once), each delivery is audited on the report
(the answer as "replied" once it arrived), a blocked patient is given up at once (audited,
marked inactive, staff told), and a sender whose claim was taken over cannot mark the row a
second time.

The desk's services are built by the composition root over the in-memory twins
(`desk_services("memory", ...)`, `MemoryDeskOutbox` writing its audit entries to the reports'
trail as the SQL does) where a test asserts no stored row (`MEMORY`); the tests that assert
what is stored (the report's audit trail and the outbox rows, the patient's inactive flag,
claims and leases, two replicas over one database, an update stored once) run on SQLite and
PostgreSQL (`SQL`), and in memory as well where the twin must behave alike (`ALL`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import telegram
from telegram.request import HTTPXRequest

from bot.backends import Stores
from bot.telegram.bot_api import tls_context
from bot.telegram.desk_sender import send_pending
from bot.web.services import DeskServices
from knowledge.advisor import Advisor
from scheduler.alerts import AlertConfig
from storage.clock import ManualClock
from storage.desk_outbox import OutgoingItem, SqlDeskOutbox
from tests.bot_harness import STAFF_CHAT, STAFF_USER, TOKEN
from tests.conftest import _pg_connect
from tests.databases import migrated_sqlite, reset_postgres_schema
from tests.web_harness import NOW, client, csrf_of, desk_services, sign_in

PATIENT = 5551
REPLY = "Cool it with a clean damp cloth."
CONFIG = AlertConfig(backoff_base=dt.timedelta(seconds=2), backoff_cap=dt.timedelta(seconds=60))


SQL = pytest.mark.parametrize("desk", ["sqlite", "postgresql"], indirect=True)
ALL = pytest.mark.parametrize("desk", ["memory", "sqlite", "postgresql"], indirect=True)


@pytest.fixture(params=["memory"])
async def desk(request: pytest.FixtureRequest, advisor: Advisor,
               tmp_path: Path) -> AsyncIterator[DeskServices]:
    """The web desk's services in memory, or (`SQL`, `ALL`) over a migrated SQLite file or
    this process's migrated PostgreSQL schema, emptied (tests/databases.py)."""
    if request.param == "postgresql":
        conn, admin = await _pg_connect()
        try:
            url = await reset_postgres_schema(conn, admin)
            async with desk_services(url, advisor, ManualClock(NOW)) as services:
                yield services
        finally:
            await conn.close()
        return
    url = "memory" if request.param == "memory" else migrated_sqlite(tmp_path / "desk.db")
    async with desk_services(url, advisor, ManualClock(NOW)) as services:
        yield services


def stores(desk: DeskServices) -> Stores:
    """The storage aggregates over the desk's rows (the database, or its memory tables)."""
    return desk.storage.stores(desk.settings, desk.clock)


@pytest.fixture
async def bot(fake_telegram: Any) -> AsyncIterator[telegram.Bot]:
    tls = {"verify": tls_context()}  # the product's one TLS setup, not a CA bundle read per client
    request = HTTPXRequest(read_timeout=5.0, connect_timeout=5.0, httpx_kwargs=tls)
    async with telegram.Bot(TOKEN, base_url=fake_telegram.base_url, request=request,
                            get_updates_request=HTTPXRequest(httpx_kwargs=tls)) as client:
        yield client


async def reply_on_the_web(desk: DeskServices) -> int:
    """A patient's urgent report, answered by staff on the web desk; the report's id."""
    repo = stores(desk)
    await repo.patients.ensure(PATIENT, PATIENT, now=NOW)
    await repo.patients.record_consent(PATIENT, "Pat", now=NOW)
    report = await repo.reports.create(PATIENT, "triage", "my cheek is hot and swollen",
                                       urgency="urgent", day=2, now=NOW)
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        response = await http.post(f"/reports/{report.id}/reply", data={
            "csrf": token, "patient_id": report.patient_id, "text": REPLY})
        assert response.status_code == 303
    return report.id


def texts_to(fake: Any, chat_id: int) -> list[str]:
    return [str(m.get("text")) for m in fake.sent_messages(chat_id)]


async def audit_of(desk: DeskServices, report_id: int) -> list[tuple[str, str | None]]:
    return [(a.action, a.note) for a in await desk.desk.store.actions(report_id)]


@ALL
async def test_a_web_reply_is_retried_until_delivered_once_and_audited(
        desk: DeskServices, bot: telegram.Bot, fake_telegram: Any) -> None:
    clock: Any = desk.clock
    report_id = await reply_on_the_web(desk)
    outbox = desk.outbox
    blocked = desk.conversation.blocked
    fake_telegram.fail_next("sendMessage", 500, description="Internal Server Error",
                            chat_id=PATIENT, times=3)
    # Telegram fails for the patient's chat three times; the "taken" notice is tried at
    # 0 s, 3 s (back-off 2 s), 8 s (4 s) and after 16 s (8 s), the reply always after it
    for seconds in (0, 1, 1, 1, 5, 7):  # at 0, 1, 2, 3, 8 and 15 s
        clock.advance(seconds=seconds)
        await send_pending(bot, desk.desk, blocked, outbox, CONFIG)
        assert texts_to(fake_telegram, PATIENT) == [], seconds
        assert await outbox.pending_count(report_id) == 2
    for _ in range(4):  # delivered at last, in order, and never twice however often it runs
        clock.advance(minutes=1)
        await send_pending(bot, desk.desk, blocked, outbox, CONFIG)
    to_patient = texts_to(fake_telegram, PATIENT)
    assert len(to_patient) == 2 and REPLY in to_patient[1]
    assert "looking at your report" in to_patient[0]
    assert await outbox.pending_count() == 0
    # the "taken" notice audited as delivered, the answer as replied once Telegram took it
    trail = await audit_of(desk, report_id)
    assert trail == [("taken", None), ("delivered", "web desk message reached the patient"),
                     ("replied", REPLY)]
    staff_chat = texts_to(fake_telegram, STAFF_CHAT)
    assert len(staff_chat) == 2 and "Sent to" in staff_chat[1]  # only once it arrived


@SQL
async def test_two_bot_replicas_send_each_web_message_once(
        desk: DeskServices, bot: telegram.Bot, fake_telegram: Any) -> None:
    report_id = await reply_on_the_web(desk)
    outboxes = [SqlDeskOutbox(desk.db.sessions), SqlDeskOutbox(desk.db.sessions)]
    await asyncio.gather(*(send_pending(bot, desk.desk, desk.conversation.blocked, o, CONFIG)
                           for o in outboxes))
    to_patient = texts_to(fake_telegram, PATIENT)
    assert len(to_patient) == 2 and REPLY in to_patient[1]
    assert [a for a, _ in await audit_of(desk, report_id)] == ["taken", "delivered", "replied"]
    assert len(texts_to(fake_telegram, STAFF_CHAT)) == 2


@ALL
async def test_a_patient_who_blocked_the_bot_is_given_up_at_once_and_audited(
        desk: DeskServices, bot: telegram.Bot, fake_telegram: Any) -> None:
    report_id = await reply_on_the_web(desk)
    outbox = desk.outbox
    fake_telegram.block_chat(PATIENT)
    await send_pending(bot, desk.desk, desk.conversation.blocked, outbox, CONFIG)
    assert await outbox.pending_count() == 0  # nothing left to retry
    trail = await audit_of(desk, report_id)
    assert [a for a, _ in trail] == ["taken", "undelivered", "undelivered"]  # no "replied"
    assert all("blocked" in (n or "") for _, n in trail[1:])
    assert "blocked the bot" in texts_to(fake_telegram, STAFF_CHAT)[-1]  # staff are told
    patient = await stores(desk).patients.get(PATIENT)
    assert patient is not None and not patient.active
    assert texts_to(fake_telegram, PATIENT) == []


@ALL
async def test_a_sender_whose_claim_was_taken_over_cannot_mark_the_row(
        desk: DeskServices) -> None:
    await reply_on_the_web(desk)
    outbox = desk.outbox
    first = await outbox.claim(NOW, limit=1, lease=dt.timedelta(seconds=30))
    assert len(first) == 1
    again = await outbox.claim(NOW + dt.timedelta(seconds=31), limit=1)  # the lease ran out
    assert [c.id for c in again] == [first[0].id] and again[0].attempts == 2
    assert not await outbox.sent(first[0], NOW + dt.timedelta(seconds=32))  # stale claim
    assert await outbox.sent(again[0], NOW + dt.timedelta(seconds=32))
    assert not await outbox.sent(again[0], NOW + dt.timedelta(seconds=33))  # only once


@ALL
async def test_an_update_handled_again_stores_its_messages_once(desk: DeskServices) -> None:
    """A staff action in Telegram tags its rows with its update; handled again after a crash,
    the same update stores nothing more (the in-memory twin behaves alike)."""
    outbox = desk.outbox
    items = [OutgoingItem(PATIENT, {"text": "one"}), OutgoingItem(PATIENT, {"text": "two"})]
    assert not await outbox.handled("update:7")
    assert len(await outbox.put(items, NOW, source="update:7")) == 2
    assert await outbox.handled("update:7") and not await outbox.handled("update:8")
    assert await outbox.put(items, NOW, source="update:7") == []  # handled again: nothing
    assert len(await outbox.put(items, NOW)) == 2  # no source (the web desk): always stored
    assert await outbox.pending_count() == 4
