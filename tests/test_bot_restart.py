"""Restart test: `aftercare run` as a real process, stopped with SIGTERM and started again.

The fake Telegram server runs as its own process too and is driven through its /_control/
API. Patients, their consent and sessions must survive the restart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.databases import migrated_sqlite
from tests.processes import Control, checkin_id_of, start_bot, stop_bot

USER = 4711


async def answer_to(control: Control, text: str) -> dict[str, Any]:
    """The bot's answer to `text`, skipping check-ins that fall due meanwhile (the session is
    real "yesterday", so the day-1 check-in may be due as the bot restarts)."""
    before = len(await control.sent())
    await control.post("update", {"kind": "message", "user_id": control.user, "text": text})
    seen = before
    while True:
        sent = await control.wait_sent(seen + 1)
        answers = [m for m in sent[before:] if checkin_id_of(m) is None]
        if answers:
            return answers[0]
        seen = len(sent)


async def test_patients_sessions_and_consent_survive_a_restart(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "restart.db"
    migrated_sqlite(database)  # the run's no-op upgrade instead of a first migration
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server)
        bot = start_bot(fake_server, database, tmp_path)
        try:
            welcome = await control.say("/start")
            assert "I agree" in str(welcome["reply_markup"])
            await control.press(welcome, "consent:yes")
            picker = await control.say("/session")
            logged = await control.press(picker, "session:yesterday")
            assert "Today is day 1" in logged["text"]
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
        assert "123:abcdef" not in err  # the token never reaches the logs

        bot = start_bot(fake_server, database, tmp_path)
        try:
            mydata = await answer_to(control, "/mydata")
            answer = await answer_to(control, "can I wear makeup?")
            again = await answer_to(control, "/start")
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
        violations = await control.get("violations")
    assert "Agreed to storage: " in mydata["text"] and "Treatments: " in mydata["text"]
    assert "none" not in mydata["text"].split("Treatments: ")[1].splitlines()[0]
    assert "day 1" in answer["text"]
    assert "Welcome back" in again["text"]
    assert violations == []


async def test_an_update_in_hand_when_the_bot_is_killed_is_answered_after_restart(
        fake_server: str, tmp_path: Path) -> None:
    """SQLite, long polling: an update is confirmed to Telegram only once handled, so one
    being handled when the process is SIGKILLed is delivered again to the next run."""
    database = tmp_path / "kill.db"
    migrated_sqlite(database)  # the run's no-op upgrade instead of a first migration
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server)
        bot = start_bot(fake_server, database, tmp_path)
        try:
            await control.say("/start")
            await control.post("fail", {"method": "sendMessage", "chat_id": USER,
                                        "delay": 8.0})  # the answer hangs
            update = await control.post("update", {"kind": "message", "user_id": USER,
                                                   "text": "can I wear makeup?"})

            async def fetched() -> bool:  # the bot has the update, and has polled again
                polls = await control.get("requests", method="getUpdates")
                got = [p["time"] for p in polls
                       if update["update_id"] in [u["update_id"] for u in p["result"] or ()]]
                return bool(got) and any(p["time"] > got[0] for p in polls)
            await control.until(fetched, "the bot to fetch the update")
        finally:
            bot.kill()  # SIGKILL while the update is being handled
            bot.communicate(timeout=20)
        killed = time.time()
        await control.post("clear", {})  # no more delays

        bot = start_bot(fake_server, database, tmp_path)
        try:
            async def answered() -> list[dict[str, Any]]:  # by the new process
                return [r for r in await control.get("requests", method="sendMessage")
                        if r["time"] > killed and r["params"].get("chat_id") == USER]
            (answer,) = await control.until(
                answered, "the update to be answered after the restart",
                timeout=120)  # a bound on a hang: a loaded machine is slow
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
    assert "makeup" in answer["params"]["text"].lower()
