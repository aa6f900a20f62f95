"""Restart test: `aftercare run` as a real process, stopped with SIGTERM and started again.

The fake Telegram server runs as its own process too and is driven through its /_control/
API. Patients, their consent and sessions must survive the restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
USER = 4711


@pytest.fixture
def fake_server() -> Iterator[str]:
    """A standalone fake Bot API server process; yields its root URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_telegram", "--port", "0", "--max-poll-wait", "0.2"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line and line[0] == "FAKE_TELEGRAM_READY", line
        yield line[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_bot(root: str, database: Path, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(TELEGRAM_BOT_TOKEN="123:abcdef", AFTERCARE_BOT_API_URL=f"{root}/bot",
               AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
               AFTERCARE_TIMEZONE="UTC", PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_bot(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    return proc.returncode, err


class Control:
    """The fake server's control API."""

    def __init__(self, session: aiohttp.ClientSession, root: str) -> None:
        self.session = session
        self.root = root

    async def post(self, name: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.root}/_control/{name}", json=body) as resp:
            payload = await resp.json()
            assert resp.status == 200, payload
            return payload["result"]

    async def get(self, name: str, **query: Any) -> Any:
        async with self.session.get(f"{self.root}/_control/{name}", params=query) as resp:
            return (await resp.json())["result"]

    async def sent(self) -> list[dict[str, Any]]:
        return list(await self.get("sent_messages", chat_id=USER))

    async def wait_sent(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            sent = await self.sent()
            if len(sent) >= n:
                return sent
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(sent)} of {n} messages were sent")
            await asyncio.sleep(0.05)

    async def say(self, text: str) -> dict[str, Any]:
        before = len(await self.sent())
        await self.post("update", {"kind": "message", "user_id": USER, "text": text})
        return (await self.wait_sent(before + 1))[before]

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        before = len(await self.sent())
        await self.post("update", {"kind": "callback_query", "user_id": USER, "data": data,
                                   "message_id": message["message_id"]})
        return (await self.wait_sent(before + 1))[before]


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
