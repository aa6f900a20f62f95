"""Restart test: `aftercare run` as a real process, stopped with SIGTERM and started again.

The fake Telegram server runs as its own process too and is driven through its /_control/
API. Patients, their consent and sessions must survive the restart.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.processes import Control, start_bot, stop_bot

USER = 4711


async def test_patients_sessions_and_consent_survive_a_restart(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "restart.db"
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
            mydata = await control.say("/mydata")
            answer = await control.say("can I wear makeup?")
            again = await control.say("/start")
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
        violations = await control.get("violations")
    assert "Agreed to storage: " in mydata["text"] and "Treatments: " in mydata["text"]
    assert "none" not in mydata["text"].split("Treatments: ")[1].splitlines()[0]
    assert "day 1" in answer["text"]
    assert "Welcome back" in again["text"]
    assert violations == []
