"""The webhook server (bot/telegram/webhook.py) over real HTTP, with the fake Bot API.

* a 90 MB POST without the secret is refused from its headers, before its body is read: the
  answer (403) comes back although no byte of the body was sent, the process's memory does
  not grow with four such uploads, and patients are still answered;
* a declared body over the limit is refused (413) even with the secret; a chunked one is
  cut off;
* a rotated AFTERCARE_WEBHOOK_SECRET works after one restart (setWebhook registers the new
  one); the old secret is refused;
* an update is confirmed (200) only once handled: the reply has been sent when the 200
  arrives, and an update the database could not take gets 503, so Telegram delivers it
  again, and is answered when it comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.app import build_application, running
from bot.telegram.webhook import MAX_UPDATE_BYTES, fingerprint
from knowledge.advisor import Advisor
from storage import Database
from storage.clock import ManualClock
from tests.bot_harness import START, bot_settings
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port
from tests.sqlite_outage import SqliteOutage

SECRET = "first-webhook-secret_1"
ROTATED = "second-webhook-secret_2"
PATH = "/telegram/hook"
MB = 1024 * 1024


def _rss() -> int:
    """This process's resident memory in bytes (the bot runs in it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.connect(migrated_sqlite(tmp_path / "bot.db"), migrate=False)
    try:
        yield database
    finally:
        await database.close()


def _settings(fake: FakeTelegram, tmp_path: Path, port: int, secret: str) -> Any:
    return bot_settings(fake, tmp_path, AFTERCARE_WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}",
                        AFTERCARE_WEBHOOK_SECRET=secret, AFTERCARE_WEBHOOK_LISTEN="127.0.0.1",
                        AFTERCARE_WEBHOOK_PORT=port, AFTERCARE_HTTP_PORT=0)


async def _head_only(port: int, headers: dict[str, str]) -> tuple[str, asyncio.StreamWriter]:
    """Send a POST's headers (no body yet); the status line the server answers with."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"POST {PATH} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(lines).encode())
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    return status.decode().strip(), writer


async def _upload(writer: asyncio.StreamWriter, size: int) -> int:
    """Try to send `size` bytes of body; how many the connection took before it closed."""
    chunk = b"x" * MB
    sent = 0
    try:
        while sent < size:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 10)
            sent += len(chunk)
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
    return sent


async def test_a_huge_unauthenticated_post_is_refused_before_its_body_is_read(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor, db: Database,
        port: int) -> None:
    settings = _settings(fake_telegram, tmp_path, port, SECRET)
    app = build_application(settings, db, advisor, clock=ManualClock(START))
    huge = {"Content-Type": "application/json", "Content-Length": str(90 * MB)}
    async with running(app, settings):
        fake_telegram.user_message(30, "/start")
        await fake_telegram.wait_for_messages(30, 1)
        before = _rss()

        async def attack(headers: dict[str, str]) -> tuple[str, int]:
            status, writer = await _head_only(port, headers)  # answered before any body
            return status, await _upload(writer, 90 * MB)

        wrong = {**huge, "X-Telegram-Bot-Api-Secret-Token": "not-the-secret_000"}
        results = await asyncio.gather(attack(huge), attack(huge), attack(wrong),
                                       attack(wrong))
        assert [status for status, _ in results] == ["HTTP/1.1 403 Forbidden"] * 4
        assert all(sent < 45 * MB for _, sent in results), results  # the server hung up
        grown = _rss() - before
        assert grown < 30 * MB, f"memory grew by {grown / MB:.0f} MB"

        # with the secret, a declared body over the limit is refused the same way
        status, writer = await _head_only(port, {**huge, "X-Telegram-Bot-Api-Secret-Token":
                                                 SECRET})
        writer.close()
        assert status.startswith("HTTP/1.1 413")
        # and a chunked one is cut off once past the limit
        status = await _chunked(port, MAX_UPDATE_BYTES + MB)
        assert not status.startswith("HTTP/1.1 200")

        fake_telegram.user_message(30, "/privacy")  # patients are still answered
        await fake_telegram.wait_for_messages(30, 2)
    assert fake_telegram.violations == []


async def _chunked(port: int, size: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nTransfer-Encoding: chunked\r\n\r\n")
    writer.write(head.encode())
    chunk = b"%x\r\n%s\r\n" % (MB, b" " * MB)
    try:
        for _ in range(size // MB + 1):
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 10)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except (ConnectionError, TimeoutError):
        pass
    try:
        status = await asyncio.wait_for(reader.readline(), 10)
    except (ConnectionError, TimeoutError):
        status = b""
    writer.close()
    return status.decode().strip()


async def test_a_rotated_secret_works_after_one_restart(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor, db: Database,
        port: int) -> None:
    url = f"http://127.0.0.1:{port}{PATH}"
    for secret, patient in ((SECRET, 40), (ROTATED, 41), (ROTATED, 42)):
        settings = _settings(fake_telegram, tmp_path, port, secret)
        app = build_application(settings, db, advisor, clock=ManualClock(START))
        async with running(app, settings):
            fake_telegram.user_message(patient, "/start")  # Telegram uses what it was given
            await fake_telegram.wait_for_messages(patient, 1)
            if secret == ROTATED:
                old = {"update_id": 990000 + patient, "message": {
                    "message_id": 1, "date": 0, "chat": {"id": 43, "type": "private"},
                    "from": {"id": 43, "is_bot": False, "first_name": "Eve"}, "text": "hi"}}
                assert await fake_telegram.post_update_to(url, old, SECRET) == 403
    registered = [(c.params["url"], c.params["secret_token"])
                  for c in fake_telegram.calls("setWebhook")]
    # the new secret registered on the first restart, not again on the second
    assert registered == [(f"{url}?aftercare={fingerprint(SECRET)}", SECRET),
                          (f"{url}?aftercare={fingerprint(ROTATED)}", ROTATED)]
    assert SECRET not in registered[0][0] and all(
        status == 200 for _, status in fake_telegram.webhook_deliveries)
    assert fake_telegram.sent_messages(43) == []


def _message(update_id: int, user: int, text: str) -> dict[str, Any]:
    update: dict[str, Any] = {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "Ivy"}, "text": text}}
    if text.startswith("/"):
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0,
                                          "length": len(text.split()[0])}]
    return update


async def test_an_update_is_confirmed_only_once_handled(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor, db: Database,
        port: int) -> None:
    settings = _settings(fake_telegram, tmp_path, port, SECRET)
    app = build_application(settings, db, advisor, clock=ManualClock(START))
    url = f"http://127.0.0.1:{port}{PATH}"
    outage = SqliteOutage()
    try:
        await _confirmed_once_handled(fake_telegram, app, settings, url, db, outage)
    finally:
        await outage.close()  # the connections it dropped while the bot used them


async def _confirmed_once_handled(fake_telegram: FakeTelegram, app: Any, settings: Any,
                                  url: str, db: Database, outage: SqliteOutage) -> None:
    async with running(app, settings):
        # the reply is on its way before Telegram hears "200"
        fake_telegram.fail_next("sendMessage", delay=0.5, chat_id=50)
        assert await fake_telegram.post_update_to(url, _message(1, 50, "/start"), SECRET) == 200
        assert len(fake_telegram.sent_messages(50)) == 1

        # the database goes away: a shared location (the time zone) cannot be handled nor
        # kept, so it is not confirmed (a command would be kept in the spool: test_outage.py)
        await outage.begin(db.engine)
        located = _message(2, 50, "")
        del located["message"]["text"]
        located["message"]["location"] = {"latitude": 40.71, "longitude": -74.0}
        assert await fake_telegram.post_update_to(url, located, SECRET) == 503
        assert len(fake_telegram.sent_messages(50)) == 1

        await outage.end(db.engine)  # back: Telegram's next delivery is answered
        assert await fake_telegram.post_update_to(url, located, SECRET) == 200
        (_, answer) = fake_telegram.sent_messages(50)
        assert "locations" in answer["text"]  # the answer to the location (no consent yet)
