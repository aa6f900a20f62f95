"""Kill test: a real `aftercare run` is SIGKILLed in the middle of a burst of check-ins,
started again, and every check-in still arrives; duplicates stay within the documented
in-flight window (at most one claim batch). A second `aftercare run` on the same SQLite file
is refused while the first one runs.

The fake Telegram server is its own process (``python -m tests.fake_telegram``), slowed by a
per-request delay so the kill lands mid-burst, and read back through its /_control/ API.
"""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from storage.db import Database
from storage.models import CheckIn, CheckinStatus, SessionSource
from storage.sessions import new_session
from tests.databases import migrated_sqlite
from tests.processes import (
    HANG,
    Control,
    checkin_id_of,
    free_port,
    http_get,
    start_bot,
    stop_bot,
    until,
)
from tests.stores import Stores

BURST = 30  # three claim batches: the kill lands with rows sent, in flight and unclaimed
BATCH = 10
FIRST_CHAT = 7000
TICK = "0.2"  # AFTERCARE_CHECKIN_TICK_SECONDS: due check-ins looked for every 0.2 s, not 5 s


class CheckinControl(Control):
    """The control API, watching check-in messages."""

    async def checkins_sent(self) -> list[dict[str, Any]]:
        """sendMessage calls that carried check-in answer buttons."""
        return [m for m in await self.get("sent_messages") if checkin_id_of(m) is not None]

    async def wait_until(self, enough: Any, timeout: float, what: str) -> list[dict[str, Any]]:
        """The check-in messages once `enough` of them were sent (looked at again whenever
        something changes at the fake: `Control.until`)."""
        seen: list[list[dict[str, Any]]] = [[]]

        async def arrived() -> tuple[list[dict[str, Any]]] | None:
            seen[0] = await self.checkins_sent()
            return (seen[0],) if enough(seen[0]) else None

        try:
            (sent,) = await self.until(arrived, what, timeout)
        except AssertionError as exc:
            raise TimeoutError(f"{what}: only {len(seen[0])} check-in message(s) "
                               "arrived") from exc
        return sent


async def plant_burst(database: Path, count: int) -> dict[int, int]:
    """`count` patients with one day-1 check-in each, due a minute ago; {check-in id: chat}.
    Each session is written with its check-in (see below). A new file starts as a copy of
    this process's migrated template (tests/databases.py)."""
    if not database.exists():
        migrated_sqlite(database)
    db = await Database.connect(f"sqlite+aiosqlite:///{database}")
    repo = Stores.over(db)
    now = datetime.now(UTC)
    planted: dict[int, int] = {}
    try:
        for k in range(count):
            chat = FIRST_CHAT + k
            await repo.patients.ensure(chat, chat)
            patient = await repo.patients.record_consent(chat, f"Patient {k}")
            # the session and its row in one transaction: a running `aftercare run`'s
            # reconcile (sessions without rows get the care plan) must never see the session
            # alone, or it re-times this row to the plan's day-1 evening (not due now)
            async with db.sessions.begin() as s:
                session = new_session(s, patient.id, now.date() - timedelta(days=1),
                                      SessionSource.STAFF, now)
                await s.flush()
                row = CheckIn(session_id=session.id, patient_id=patient.id, step="day1",
                              day_offset=1, local_date=now.date(), tz="UTC",
                              due_at=now - timedelta(minutes=1),
                              deliver_until=now + timedelta(hours=1), status="pending",
                              attempts=0, created_at=now, updated_at=now)
                s.add(row)
                await s.flush()
                planted[row.id] = chat
    finally:
        await db.close()
    return planted


async def statuses(database: Path) -> Counter[str]:
    db = await Database.connect(f"sqlite+aiosqlite:///{database}")
    try:
        return Counter(c.status for c in await _all_checkins(db))
    finally:
        await db.close()


async def _all_checkins(db: Database) -> list[CheckIn]:
    from sqlalchemy import select

    async with db.sessions() as s:
        return list(await s.scalars(select(CheckIn)))


async def test_sigkill_mid_burst_loses_nothing_and_duplicates_stay_in_flight(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "kill.db"
    planted = await plant_burst(database, BURST)
    async with aiohttp.ClientSession() as session:
        control = CheckinControl(session, fake_server)
        # every send takes 0.3 s at the fake: requests are in flight when the kill lands
        await control.post("fail", {"method": "sendMessage", "delay": 0.3, "times": 10_000})
        bot = start_bot(fake_server, database, tmp_path, AFTERCARE_CHECKIN_RATE="10",
                        AFTERCARE_CHECKIN_BATCH=str(BATCH), AFTERCARE_CHECKIN_TICK_SECONDS=TICK)
        try:
            await control.wait_until(lambda sent: len(sent) >= BATCH, HANG, "before the kill")
            bot.send_signal(signal.SIGKILL)
            bot.wait(timeout=10)
        finally:
            if bot.poll() is None:
                bot.kill()
            bot.communicate(timeout=10)
        assert bot.returncode == -signal.SIGKILL
        await control.settled()  # requests the dead process left at the fake complete there
        before_restart = await control.checkins_sent()
        assert BATCH <= len(before_restart) < BURST  # killed mid-burst

        # the restart sends at the product's default rate and Telegram answers at once (10
        # a second and 0.3 s a send made the kill land mid-burst; what is left now only has
        # to arrive: at 0.3 s a send, one after the other, that took 13 s)
        await control.post("unfail", {})
        bot = start_bot(fake_server, database, tmp_path, AFTERCARE_CHECKIN_BATCH=str(BATCH),
                        AFTERCARE_CHECKIN_TICK_SECONDS=TICK)
        try:
            sent = await control.wait_until(
                lambda got: {checkin_id_of(m) for m in got} >= set(planted), HANG,
                "after the restart")
            # every row sent (a row is marked only once Telegram answered) and nothing in
            # flight at the fake: no straggler (a duplicate) can still show up
            await until(lambda: _all_sent(database, planted), "every row marked sent", HANG)
            await control.settled()
            sent = await control.checkins_sent()
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
        violations = await control.get("violations")
    per_checkin = Counter(checkin_id_of(m) for m in sent)
    assert set(per_checkin) == set(planted)  # every check-in arrived ...
    for message in sent:  # ... in its own patient's chat
        checkin_id = checkin_id_of(message)
        assert checkin_id is not None and message["chat_id"] == planted[checkin_id]
    duplicates = sum(per_checkin.values()) - len(planted)
    assert duplicates <= BATCH, per_checkin  # only rows in flight at the kill can repeat
    assert violations == []
    assert await statuses(database) == Counter({"sent": BURST})


async def test_a_second_run_on_the_same_sqlite_file_stands_by_and_takes_over(
        fake_server: str, tmp_path: Path) -> None:
    """A second `aftercare run` on the same file does not send while the first does (the
    start-up re-queue of claims assumes one sender); it takes over once the first exits."""
    database = tmp_path / "one.db"
    await plant_burst(database, 1)
    port = free_port()
    async with aiohttp.ClientSession() as session:
        control = CheckinControl(session, fake_server)
        first = start_bot(fake_server, database, tmp_path, AFTERCARE_CHECKIN_TICK_SECONDS=TICK)
        second = None
        try:
            await control.wait_until(lambda sent: len(sent) >= 1, HANG, "first run")
            second = start_bot(fake_server, database, tmp_path, AFTERCARE_HTTP_PORT=str(port),
                               AFTERCARE_HTTP_LISTEN="127.0.0.1",
                               AFTERCARE_CHECKIN_TICK_SECONDS=TICK)
            await until(lambda: _healthy(session, port), "the second run to start", HANG)
            assert second.poll() is None  # not refused: a standby
            code, err = stop_bot(first)
            assert code == 0, err
            await plant_burst(database, 1)  # one more due check-in, for the standby to send
            sent = await control.wait_until(lambda sent: len(sent) >= 2, HANG, "the second run")
            assert second.poll() is None
        finally:
            if first.poll() is None:
                stop_bot(first)
            code, err = stop_bot(second) if second is not None else (0, "")
        assert code == 0, err
    assert "stands by" in err and "this one sends now" in err
    assert sorted(Counter(checkin_id_of(m) for m in sent).values()) == [1, 1]


async def _all_sent(database: Path, planted: dict[int, int]) -> bool:
    with sqlite3.connect(database) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM checkins"))
    return all(statuses.get(checkin_id) == CheckinStatus.SENT.value for checkin_id in planted)


async def _healthy(session: aiohttp.ClientSession, port: int) -> bool:
    return (await http_get(session, port, "/healthz"))[0] == 200
