"""Advice first, storage second: a database outage while a patient describes an emergency.

The real Application against the fake Bot API. The database goes away (SQLite: the file is
moved aside and the pool's connections dropped, so the bot finds an empty file; PostgreSQL:
a separate server started by this test with initdb/pg_ctl on its own port is stopped), a
patient describes anaphylaxis, and:

* the patient gets the emergency advice within 2 s (monotonic clock) although nothing can
  be stored; the report waits in the local spool file and /readyz says not ready;
* the outage lasts 30 s on the bot's (injected) clock, a few seconds of real time;
* when the database is back the report is stored and its staff card arrives, exactly once,
  and /readyz is ready again.

PostgreSQL runs in webhook mode (replicas behind a load balancer), where updates do not
depend on the database-backed polling election.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.ops.http import Readiness
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from storage.clock import ManualClock
from storage.spool import ReportSpool, SpooledReport
from tests.bot_harness import CLINIC, START, eventually
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
PATIENT = 501
ANAPHYLAXIS = "my lips and tongue are swelling and I can't breathe"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL's {name} is not installed")
        pytest.skip(f"PostgreSQL's {name} is not installed")
    return found[-1]


class ThrowawayPostgres:
    """A PostgreSQL server of its own (initdb in a temporary folder, pg_ctl on a free port)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="aftercare-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync")

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True,
                       timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
                  "-l", str(self.folder / "log"), "start")

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class Outage:
    """How this backend's database goes away and comes back."""

    def __init__(self, url: str, pg: ThrowawayPostgres | None, folder: Path) -> None:
        self.url, self.pg, self.folder = url, pg, folder
        self.db: Database | None = None

    async def begin(self) -> None:
        assert self.db is not None
        if self.pg is not None:
            await asyncio.to_thread(self.pg.stop)
        else:  # the file goes; connections reopened from now on find an empty database
            await self.db.engine.dispose()
            for path in self.folder.glob("bot.db*"):
                path.rename(self.folder / "aside" / path.name)
        await self.db.engine.dispose()

    async def end(self) -> None:
        assert self.db is not None
        if self.pg is not None:
            await asyncio.to_thread(self.pg.start)
        else:
            await self.db.engine.dispose()
            for path in self.folder.glob("bot.db*"):
                path.unlink()
            for path in (self.folder / "aside").iterdir():
                path.rename(self.folder / path.name)
        await self.db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    (tmp_path / "aside").mkdir()
    if request.param == "sqlite":
        yield Outage(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", None, tmp_path)
        return
    pg = ThrowawayPostgres()
    try:
        pg.start()
        yield Outage(pg.url, pg, tmp_path)
    finally:
        pg.remove()


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, outage: Outage, advisor: Advisor,
              tmp_path: Path) -> AsyncIterator[Any]:
    fake_telegram.handlers.max_poll_wait = 0.1
    extra: dict[str, Any] = {"AFTERCARE_SPOOL_PATH": str(tmp_path / "reports.spool")}
    if outage.pg is not None:
        extra.update(AFTERCARE_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/telegram/hook",
                     AFTERCARE_WEBHOOK_SECRET="outage-test-secret_1",
                     AFTERCARE_WEBHOOK_LISTEN="127.0.0.1")
        extra["AFTERCARE_WEBHOOK_PORT"] = int(extra["AFTERCARE_WEBHOOK_URL"].split(":")[2]
                                              .split("/")[0])
    settings = load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake_telegram.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS="9001",
        AFTERCARE_DATABASE_URL=outage.url, AFTERCARE_TIMEZONE="Europe/London",
        AFTERCARE_CLINIC_NAME=CLINIC.name, AFTERCARE_CLINIC_CONTACT=CLINIC.contact,
        AFTERCARE_MAX_SENDS_PER_SECOND=0, **extra)
    clock = ManualClock(START)
    db = await Database.connect(outage.url)
    outage.db = db
    app = build_application(settings, db, advisor, clock=clock)
    try:
        async with running(app, settings):
            yield app
    finally:
        await db.close()


async def test_an_emergency_during_an_outage_gets_advice_at_once_and_a_card_afterwards(
        fake_telegram: FakeTelegram, bot: Any, outage: Outage) -> None:
    fake = fake_telegram
    assert outage.db is not None
    readiness = Readiness(outage.db.engine, bot_authorised=True, spool=bot.bot_data.spool)
    assert await readiness.problems() == []
    (hello,) = await _say(fake, "hi")  # the database works: an ordinary answer
    assert hello

    await outage.begin()
    started = time.monotonic()
    (advice, *_) = await _say(fake, ANAPHYLAXIS)
    waited = time.monotonic() - started
    assert "999" in advice["text"]  # the emergency advice ...
    assert waited < 2.0, f"the advice took {waited:.2f} s"  # ... at once
    assert len(bot.bot_data.spool) == 1
    problems = await readiness.problems()
    assert any("not stored yet" in p for p in problems), problems
    bot.bot_data.clock.advance(seconds=30)  # the outage, on the bot's (injected) clock
    await asyncio.sleep(1.0)  # and in real time: nothing can be stored meanwhile
    assert _cards(fake) == []

    await outage.end()

    async def carded() -> bool:
        return bool(_cards(fake)) and not len(bot.bot_data.spool)
    await eventually(carded, timeout=20)
    await eventually(lambda: _owed_none(bot), timeout=10)
    await asyncio.sleep(0.5)  # a second card would have had time to arrive
    (card,) = _cards(fake)
    assert card["text"].startswith("EMERGENCY:")
    assert await readiness.problems() == []
    (report,) = await bot.bot_data.desk.store.queue()
    assert report.text == ANAPHYLAXIS


async def test_a_replayed_spool_stores_each_report_once(tmp_path: Path) -> None:
    spool = ReportSpool(tmp_path / "s.spool")
    report = SpooledReport(7, 1, 1, "swelling", "emergency", None, None,
                           START.isoformat())
    spool.append(report)
    spool.append(report)  # the same update handled twice (a redelivery)
    with (tmp_path / "s.spool").open("a") as torn:  # a crash mid-line
        torn.write('{"update_id": 8, "text": "half')
    stored: list[int] = []

    async def store(r: SpooledReport) -> None:
        stored.append(r.update_id)
    assert await spool.replay(store) == 1 and stored == [7] and len(spool) == 0
    assert await spool.replay(store) == 0 and stored == [7]
    assert (tmp_path / "s.spool").stat().st_mode & 0o077 == 0  # patients' words: owner only


async def _say(fake: FakeTelegram, text: str) -> list[dict[str, Any]]:
    before = len(fake.sent_messages(PATIENT))
    fake.user_message(PATIENT, text, first_name="Ivy")
    return (await fake.wait_for_messages(PATIENT, before + 1, timeout=10))[before:]


def _cards(fake: FakeTelegram) -> list[dict[str, Any]]:
    return [m for m in fake.sent_messages(STAFF_CHAT)
            if f"Telegram id {PATIENT} " in (m.get("text") or "")]


async def _owed_none(bot: Any) -> bool:
    return await bot.bot_data.alerts.connector.owed() == 0
