"""The staff card of a red-flag report arrives exactly once, whatever Telegram does meanwhile.

End to end through the fake Bot API (its fault injection scripts the staff chat's answers):
a card send answered with 429, 500, a timeout, or a 403 because the bot was removed from the
staff group is retried until it is delivered, once; meanwhile /queue and /metrics say how
many alerts are owed. Then a real ``aftercare run`` is SIGKILLed after storing a report whose
card could not go out yet: after the restart the card arrives, exactly once.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.ops.http import Metrics
from knowledge.advisor import Advisor
from storage.clock import ManualClock
from storage.figures import SqlFigures
from tests.bot_harness import CLINIC, START, eventually, running_app
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import Control, start_bot, stop_bot, until

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
NURSE = 9001
PATIENT = 301
RED_FLAG = "my lip is swollen and my throat feels tight"
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"error_code": 429, "retry_after": 1, "times": 2},
    "500": {"error_code": 500, "times": 3},
    # a hang longer than any read timeout (it ends when the client gives up)
    "timeout": {"error_code": 504, "delay": 60.0, "times": 2},
    "403-removed-from-group": {
        "error_code": 403, "times": 3,
        "description": "Forbidden: bot was kicked from the supergroup chat"},
}
# The client's read timeout on card sends. Only the "timeout" case shortens it (from the
# configured default, AFTERCARE_ALERT_READ_TIMEOUT_SECONDS=10 in the example settings) so
# that its two hung sends are given up quickly. It stays well above what an answered send
# takes on a loaded machine: a send the fake accepted but the client gave up on would be
# retried and reach staff twice (Telegram's sendMessage has no idempotency key, so a card
# is delivered at least once, and a duplicate under a real read timeout is inherent).
READ_TIMEOUT = {"timeout": 2.5}


class Running:
    """The real Application on the fake Bot API, with its clock and alert sender."""

    def __init__(self, fake: FakeTelegram, app: Any, clock: ManualClock) -> None:
        self.fake, self.app, self.clock = fake, app, clock
        self.alerts = app.bot_data.checkins.alerts
        self.desk = app.bot_data.desk

    def cards(self, report_id: int) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent_messages(STAFF_CHAT)
                if f"report #{report_id}" in (m.get("text") or "")]

    async def report(self) -> int:
        """The patient describes an emergency: they get the advice; returns the report id."""
        self.fake.user_message(PATIENT, RED_FLAG, first_name="Mia")
        (advice,) = await self.fake.wait_for_messages(PATIENT, 1)
        assert "999" in advice["text"] or CLINIC.contact in advice["text"]
        queue = await self.desk.store.queue()
        assert len(queue) == 1
        return int(queue[0].id)

    async def until_delivered(self, report_id: int) -> None:
        """Let time pass on the injected clock (retries fall due, a 429 pause ends: see the
        `bot` fixture) and run the alert sender's tick, as its loop does, until nothing is
        owed (a tick returns once its sends were answered)."""
        for _ in range(100):
            if not await self.alerts.connector.owed() and self.cards(report_id):
                return
            self.clock.advance(seconds=5)
            await self.alerts.tick()
        raise AssertionError(f"card not delivered: {self.alerts.stats}")


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, database_url: str, advisor: Advisor,
              fault: str) -> AsyncIterator[Running]:
    clock = ManualClock(START)
    extra = ({"AFTERCARE_ALERT_READ_TIMEOUT_SECONDS": READ_TIMEOUT[fault]}
             if fault in READ_TIMEOUT else {})
    # the alert sender's 429 pause (scheduler/sending.py SendPause, kept on its injected
    # `monotonic`) runs on the test's clock too: it ends when the test moves the clock
    async with running_app(fake_telegram, database_url, advisor, clock, NURSE,
                           alerts_monotonic=clock.monotonic, **extra) as app:
        yield Running(fake_telegram, app, clock)


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_card_send_that_fails_is_delivered_exactly_once_after_recovery(
        bot: Running, fault: str) -> None:
    bot.fake.fail_next("sendMessage", chat_id=STAFF_CHAT, **FAULTS[fault])
    report_id = await bot.report()

    async def attempted() -> bool:
        return bool(bot.alerts.stats.retried or bot.alerts.stats.rate_limited)
    await eventually(attempted, timeout=10)
    assert bot.cards(report_id) == []  # not yet: Telegram refused it
    queue = await bot.desk.views.queue_text()
    assert "Alerts not yet delivered to this chat: 1" in queue  # what /queue shows staff
    metrics = Metrics()
    await metrics.refresh(SqlFigures(bot.desk.store.sessions), bot.clock())
    assert b"aftercare_alerts_owed 1.0" in metrics.render()

    await bot.until_delivered(report_id)  # nothing owed: every send is over ...
    await bot.fake.settled()  # ... and recorded, so no second copy can still arrive
    (card,) = bot.cards(report_id)
    assert card["text"].startswith("EMERGENCY:") and f"Telegram id {PATIENT}" in card["text"]
    assert card.get("reply_markup")
    assert "Alerts not yet delivered" not in await bot.desk.views.queue_text()


async def test_a_card_owed_when_the_process_is_killed_arrives_once_after_restart(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "kill.db"
    migrated_sqlite(database)  # the run's no-op upgrade instead of a first migration
    staff: dict[str, Any] = {
        "AFTERCARE_STAFF_CHAT_ID": str(STAFF_CHAT), "AFTERCARE_STAFF_IDS": str(NURSE),
        "AFTERCARE_ALERT_POLL_SECONDS": "0.2", "AFTERCARE_ALERT_BACKOFF_SECONDS": "0.2",
        "AFTERCARE_ALERT_BACKOFF_CAP_SECONDS": "0.5"}
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server, user=PATIENT)
        # the staff chat refuses every card for now: the report is stored, its card owed
        await control.post("fail", {"method": "sendMessage", "chat_id": STAFF_CHAT,
                                    "error_code": 500, "times": 100_000})
        first = start_bot(fake_server, database, tmp_path, **staff)
        try:
            advice = await control.say(RED_FLAG)
            assert "999" in advice["text"]

            def owed() -> list[tuple[int, int, str]]:
                with sqlite3.connect(database) as db:
                    return db.execute("SELECT report_id, attempts, status FROM alerts "
                                      "WHERE status IN ('pending', 'claimed')").fetchall()

            async def tried() -> Any:
                return [row for row in owed() if row[1] >= 1]
            ((report_id, _, _),) = await until(tried, "a card send attempt")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
        assert owed() and await control.get("sent_messages", chat_id=STAFF_CHAT) == []

        await control.post("clear", {})  # Telegram answers again
        second = start_bot(fake_server, database, tmp_path, **staff)
        try:
            async def delivered() -> Any:
                cards = [m for m in await control.get("sent_messages", chat_id=STAFF_CHAT)
                         if f"report #{report_id}" in m.get("text", "")]
                return cards if cards and not owed() else None
            cards = await until(delivered, "the card after the restart")
            await control.settled()  # nothing owed or in flight: no second copy can come
            again = [m for m in await control.get("sent_messages", chat_id=STAFF_CHAT)
                     if f"report #{report_id}" in m.get("text", "")]
            assert len(cards) == len(again) == 1
        finally:
            code, err = stop_bot(second)
        assert code == 0, err[-2000:]
        assert "Traceback" not in err

