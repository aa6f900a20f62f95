"""Advice first, storage second: a database outage while a patient describes an emergency.

The real Application against the fake Bot API. The database goes away (SQLite: the pool's
connections are dropped and every statement fails as on a file that cannot be opened, see
`Outage`; PostgreSQL: a separate server started by this test with initdb/pg_ctl on its own
port is stopped), a patient describes anaphylaxis, and:

* the patient gets the emergency advice while the database is still away (the outage ends
  only when the test ends it, so advice that needed the database could not arrive), although
  nothing can be stored; the report waits in the local spool file and /readyz says not ready;
* the outage lasts 30 s on the bot's (injected) clock, a few seconds of real time;
* when the database is back the report is stored and its staff card arrives, exactly once,
  and /readyz is ready again.

PostgreSQL runs in webhook mode (replicas behind a load balancer), where updates do not
depend on the database-backed polling election; the last test polls on both databases: an
update that could be neither handled nor spooled is not confirmed to Telegram and is handled
once, after the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import glob
import logging
import os
import shutil
import subprocess
import tempfile
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
from storage.migrate import upgrade_database
from storage.spool import ReportSpool, Spooled, SpooledEvent, SpooledReport
from tests.bot_harness import CLINIC, START, button_data, button_labels, eventually
from tests.databases import _in_thread, migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port
from tests.sqlite_outage import DroppedPools, SqliteOutage

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
PATIENT = 501
ANAPHYLAXIS = "my lips and tongue are swelling and I can't breathe"
RASH = "small rash on my chin since yesterday, is that ok?"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL's {name} is not installed")
        pytest.skip(f"PostgreSQL's {name} is not installed")
    return found[-1]


class ThrowawayPostgres:
    """A PostgreSQL server of its own (in a temporary folder, pg_ctl on a free port): a new
    cluster (initdb), or a copy of `template`'s."""

    def __init__(self, template: Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="aftercare-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        if template is None:
            self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync")
        else:
            self._run("cp", "-a", str(template), str(self.data))

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


@pytest.fixture(scope="session")
def migrated_cluster() -> Iterator[Path]:
    """This process's PostgreSQL cluster, made once (initdb, migrated) and copied by each
    test's server; removed when the process's tests end."""
    template = ThrowawayPostgres()
    try:
        template.start()
        try:
            _in_thread(upgrade_database(template.url))
        finally:
            template.stop()
        yield template.data
    finally:
        template.remove()


class Outage:
    """How this backend's database goes away and comes back: SQLite through `SqliteOutage`
    (statements refused, the file left in place); PostgreSQL by stopping its server."""

    def __init__(self, url: str, pg: ThrowawayPostgres | None, folder: Path) -> None:
        self.url, self.pg, self.folder = url, pg, folder
        self.db: Database | None = None
        self._sqlite = SqliteOutage()
        self._dropped = DroppedPools()

    async def begin(self) -> None:
        assert self.db is not None
        if self.pg is not None:
            await asyncio.to_thread(self.pg.stop)
            await self._dropped.drop(self.db.engine)
        else:
            await self._sqlite.begin(self.db.engine)

    async def end(self) -> None:
        assert self.db is not None
        if self.pg is not None:
            await asyncio.to_thread(self.pg.start)
            await self._dropped.drop(self.db.engine)
        else:
            await self._sqlite.end(self.db.engine)

    async def close(self) -> None:
        """Close the connections the outage dropped from the pool while in use."""
        await self._dropped.close()
        await self._sqlite.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "sqlite":  # a copy of the migrated template, as PostgreSQL's is
        yield Outage(migrated_sqlite(tmp_path / "bot.db"), None, tmp_path)
        return
    pg = ThrowawayPostgres(request.getfixturevalue("migrated_cluster"))
    try:
        pg.start()
        yield Outage(pg.url, pg, tmp_path)
    finally:
        pg.remove()


@contextlib.asynccontextmanager
async def _running(fake: FakeTelegram, outage: Outage, advisor: Advisor, tmp_path: Path, *,
                   webhook: bool, **options: Any) -> AsyncIterator[tuple[Any, Readiness]]:
    """The bot (polling, or webhook when `webhook`) and a /readyz as `aftercare run` wires it."""
    extra: dict[str, Any] = {"AFTERCARE_SPOOL_PATH": str(tmp_path / "reports.spool"),
                             "AFTERCARE_SPOOL_REPLAY_SECONDS": 0.2,
                             "AFTERCARE_ALERT_POLL_SECONDS": 0.2, **options}
    if webhook:
        extra.update(AFTERCARE_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/telegram/hook",
                     AFTERCARE_WEBHOOK_SECRET="outage-test-secret_1",
                     AFTERCARE_WEBHOOK_LISTEN="127.0.0.1")
        extra["AFTERCARE_WEBHOOK_PORT"] = int(extra["AFTERCARE_WEBHOOK_URL"].split(":")[2]
                                              .split("/")[0])
    settings = load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS="9001",
        AFTERCARE_DATABASE_URL=outage.url, AFTERCARE_TIMEZONE="Europe/London",
        AFTERCARE_CLINIC_NAME=CLINIC.name, AFTERCARE_CLINIC_CONTACT=CLINIC.contact,
        AFTERCARE_MAX_SENDS_PER_SECOND=0, **extra)
    clock = ManualClock(START)
    db = await Database.connect(outage.url)
    outage.db = db
    app = build_application(settings, db, advisor, clock=clock)
    readiness = Readiness(app.bot_data.ops.probe, bot_authorised=True,
                          spool=app.bot_data.ops.spool)
    try:
        async with running(app, settings, on_waiting=readiness.waiting_updates):
            yield app, readiness
    finally:
        await db.close()
        await outage.close()


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, outage: Outage, advisor: Advisor,
              tmp_path: Path) -> AsyncIterator[Any]:
    """SQLite: polling; PostgreSQL: webhook mode (updates independent of the election)."""
    async with _running(fake_telegram, outage, advisor, tmp_path,
                        webhook=outage.pg is not None) as (app, _readiness):
        yield app


@pytest.fixture
async def polling_bot(fake_telegram: FakeTelegram, outage: Outage, advisor: Advisor,
                      tmp_path: Path) -> AsyncIterator[tuple[Any, Readiness]]:
    """Long polling on both databases (PostgreSQL: the lease row is away too); an unhandled
    update is tried again every second (the shortest backoff cap)."""
    async with _running(fake_telegram, outage, advisor, tmp_path, webhook=False,
                        AFTERCARE_POLLING_BACKOFF_MAX_SECONDS=1) as running_bot:
        yield running_bot


async def test_an_emergency_during_an_outage_gets_advice_at_once_and_a_card_afterwards(
        fake_telegram: FakeTelegram, bot: Any, outage: Outage) -> None:
    fake = fake_telegram
    assert outage.db is not None
    readiness = Readiness(bot.bot_data.ops.probe, bot_authorised=True,
                          spool=bot.bot_data.ops.spool)
    assert await readiness.problems() == []
    (hello,) = await _say(fake, "hi")  # the database works: an ordinary answer
    assert hello

    await outage.begin()
    (advice, *_) = await _say(fake, ANAPHYLAXIS)
    assert "999" in advice["text"]  # the emergency advice, with the database still away
    assert len(bot.bot_data.ops.spool) == 1
    problems = await readiness.problems()
    assert any("not stored yet" in p for p in problems), problems
    bot.bot_data.clock.advance(seconds=30)  # the outage, on the bot's (injected) clock
    await _replayed_once_more(bot)  # and in real time: nothing can be stored meanwhile
    assert _cards(fake) == []

    await outage.end()

    async def carded() -> bool:
        return bool(_cards(fake)) and not len(bot.bot_data.ops.spool)
    await eventually(carded, timeout=20)
    await eventually(lambda: _owed_none(bot), timeout=10)
    await _quiet(bot, fake)  # a second card would have been sent by now
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

    async def store(r: Spooled) -> None:
        stored.append(r.update_id)
    assert await spool.replay(store) == 1 and stored == [7] and len(spool) == 0
    assert await spool.replay(store) == 0 and stored == [7]
    assert (tmp_path / "s.spool").stat().st_mode & 0o077 == 0  # patients' words: owner only


async def test_a_replay_that_fails_half_way_repeats_nothing(tmp_path: Path) -> None:
    spool = ReportSpool(tmp_path / "s.spool")
    at = START.isoformat()
    spool.append(SpooledReport(7, 1, 1, "swelling", "emergency", None, None, at))
    spool.append(SpooledEvent("press", 8, 1, 1, "Ivy", "ci:3:1", at))
    spool.append(SpooledEvent("press", 8, 1, 1, "Ivy", "ci:3:1", at))  # delivered twice
    spool.append(SpooledEvent("photo", 9, 1, 1, "Ivy", "file-1", at))
    assert len(ReportSpool(tmp_path / "s.spool")) == 3  # once per update and kind
    stored: list[tuple[str, int]] = []
    down = True

    async def store(item: Spooled) -> None:
        if item.entry == "photo" and down:
            raise OSError("database still away")
        stored.append((item.entry, item.update_id))
    with pytest.raises(OSError):
        await spool.replay(store)
    assert stored == [("report", 7), ("press", 8)] and len(spool) == 1  # those two are gone
    down = False
    assert await spool.replay(store) == 1
    assert stored == [("report", 7), ("press", 8), ("photo", 9)] and len(spool) == 0


async def _say(fake: FakeTelegram, text: str) -> list[dict[str, Any]]:
    before = len(fake.sent_messages(PATIENT))
    fake.user_message(PATIENT, text, first_name="Ivy")
    return (await fake.wait_for_messages(PATIENT, before + 1, timeout=10))[before:]


async def _replayed_once_more(bot: Any) -> None:
    """Until the spool replayer has made an attempt that began after this call."""
    await asyncio.wait_for(bot.bot_data.ops.spool_replayer.passes.next(), 20)


async def _quiet(bot: Any, fake: FakeTelegram) -> None:
    """Until the spool replayer and the alert sender have each made a whole pass that began
    after this call, and every call they made is answered: a duplicate (a second card, a
    second answer) would have been sent and recorded by then."""
    await _replayed_once_more(bot)
    await asyncio.wait_for(bot.bot_data.checkins.alerts.passes.next(), 20)
    await fake.settled()


def _cards(fake: FakeTelegram) -> list[dict[str, Any]]:
    return [m for m in fake.sent_messages(STAFF_CHAT)
            if f"Telegram id {PATIENT} " in (m.get("text") or "")]


async def _owed_none(bot: Any) -> bool:
    return await bot.bot_data.checkins.alerts.connector.owed() == 0


async def test_buttons_photos_and_report_during_an_outage_are_kept_and_stored_after(
        fake_telegram: FakeTelegram, bot: Any, outage: Outage) -> None:
    """Not only texts: a rule-out "Yes", a check-in answer, a photo with a red-flag caption
    and /report with its description are answered at once during an outage, kept in the
    spool, and reach the clinic once when the database is back."""
    fake, clock = fake_telegram, bot.bot_data.clock
    (welcome,) = await _say(fake, "/start")
    await _press(fake, welcome, "consent:yes")
    (picker,) = await _say(fake, "/session")
    await _press(fake, picker, "session:today")
    before = len(fake.sent_messages(PATIENT))
    clock.now = START.replace(hour=19, minute=5) + dt.timedelta(days=1)
    await bot.bot_data.checkins.service.tick()
    (checkin,) = (await fake.wait_for_messages(PATIENT, before + 1, timeout=10))[before:]
    wrong = button_data(checkin)[button_labels(checkin).index("Something's wrong")]
    (unsure, *_) = await _say(fake, "i feel a bit sick and dizzy")
    assert "fu:airway:y" in button_data(unsure)
    assert _cards(fake) == []

    await outage.begin()
    (yes, *_) = await _press(fake, unsure, "fu:airway:y")
    assert "999" in yes["text"]  # advice with the database still away
    (noted,) = await _press(fake, checkin, wrong)
    assert "I have your answer" in noted["text"]
    before = len(fake.sent_messages(PATIENT))
    photo = _photo(fake, "my lips are swelling up and my throat feels tight")
    (photo_advice, *_) = (await fake.wait_for_messages(PATIENT, before + 1, timeout=10))[before:]
    assert "999" in photo_advice["text"]
    (ask,) = await _say(fake, "/report")
    assert "Describe it in your own words" in ask["text"]
    before = len(fake.sent_messages(PATIENT))
    fake.user_message(PATIENT, "a small hard lump under the skin near my ear", first_name="Ivy")
    await fake.wait_for(lambda: any("I have kept your report" in (m.get("text") or "")
                                    for m in fake.sent_messages(PATIENT)[before:]))
    assert len(bot.bot_data.ops.spool) == 5  # and the /report that waited for its words
    assert _cards(fake) == []
    # webhook mode (PostgreSQL): each of these was confirmed to Telegram, being kept
    assert all(status == 200 for _, status in fake.webhook_deliveries)

    await outage.end()

    async def stored() -> bool:
        return not len(bot.bot_data.ops.spool) and len(_cards(fake)) >= 4
    await eventually(stored, timeout=30)
    await eventually(lambda: _owed_none(bot), timeout=10)
    await _quiet(bot, fake)  # a duplicate would have been sent by now
    desk = bot.bot_data.desk
    reports = {r.text: r for r in await desk.store.queue()}
    assert len(reports) == 4, sorted(reports)
    texts = " | ".join(reports)
    assert "[Yes to:" in texts and "Something's wrong" in texts
    assert "a small hard lump under the skin near my ear" in reports
    swelling = next(r for t, r in reports.items() if t.startswith("my lips are swelling"))
    assert await desk.store.photos(swelling.id) == [photo]
    assert len(_cards(fake)) == 4  # one card per report, nothing twice
    staff_photos = [m for m in fake.sent_messages(STAFF_CHAT) if m.get("photo")]
    assert len(staff_photos) == 1  # the photo reached the team, once
    assert fake.violations == []


async def test_the_words_of_a_report_asked_online_and_written_in_an_outage_reach_the_clinic(
        fake_telegram: FakeTelegram, bot: Any, outage: Outage) -> None:
    """/report is handled online (its flow waits for the words in the database); the words,
    not a red flag, come during the outage: the ordinary answer and a "kept" line at once,
    and once the database is back the report is raised, once, and the patient told so."""
    fake = fake_telegram
    (welcome,) = await _say(fake, "/start")
    await _press(fake, welcome, "consent:yes")
    await _say(fake, "/report")
    await outage.begin()
    before = len(fake.sent_messages(PATIENT))
    fake.user_message(PATIENT, RASH, first_name="Ivy")
    await fake.wait_for(lambda: any("I have kept this message" in (m.get("text") or "")
                                    for m in fake.sent_messages(PATIENT)[before:]))
    assert len(bot.bot_data.ops.spool) == 1 and _cards(fake) == []
    await outage.end()

    async def reported() -> bool:
        return not len(bot.bot_data.ops.spool) and bool(_cards(fake))
    await eventually(reported, timeout=30)
    await eventually(lambda: _owed_none(bot), timeout=10)
    await _quiet(bot, fake)
    (report,) = await bot.bot_data.desk.store.queue()
    assert report.text == RASH and len(_cards(fake)) == 1
    told = [m.get("text") or "" for m in fake.sent_messages(PATIENT)[before:]]
    assert sum(f"Report #{report.id} is open for more details" in t for t in told) == 1
    assert fake.violations == []


async def _press(fake: FakeTelegram, message: dict[str, Any], data: str) -> list[dict[str, Any]]:
    before = len(fake.sent_messages(PATIENT))
    fake.callback_query(PATIENT, data, message["message_id"], first_name="Ivy")
    return (await fake.wait_for_messages(PATIENT, before + 1, timeout=30))[before:]


def _photo(fake: FakeTelegram, caption: str) -> str:
    update = fake.user_photo(PATIENT, caption=caption, first_name="Ivy")
    return str(update["message"]["photo"][-1]["file_id"])


async def test_polling_an_update_the_outage_left_unhandled_is_handled_once_afterwards(
        fake_telegram: FakeTelegram, polling_bot: tuple[Any, Readiness],
        outage: Outage) -> None:
    """Long polling: a shared location (the time zone: nothing to answer without the
    database, nothing spooled) sent during an outage is not confirmed to Telegram; the
    patient's emergency right after it is still answered at once; /readyz is not ready while
    the location waits; once the database is back the location is handled, once, and the
    emergency (already handled) is not handled again."""
    fake, (bot, readiness) = fake_telegram, polling_bot
    (welcome,) = await _say(fake, "/start")
    await _press(fake, welcome, "consent:yes")
    assert await readiness.problems() == []

    await outage.begin()
    located = fake.user_location(PATIENT, latitude=40.71, longitude=-74.0, first_name="Ivy")
    async def waiting() -> bool:
        return readiness.unhandled == 1
    await eventually(waiting, timeout=10)
    # Not held behind the waiting location: that cannot be handled until the outage ends.
    (advice, *_) = await _say(fake, ANAPHYLAXIS)
    assert "999" in advice["text"] and readiness.unhandled == 1
    problems = await readiness.problems()
    assert any("not handled yet" in p for p in problems), problems
    assert located["update_id"] in _unconfirmed(fake)  # Telegram still has it
    bot.bot_data.clock.advance(seconds=30)
    with _PollAttempts(located["update_id"]) as attempts:  # they fail meanwhile, with backoff
        await attempts.another()
    assert not _zone_replies(fake) and readiness.unhandled == 1

    await outage.end()

    async def recovered() -> bool:
        return (bool(_zone_replies(fake)) and readiness.unhandled == 0
                and not len(bot.bot_data.ops.spool) and not _unconfirmed(fake))
    await eventually(recovered, timeout=30)
    await eventually(lambda: _owed_none(bot), timeout=10)
    await _quiet(bot, fake)  # a second answer would have been sent by now
    (zone,) = _zone_replies(fake)
    assert "New York" in zone["text"] or "America" in zone["text"], zone["text"]
    assert [m for m in fake.sent_messages(PATIENT) if m.get("text") == advice["text"]] == [advice]
    assert len(_cards(fake)) == 1
    assert await readiness.problems() == []
    assert fake.violations == []


class _PollAttempts(logging.Handler):
    """The poller's failed attempts at an update, as its log tells them ("update N not
    handled (database unavailable; attempt K)"), counted from `with` on."""

    def __init__(self, update_id: int) -> None:
        super().__init__(logging.WARNING)
        self.update_id, self.seen = update_id, 0
        self._logger = logging.getLogger("bot.telegram.polling.poller")
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if (isinstance(record.msg, str) and record.msg.startswith("update %d not handled")
                and isinstance(record.args, tuple) and record.args[0] == self.update_id):
            self.seen += 1
            self._changed.set()

    def __enter__(self) -> _PollAttempts:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._logger.removeHandler(self)

    async def another(self, timeout: float = 20) -> None:
        """Until the poller has tried the update once more and left it unhandled."""
        async def seen() -> None:
            while not self.seen:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(seen(), timeout)


def _zone_replies(fake: FakeTelegram) -> list[dict[str, Any]]:
    return [m for m in fake.sent_messages(PATIENT)
            if "your check-ins now follow" in (m.get("text") or "")]


def _unconfirmed(fake: FakeTelegram) -> list[int]:
    return [u["update_id"] for u in fake.state.pending]


async def test_an_edit_a_command_and_a_photo_before_the_words_are_kept_and_replayed_once(
        fake_telegram: FakeTelegram, bot: Any, outage: Outage) -> None:
    """During an outage: an edit of the message that raised a report (now an emergency)
    gets the emergency advice at once and, after, updates that report (no second report or
    card); /mydata is answered "kept" at once and for real, once, after; a photo sent
    between /report and its words joins that report."""
    fake = fake_telegram
    (welcome,) = await _say(fake, "/start")
    await _press(fake, welcome, "consent:yes")
    before = len(fake.sent_messages(PATIENT))
    raised = fake.user_message(PATIENT, "there is some yellow pus and it feels hot",
                               first_name="Ivy")
    await fake.wait_for_messages(PATIENT, before + 1, timeout=10)

    async def carded() -> bool:
        return len(_cards(fake)) == 1
    await eventually(carded, timeout=20)
    await eventually(lambda: _owed_none(bot), timeout=10)  # and recorded as sent

    await outage.begin()
    before = len(fake.sent_messages(PATIENT))
    fake.edited_message(PATIENT, raised["message"]["message_id"], ANAPHYLAXIS)
    (advice, *_) = (await fake.wait_for_messages(PATIENT, before + 1, timeout=10))[before:]
    assert "999" in advice["text"]  # with the database still away
    (kept,) = await _say(fake, "/mydata")
    assert "I have kept your request" in kept["text"]
    (ask,) = await _say(fake, "/report")
    assert "Describe it in your own words" in ask["text"]
    before = len(fake.sent_messages(PATIENT))
    photo = _photo(fake, "")
    await fake.wait_for_messages(PATIENT, before + 1, timeout=10)
    before = len(fake.sent_messages(PATIENT))
    fake.user_message(PATIENT, "a small hard lump under the skin near my ear", first_name="Ivy")
    await fake.wait_for(lambda: any("I have kept your report" in (m.get("text") or "")
                                    for m in fake.sent_messages(PATIENT)[before:]))
    assert len(bot.bot_data.ops.spool) == 5  # edit, command, /report, photo, words
    assert all(status == 200 for _, status in fake.webhook_deliveries)  # all confirmed
    recovered_from = len(fake.sent_messages(PATIENT))

    await outage.end()

    async def stored() -> bool:
        return not len(bot.bot_data.ops.spool) and len(_cards(fake)) >= 2
    await eventually(stored, timeout=30)
    bot.bot_data.clock.advance(seconds=15)  # an edited card is edited after 10 s
    bot.bot_data.checkins.alert_bell.wake()
    await eventually(lambda: _owed_none(bot), timeout=20)
    await _quiet(bot, fake)  # a duplicate would have been sent by now
    desk = bot.bot_data.desk
    reports = {r.text: r for r in await desk.store.queue()}
    assert sorted(reports) == sorted([ANAPHYLAXIS, "a small hard lump under the skin near my ear"])
    assert reports[ANAPHYLAXIS].urgency == "emergency"  # the edit updated its report
    lump = reports["a small hard lump under the skin near my ear"]
    assert await desk.store.photos(lump.id) == [photo]
    assert len(_cards(fake)) == 2  # one card per report
    (first_card, _) = _cards(fake)
    edited = fake.state.get_message(STAFF_CHAT, first_card["message_id"])  # as staff see it
    assert edited is not None and edited["text"].startswith("EMERGENCY:")
    assert ANAPHYLAXIS in edited["text"]
    after = fake.sent_messages(PATIENT)[recovered_from:]
    assert [m for m in after if "What I store about you" in (m.get("text") or "")] != []
    assert len([m for m in after if "What I store about you" in (m.get("text") or "")]) == 1
    assert fake.violations == []
