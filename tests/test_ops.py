"""Operations: /healthz, /readyz, /metrics, SIGTERM, log format and what logs never contain.

The process tests run ``aftercare run`` as a subprocess against the standalone fake Bot API
(same pattern as tests/test_bot_restart.py); the others run the pieces in-process. The
default (plain) log format is read from the log of a bot started with default settings in
tests/test_startup.py (`test_server_errors_from_the_bot_api_are_waited_out`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.ops.http import Metrics, OpsServer, Readiness
from bot.ops.logs import Redactor, setup_logging
from scheduler.careplan import load_careplan
from scheduler.dispatcher import Dispatcher, DispatcherConfig, OutgoingCheckin
from scheduler.sql import SqlConnector
from storage import Database, SessionSource
from storage.figures import Figures, FixedFigures, SqlFigures
from storage.health import FixedProbe, SqlProbe
from storage.models import CheckIn
from tests.databases import migrated_sqlite
from tests.processes import Control, free_port, http_get, start_bot, until
from tests.stores import Stores

TOKEN = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # shaped like a real token
SECRET_TEXT = "zebra ointment on my chin question"
USER = 4711  # the user `Control.say` writes as


def start(root: str, tmp_path: Path, port: int, **extra: str) -> subprocess.Popen[str]:
    """`aftercare run` with its ops endpoints on `port`."""
    return start_bot(root, tmp_path / "ops.db", tmp_path, token=TOKEN, stdout=subprocess.PIPE,
                     AFTERCARE_HTTP_PORT=str(port), AFTERCARE_HTTP_LISTEN="127.0.0.1", **extra)


def metric(body: str, name: str) -> float:
    """The value of one sample line, e.g. 'aftercare_replies_total{outcome="answered"}'."""
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


async def test_endpoints_sigterm_and_json_logs_without_token_or_text(
        fake_server: str, tmp_path: Path) -> None:
    port = free_port()
    proc = start(fake_server, tmp_path, port, AFTERCARE_LOG_FORMAT="json")
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server)
        try:
            await until(lambda: _status(session, port, "/readyz", 200), "/readyz to pass")
            assert (await http_get(session, port, "/healthz"))[0] == 200
            welcome = await control.say("/start")
            await control.press(welcome, "consent:yes")
            picker = await control.say("/session")
            await control.press(picker, "session:yesterday")
            await control.post("update", {"kind": "message", "user_id": USER,
                                          "text": SECRET_TEXT})
            await control.post("update", {"kind": "message", "user_id": USER,
                                          "text": "can I wear makeup?"})
            await control.wait_sent(6)
            status, body = await http_get(session, port, "/metrics")
            assert (await http_get(session, port, "/nope"))[0] == 404
        finally:
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            _, err = proc.communicate(timeout=10)  # the 10 s a container runtime allows
            stopped_in = time.monotonic() - started
    assert proc.returncode == 0, err
    assert stopped_in < 10
    assert status == 200
    assert metric(body, "aftercare_updates_handled_total") >= 6
    assert metric(body, 'aftercare_replies_total{outcome="answered"}') >= 1
    assert "aftercare_checkin_send_seconds_bucket" in body
    assert 'aftercare_open_reports{urgency="emergency"}' in body
    assert "aftercare_oldest_open_report_age_seconds" in body
    lines = [line for line in err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"] == "stopping" for r in records)
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert SECRET_TEXT not in err and "makeup" not in err


async def _status(session: aiohttp.ClientSession, port: int, path: str, want: int) -> bool:
    return (await http_get(session, port, path))[0] == want


async def test_readyz_names_what_is_missing(tmp_path: Path) -> None:
    db = await Database.connect(migrated_sqlite(tmp_path / "r.db"), migrate=False)
    readiness = Readiness(SqlProbe(db.engine))
    server = OpsServer(Metrics(), readiness, SqlFigures(db.sessions))
    port = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            before = await http_get(session, port, "/readyz")
            readiness.authorised()
            after = await http_get(session, port, "/readyz")
            readiness.head = "9999_future"
            newer_code = await http_get(session, port, "/readyz")
            health = await http_get(session, port, "/healthz")
    finally:
        await server.stop()
        await db.close()
    assert before[0] == 503 and "getMe" in before[1]
    assert after == (200, "ready\n")
    assert newer_code[0] == 503 and "9999_future" in newer_code[1]
    assert health[0] == 200


async def test_readyz_says_when_the_database_does_not_answer_or_is_behind() -> None:
    probe = FixedProbe()
    readiness = Readiness(probe, bot_authorised=True)
    assert await readiness.problems() == []
    probe.down = True
    assert await readiness.problems() == ["database unreachable (DatabaseDown)"]
    probe.down, probe.at = False, "0001_initial"
    (behind,) = await readiness.problems()
    assert "0001_initial" in behind and readiness.head in behind


async def test_a_request_line_over_64_kib_gets_414_and_one_log_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = await Database.connect(migrated_sqlite(tmp_path / "l.db"), migrate=False)
    server = OpsServer(Metrics(), Readiness(SqlProbe(db.engine)), SqlFigures(db.sessions))
    port = await server.start("127.0.0.1", 0)
    caplog.set_level("DEBUG")
    try:
        answers = []
        for head in (b"GET /" + b"a" * 70_000 + b" HTTP/1.0\r\n\r\n",
                     b"GET /healthz HTTP/1.0\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head)
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.read(), 10))
            writer.close()
        async with aiohttp.ClientSession() as session:
            health = await http_get(session, port, "/healthz")
    finally:
        await server.stop()
        await db.close()
    assert answers[0].startswith(b"HTTP/1.0 414 ") and answers[1].startswith(b"HTTP/1.0 431 ")
    assert health[0] == 200  # still serving
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2 and all(r.name == "bot.ops.http" for r in refused)
    assert not any(r.exc_info for r in caplog.records)  # no traceback anywhere
    assert "aaaa" not in caplog.text


async def test_metrics_need_the_bearer_token_and_are_read_at_most_every_few_seconds(
        tmp_path: Path) -> None:
    from sqlalchemy import event

    from storage.clock import ManualClock

    db = await Database.connect(migrated_sqlite(tmp_path / "m.db"), migrate=False)
    queries: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda *args: queries.append(args[2]))
    clock = ManualClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    token = "metrics-token_0123456789"
    server = OpsServer(Metrics(), Readiness(SqlProbe(db.engine)), SqlFigures(db.sessions), clock,
                       metrics_token=token)
    port = await server.start("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/metrics"

    async def scrape(session: aiohttp.ClientSession, bearer: str | None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        async with session.get(url, headers=headers) as resp:
            return resp.status, await resp.text()
    try:
        async with aiohttp.ClientSession() as session:
            refused = [await scrape(session, None), await scrape(session, "wrong-token_0000")]
            assert queries == []  # refused before any query
            scrapes = [await scrape(session, token) for _ in range(3)]
            after_three = len(queries)
            clock.advance(seconds=6)
            await scrape(session, token)
            after_ttl = len(queries)
    finally:
        await server.stop()
        await db.close()
    assert [status for status, _ in refused] == [401, 401]
    assert all(status == 200 and "aftercare_checkins_due" in body for status, body in scrapes)
    assert after_three > 0 and after_ttl == 2 * after_three  # once per 5 s, not per scrape


def test_metrics_without_a_token_are_for_this_machine_only(tmp_path: Path) -> None:
    server = OpsServer(Metrics(), Readiness(FixedProbe()), FixedFigures())
    assert server._allowed("/metrics", {}, ("127.0.0.1", 5000)) is None
    assert server._allowed("/metrics", {}, ("::1", 5000, 0, 0)) is None
    refused = server._allowed("/metrics", {}, ("10.1.2.3", 5000))
    assert refused is not None and refused[0] == 403 and b"AFTERCARE_METRICS_TOKEN" in refused[2]
    assert server._allowed("/healthz", {}, ("10.1.2.3", 5000)) is None  # probes stay open
    assert server._allowed("/readyz", {}, ("10.1.2.3", 5000)) is None


def test_redactor_masks_the_token_in_messages_and_tracebacks() -> None:
    import io
    import logging

    stream = io.StringIO()
    handler = setup_logging("plain", secrets=(TOKEN,), stream=stream)
    logger = logging.getLogger("bot.test_ops")
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out and "AAHdqTcv" not in out
    assert out.count("[token]") >= 2
    assert Redactor(()).scrub("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") == "[token]"


class SlowSender:
    """Takes 0.3 s per send, like a slow network."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.started = asyncio.Event()

    async def send(self, message: OutgoingCheckin) -> int:
        self.started.set()
        await asyncio.sleep(0.3)
        self.sent.append(message.checkin_id)
        return len(self.sent)


async def test_shutdown_finishes_sends_in_flight_and_releases_the_rest(tmp_path: Path) -> None:
    db = await Database.connect(migrated_sqlite(tmp_path / "stop.db"), migrate=False)
    try:
        ids = await _due_rows(db, 12)
        sender = SlowSender()
        dispatcher = Dispatcher(SqlConnector(db.sessions), sender, load_careplan(),
                                config=DispatcherConfig(batch_size=6, concurrency=2,
                                                        rate_per_second=1000))
        tick = asyncio.create_task(dispatcher.tick())
        await sender.started.wait()
        assert await dispatcher.shutdown(timeout=5.0)
        await tick
        async with db.sessions() as s:
            rows = {r.id: r.status for r in (await s.execute(
                CheckIn.__table__.select())).all()}
    finally:
        await db.close()
    assert 0 < len(sender.sent) < len(ids)  # what was in flight went out, the rest did not
    assert {rows[i] for i in sender.sent} == {"sent"}
    assert {status for i, status in rows.items() if i not in sender.sent} == {"pending"}


async def _due_rows(db: Database, n: int) -> list[int]:
    repo = Stores.over(db)
    step = next(s for s in load_careplan().steps if s.enabled)
    now = dt.datetime.now(dt.UTC)
    ids: list[int] = []
    for user in range(7000, 7000 + n):
        await repo.patients.ensure(user, user)
        await repo.patients.record_consent(user, None)
        session = await repo.treatments.add(now.date() - dt.timedelta(days=200),
                                            SessionSource.STAFF, telegram_id=user)
        async with db.sessions.begin() as s:
            row = CheckIn(session_id=session.id, patient_id=session.patient_id, step=step.id,
                          day_offset=step.day, local_date=now.date(), tz="UTC", due_at=now,
                          deliver_until=now + dt.timedelta(hours=1), created_at=now,
                          updated_at=now)
            s.add(row)
            await s.flush()
            ids.append(row.id)
    return ids


@pytest.fixture(autouse=True)
def _no_leaked_handlers() -> Any:
    """setup_logging replaces root handlers; put pytest's back afterwards."""
    import logging

    root = logging.getLogger()
    saved = list(root.handlers)
    yield
    root.handlers[:] = saved


async def test_metrics_show_the_database_figures_they_are_given() -> None:
    """The gauges come from the figures source (storage/figures.py), here its in-memory
    twin: the oldest open report's age by the given clock, alerts owed, check-ins due."""
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    metrics = Metrics()
    await metrics.refresh(FixedFigures(Figures(
        checkins={"pending": 3, "sent": 2}, checkins_due=1, open_reports={"urgent": 2},
        oldest_open=now - dt.timedelta(minutes=5), alerts_owed=4)), now)
    body = metrics.render().decode()
    assert metric(body, 'aftercare_checkins{status="pending"}') == 3
    assert metric(body, 'aftercare_checkins{status="failed"}') == 0
    assert metric(body, "aftercare_checkins_due") == 1
    assert metric(body, 'aftercare_open_reports{urgency="urgent"}') == 2
    assert metric(body, 'aftercare_open_reports{urgency="emergency"}') == 0
    assert metric(body, "aftercare_oldest_open_report_age_seconds") == 300
    assert metric(body, "aftercare_alerts_owed") == 4
