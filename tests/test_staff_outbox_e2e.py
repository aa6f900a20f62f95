"""Staff replies typed in Telegram go through the desk outbox, as the web desk's do.

End to end through the fake Bot API, the real Application, SQLite and PostgreSQL:
* a reply after the Reply button, and a reply to the card, reach that one patient once;
  "Sent" and the "replied" audit come once the answer arrived, and the answer was stored in
  the desk outbox (storage/desk_outbox.py) before it was sent;
* a first send answered with 429, 500 or a time-out is retried on the back-off until the
  answer arrives, once, after the "taken" notice;
* web-desk and Telegram replies to one patient arrive in the order staff gave them, also
  when Telegram refused the first of them for a while;
* a real ``aftercare run`` SIGKILLed while sending a reply it had stored: after the restart
  the patient gets it exactly once (the staff message, handled again because Telegram was
  never told it was handled, finds its messages stored and is not acted on twice).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from knowledge.advisor import Advisor
from storage.clock import ManualClock
from storage.models import DeskOutbox
from tests.bot_harness import STAFF_CHAT, START, button_data, eventually, running_app
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import Control, start_bot, stop_bot, until
from tests.web_harness import client, csrf_of, desk_services, sign_in

NURSE = 9001  # tests.web_harness signs in as this staff member too
ZOE, BEN = 501, 502
RED_FLAG = "there is yellow pus and a fever"
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"error_code": 429, "retry_after": 1},
    "500": {"error_code": 500},
    "timeout": {"error_code": 504, "delay": 8.0},  # longer than READ_TIMEOUT
}
# The desk outbox's read timeout in the "timeout" case (AFTERCARE_DESK_READ_TIMEOUT_SECONDS;
# by default the client's 5 s), so that the hung send is given up sooner. It stays well above
# what an answered send takes on a loaded machine: a send the fake accepted but the client
# gave up on would be retried and reach the patient twice (as in test_alert_outbox_e2e).
READ_TIMEOUT = {"timeout": 2.5}


class Bot:
    """The running bot seen from the patients' chats and the staff chat."""

    def __init__(self, fake: FakeTelegram, app: Any, clock: ManualClock) -> None:
        self.fake, self.app, self.clock = fake, app, clock
        self.store = app.bot_data.desk.store
        self.sessions = app.bot_data.database.sessions

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id)

    def texts(self, chat_id: int, since: int = 0) -> list[str]:
        return [str(m.get("text") or m.get("caption") or "") for m in self.sent(chat_id)[since:]]

    async def new(self, chat_id: int, before: int, n: int = 1) -> list[dict[str, Any]]:
        return (await self.fake.wait_for_messages(chat_id, before + n, 20.0))[before:]

    async def card(self, patient: int, name: str) -> tuple[dict[str, Any], int]:
        """The patient agrees and reports a red flag; the staff card and the report id."""
        before = len(self.sent(patient))
        self.fake.user_message(patient, "/start", first_name=name)
        (welcome,) = await self.new(patient, before)
        before = len(self.sent(patient))
        self.fake.callback_query(patient, "consent:yes", welcome["message_id"], first_name=name)
        await self.new(patient, before)
        staff_before, before = len(self.sent(STAFF_CHAT)), len(self.sent(patient))
        self.fake.user_message(patient, RED_FLAG, first_name=name)
        await self.new(patient, before)
        (card,) = await self.new(STAFF_CHAT, staff_before)
        report_id = int(button_data(card)[0].split(":")[2])

        async def recorded() -> bool:
            return await self.store.card(STAFF_CHAT, card["message_id"]) is not None
        await eventually(recorded)
        return card, report_id

    def staff(self, text: str, reply_to: int | None = None) -> None:
        self.fake.user_message(NURSE, text, first_name="Nurse", chat_id=STAFF_CHAT,
                               chat_type="supergroup", reply_to_message_id=reply_to)

    async def job_ran(self) -> None:
        """Until the desk-outbox job has made a whole pass that began after this call: any
        row it could still send (a second copy) would have been sent by then."""
        await asyncio.wait_for(self.app.bot_data.desk.outbox_passes.next(now=True), 20)
        await self.fake.settled()  # and whatever it sent is recorded

    async def replied(self, report_id: int) -> list[str | None]:
        return [a.note for a in await self.store.actions(report_id) if a.action == "replied"]

    async def outbox(self) -> list[tuple[int, str, str | None]]:
        """(chat, status, source) of every desk-outbox row."""
        async with self.sessions() as s:
            rows = await s.execute(select(DeskOutbox.chat_id, DeskOutbox.status,
                                          DeskOutbox.source).order_by(DeskOutbox.id))
            return [(int(c), str(st), src) for c, st, src in rows]


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, database_url: str, advisor: Advisor,
              request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    clock = ManualClock(START)
    callspec = getattr(request.node, "callspec", None)
    fault = callspec.params.get("fault") if callspec is not None else None
    extra: dict[str, Any] = ({"AFTERCARE_DESK_READ_TIMEOUT_SECONDS": READ_TIMEOUT[fault]}
                             if fault in READ_TIMEOUT else {})
    async with running_app(fake_telegram, database_url, advisor, clock, NURSE, **extra) as app:
        yield Bot(fake_telegram, app, clock)


async def test_a_telegram_reply_reaches_that_patient_once_through_the_outbox(bot: Bot) -> None:
    card, report_id = await bot.card(ZOE, "Zoe")
    _, ben_report = await bot.card(BEN, "Ben")
    ben_before = len(bot.sent(BEN))

    # the Reply button, then the answer as the next message
    answered = len(bot.fake.calls("answerCallbackQuery"))
    staff_before = len(bot.sent(STAFF_CHAT))
    bot.fake.callback_query(NURSE, f"st:reply:{report_id}", card["message_id"],
                            chat_id=STAFF_CHAT, first_name="Nurse")
    await bot.fake.wait_for(lambda: len(bot.fake.calls("answerCallbackQuery")) > answered)
    (prompt,) = await bot.new(STAFF_CHAT, staff_before)
    assert "Zoe" in prompt["text"]
    zoe_before, staff_before = len(bot.sent(ZOE)), len(bot.sent(STAFF_CHAT))
    bot.staff("Come in at 3pm, please.")
    taken, answer = await bot.new(ZOE, zoe_before, 2)
    assert "looking at your report" in taken["text"]
    assert "Come in at 3pm" in answer["text"] and "Glow Clinic" in answer["text"]
    told = await bot.new(STAFF_CHAT, staff_before, 2)
    assert "taken" in told[0]["text"] and "Sent to Zoe only" in told[-1]["text"]

    # a reply to the card: Zoe only again
    zoe_before, staff_before = len(bot.sent(ZOE)), len(bot.sent(STAFF_CHAT))
    bot.staff("And bring the cream you use.", reply_to=card["message_id"])
    (second,) = await bot.new(ZOE, zoe_before)
    assert "bring the cream" in second["text"]
    (sent,) = await bot.new(STAFF_CHAT, staff_before)
    assert "Sent to Zoe only" in sent["text"]

    await bot.job_ran()  # the desk-outbox job has run since: nothing goes twice
    carriers = [m["chat_id"] for m in bot.fake.sent_messages()
                if "Come in at 3pm" in (m.get("text") or "")
                or "bring the cream" in (m.get("text") or "")]
    assert carriers == [ZOE, ZOE]
    assert len(bot.sent(BEN)) == ben_before
    assert await bot.replied(report_id) == ["Come in at 3pm, please.",
                                            "And bring the cream you use."]
    assert await bot.replied(ben_report) == []
    rows = await bot.outbox()  # every staff message went through the outbox, all sent
    to_zoe = [row for row in rows if row[0] == ZOE]
    assert len(to_zoe) == 3 and all(status == "sent" for _, status, _ in rows)
    assert all(source and source.startswith("update:") for _, _, source in rows)
    assert bot.fake.violations == []


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_first_send_refused_by_telegram_is_retried_until_it_arrives_once(
        bot: Bot, fault: str) -> None:
    card, report_id = await bot.card(ZOE, "Zoe")
    bot.fake.fail_next("sendMessage", chat_id=ZOE, **FAULTS[fault])
    zoe_before, staff_before = len(bot.sent(ZOE)), len(bot.sent(STAFF_CHAT))
    bot.staff("Please call us today.", reply_to=card["message_id"])

    def refused() -> bool:
        return any(c.params.get("chat_id") == ZOE and c.status != 200
                   for c in bot.fake.calls("sendMessage"))
    await bot.fake.wait_for(refused)
    (taken,) = await bot.new(STAFF_CHAT, staff_before)  # the staff chat hears it was taken
    assert "taken" in taken["text"]
    assert len(bot.sent(ZOE)) == zoe_before  # nothing yet: the notice waits for its retry
    assert not any("Sent to" in t or "Not delivered" in t for t in bot.texts(STAFF_CHAT))
    assert await bot.replied(report_id) == []

    bot.clock.advance(seconds=5)  # past the back-off (429: its retry_after)
    notice, answer = await bot.new(ZOE, zoe_before, 2)
    assert "looking at your report" in notice["text"]
    assert "Please call us today" in answer["text"]
    (sent,) = await bot.new(STAFF_CHAT, staff_before + 1)
    assert "Sent to Zoe only" in sent["text"]
    bot.clock.advance(minutes=5)
    await bot.job_ran()  # the job runs again: nothing is sent twice
    assert len(bot.sent(ZOE)) == zoe_before + 2
    assert await bot.replied(report_id) == ["Please call us today."]
    assert bot.fake.violations == []


async def test_web_and_telegram_replies_reach_the_patient_in_the_order_given(
        bot: Bot, database_url: str, advisor: Advisor) -> None:
    card, report_id = await bot.card(ZOE, "Zoe")
    report = await bot.store.get(report_id)
    assert report is not None
    bot.fake.fail_next("sendMessage", 500, chat_id=ZOE)  # the first message waits a while
    zoe_before = len(bot.sent(ZOE))
    async with desk_services(database_url, advisor, bot.clock) as web, client(web) as http:
        await sign_in(http, NURSE, START)

        async def on_the_web(text: str) -> None:
            response = await http.post(f"/reports/{report_id}/reply", data={
                "csrf": await csrf_of(http), "patient_id": report.patient_id, "text": text})
            assert response.status_code == 303

        async def in_telegram(text: str) -> None:
            handled = len(await bot.outbox())
            bot.staff(text, reply_to=card["message_id"])

            async def stored() -> bool:
                return len(await bot.outbox()) > handled
            await eventually(stored)

        await on_the_web("First: keep it clean.")
        await bot.fake.wait_for(lambda: any(c.params.get("chat_id") == ZOE and c.status == 500
                                            for c in bot.fake.calls("sendMessage")))
        await in_telegram("Second: no makeup today.")
        await on_the_web("Third: cool compress.")
        await in_telegram("Fourth: call if it spreads.")
        assert len(bot.sent(ZOE)) == zoe_before  # all behind the first, waiting for its retry

        bot.clock.advance(seconds=5)
        got = await bot.new(ZOE, zoe_before, 5)
    assert "looking at your report" in got[0]["text"]
    words = ["First", "Second", "Third", "Fourth"]
    assert [next(w for w in words if f"{w}:" in m["text"]) for m in got[1:]] == words
    await bot.job_ran()
    assert len(bot.sent(ZOE)) == zoe_before + 5  # each once
    assert await bot.replied(report_id) == ["First: keep it clean.", "Second: no makeup today.",
                                            "Third: cool compress.",
                                            "Fourth: call if it spreads."]


async def test_a_reply_stored_before_a_kill_arrives_once_after_the_restart(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "kill.db"
    migrated_sqlite(database)  # the run's no-op upgrade instead of a first migration
    settings: dict[str, Any] = {
        "AFTERCARE_STAFF_CHAT_ID": str(STAFF_CHAT), "AFTERCARE_STAFF_IDS": str(NURSE),
        "AFTERCARE_ALERT_LEASE_SECONDS": "2", "AFTERCARE_ALERT_BACKOFF_SECONDS": "0.2",
        "AFTERCARE_ALERT_BACKOFF_CAP_SECONDS": "0.5"}
    answer = "Please come in at 3pm today."

    def rows() -> list[tuple[int, int, str, str | None]]:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT chat_id, attempts, status, last_error FROM desk_outbox "
                              "ORDER BY id").fetchall()

    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server, user=ZOE)

        async def staff_chat() -> list[dict[str, Any]]:
            return list(await control.get("sent_messages", chat_id=STAFF_CHAT))

        async def to_zoe() -> list[str]:
            return [m.get("text", "") for m in await control.sent()]

        first = start_bot(fake_server, database, tmp_path, **settings)
        try:
            welcome = await control.say("/start")
            await control.press(welcome, "consent:yes")
            await control.say(RED_FLAG)

            async def carded() -> Any:
                return [m for m in await staff_chat() if "report #" in m.get("text", "")]
            (card,) = await control.until(carded, "the staff card")
            # the patient's chat hangs: the "taken" notice is in flight when the bot dies
            await control.post("fail", {"method": "sendMessage", "chat_id": ZOE,
                                        "error_code": 500, "delay": 30.0})
            zoe_before = len(await to_zoe())
            await control.post("update", {
                "kind": "message", "user_id": NURSE, "first_name": "Nurse", "text": answer,
                "chat_id": STAFF_CHAT, "chat_type": "supergroup",
                "reply_to_message_id": card["message_id"]})

            async def in_flight() -> Any:  # stored, and the first message to Zoe hanging
                return (await control.get("faults") == 0
                        and [r for r in rows() if r[0] == ZOE and r[1] >= 1 and r[3] is None])
            await until(in_flight, "the reply stored and being sent")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=20)
        assert len(await to_zoe()) == zoe_before
        assert await control.get("pending") >= 1  # Telegram was never told it was handled

        assert await control.get("faults") == 0  # the hang was used up: Telegram answers again
        second = start_bot(fake_server, database, tmp_path, **settings)
        try:
            async def delivered() -> Any:
                texts = (await to_zoe())[zoe_before:]
                return texts if any(answer in t for t in texts) else None
            await control.until(delivered, "the reply after the restart")

            async def confirmed() -> Any:
                return [m for m in await staff_chat() if "Sent to" in m.get("text", "")]
            await control.until(confirmed, "the staff chat told it was sent")

            async def quiet() -> Any:  # nothing left to send, the staff message confirmed
                return (all(status == "sent" for _, _, status, _ in rows())
                        and await control.get("pending") == 0)
            await until(quiet, "every desk-outbox row sent and the update confirmed")
            await control.settled()  # nothing in flight: no second copy can still arrive
            texts = (await to_zoe())[zoe_before:]
            assert sum(answer in t for t in texts) == 1, texts
            assert sum("looking at your report" in t for t in texts) == 1, texts
            assert len(texts) == 2
            assert len(await confirmed()) == 1
            assert all(status == "sent" for _, _, status, _ in rows())
            assert await control.get("pending") == 0
        finally:
            code, err = stop_bot(second)
        assert code == 0, err[-2000:]
        assert "Traceback" not in err
