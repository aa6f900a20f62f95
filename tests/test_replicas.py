"""Two real `aftercare run` replicas on one PostgreSQL schema and the standalone fake Bot API.

A burst of check-ins and patient questions arrives; the polling leader is killed with SIGKILL
half-way. Every check-in must still be delivered and every question answered; anything sent
twice must fit the documented in-flight windows (one claimed check-in batch, one getUpdates
batch); the survivor must take over polling without Telegram ever answering 409 to a live
poller. Skipped when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert, select

from bot.telegram.polling.poller import POLL_LIMIT
from scheduler.careplan import load_careplan
from storage import Database, SessionSource
from storage.models import CheckIn, CheckinStatus, TreatmentSession
from tests.processes import Control, free_port, http_get, leader_first, start_bot, until
from tests.stores import Stores

BATCH = 5  # AFTERCARE_CHECKIN_BATCH: at most this many check-ins in flight per replica
CHECKIN_CHATS = range(5000, 5040)
ASKING_USERS = range(6000, 6030)


def start_replica(root: str, url: str, port: int, tmp_path: Path) -> subprocess.Popen[str]:
    return start_bot(root, url, tmp_path, stdout=subprocess.DEVNULL,
                     AFTERCARE_HTTP_PORT=str(port), AFTERCARE_HTTP_LISTEN="127.0.0.1",
                     # 8 sends a second each: the kill (after 8 of 40 are sent) still lands
                     # mid-burst, and the survivor sends the rest in 4 s instead of 8
                     AFTERCARE_CHECKIN_RATE="8", AFTERCARE_CHECKIN_BATCH=str(BATCH),
                     AFTERCARE_CHECKIN_LEASE_SECONDS="3",
                     # the survivor takes polling over once the killed leader's lease runs
                     # out (lease + lease / 5): 6 s instead of the default 18 s
                     AFTERCARE_POLLING_LEASE_SECONDS="5")


async def is_leader(session: aiohttp.ClientSession, port: int) -> bool:
    status, body = await http_get(session, port, "/metrics")
    return status == 200 and "aftercare_polling_leader 1.0" in body


async def seed_patients(url: str) -> list[int]:
    """Consenting patients: some to receive check-ins, some to ask questions; returns their
    treatment session ids (for the check-in chats)."""
    db = await Database.connect(url, migrate=False)
    repo = Stores.over(db)
    sessions = []
    try:
        for user in [*CHECKIN_CHATS, *ASKING_USERS]:
            await repo.patients.ensure(user, user)
            await repo.patients.record_consent(user, f"Patient {user}")
        long_ago = dt.date.today() - dt.timedelta(days=200)  # start-up reconcile skips it
        for user in CHECKIN_CHATS:
            info = await repo.treatments.add(long_ago, SessionSource.STAFF, telegram_id=user)
            sessions.append(info.id)
    finally:
        await db.close()
    return sessions


async def add_due_checkins(url: str, session_ids: list[int]) -> None:
    """One check-in due now for each session (a burst for the dispatchers)."""
    step = next(s for s in load_careplan().steps if s.enabled)
    now = dt.datetime.now(dt.UTC)
    db = await Database.connect(url, migrate=False)
    try:
        async with db.sessions.begin() as s:
            owners = dict((await s.execute(select(TreatmentSession.id,
                                                  TreatmentSession.patient_id))).all())
            await s.execute(insert(CheckIn), [
                {"session_id": sid, "patient_id": owners[sid], "step": step.id,
                 "day_offset": step.day, "local_date": now.date(), "tz": "UTC", "due_at": now,
                 "deliver_until": now + dt.timedelta(hours=1), "created_at": now,
                 "updated_at": now} for sid in session_ids])
    finally:
        await db.close()


async def checkin_statuses(url: str) -> Counter[str]:
    db = await Database.connect(url, migrate=False)
    try:
        async with db.sessions() as s:
            return Counter((await s.scalars(select(CheckIn.status))).all())
    finally:
        await db.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_survive_killing_the_polling_leader(
        fake_server: str, database_url: str, tmp_path: Path) -> None:
    await (await Database.connect(database_url)).close()  # migrate once, before the replicas
    ports = [free_port(), free_port()]
    replicas = [start_replica(fake_server, database_url, port, tmp_path) for port in ports]
    # the patients are written while the replicas start (their sessions are too old for the
    # start-up reconcile); the burst of due check-ins comes once both are ready
    seeding = asyncio.create_task(seed_patients(database_url))
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server)
        try:
            await leader_first(session, replicas, ports)  # started together: who leads?
            await until(lambda: _ready(session, ports[1]), "the second replica to be ready")
            assert not await is_leader(session, ports[1])  # a standby: it must not poll

            sessions = await seeding
            await add_due_checkins(database_url, sessions)
            first, second = ASKING_USERS[:15], ASKING_USERS[15:]
            for user in first:
                await control.post("update", {"kind": "message", "user_id": user,
                                              "text": "can I wear makeup?"})
            await control.until(lambda: _answered(control, first, at_least=5), "some answers")
            await until(lambda: _some_sent(database_url, 8), "the check-in burst to start")

            replicas[0].send_signal(signal.SIGKILL)  # the leader, mid-burst
            replicas[0].wait(timeout=10)
            for user in second:
                await control.post("update", {"kind": "message", "user_id": user,
                                              "text": "when can I wear makeup again?"})
            await control.until(lambda: _answered(control, ASKING_USERS), "every question answered",
                                timeout=60)
            await until(lambda: _all_sent(database_url), "every check-in sent", timeout=60)
            assert await is_leader(session, ports[1])

            sent = await control.get("sent_messages")
            polls = await control.get("requests", method="getUpdates")
        finally:
            if not seeding.done():
                seeding.cancel()
            for proc in replicas:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            errors = [proc.communicate(timeout=15)[1] for proc in replicas]
    assert replicas[1].returncode == 0, errors[1]
    per_chat = Counter(m["chat_id"] for m in sent)
    assert all(per_chat[chat] >= 1 for chat in CHECKIN_CHATS)
    assert all(per_chat[user] >= 1 for user in ASKING_USERS)
    checkin_dupes = sum(per_chat[c] - 1 for c in CHECKIN_CHATS)
    answer_dupes = sum(per_chat[u] - 1 for u in ASKING_USERS)
    assert checkin_dupes <= BATCH, per_chat  # only rows the killed replica had in flight
    assert answer_dupes <= POLL_LIMIT, per_chat  # only its unconfirmed getUpdates batch
    assert [p for p in polls if p["status"] == 409] == []  # never two live pollers
    assert (await checkin_statuses(database_url)) == Counter(
        {CheckinStatus.SENT.value: len(CHECKIN_CHATS)})


async def _ready(session: aiohttp.ClientSession, port: int) -> bool:
    return (await http_get(session, port, "/readyz"))[0] == 200


async def _answered(control: Control, users: Any, at_least: int | None = None) -> bool:
    chats = {m["chat_id"] for m in await control.get("sent_messages")}
    done = sum(1 for user in users if user in chats)
    return done >= (at_least if at_least is not None else len(users))


async def _some_sent(url: str, n: int) -> bool:
    return (await checkin_statuses(url))[CheckinStatus.SENT.value] >= n


async def _all_sent(url: str) -> bool:
    statuses = await checkin_statuses(url)
    return statuses == Counter({CheckinStatus.SENT.value: len(CHECKIN_CHATS)})
