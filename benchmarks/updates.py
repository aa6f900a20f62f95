"""Updates handled per second through the whole stack, against a bare python-telegram-bot echo bot.

The fake Bot API server runs in its own process, as Telegram does, and both bots run in this
process against it (real HTTP, long polling), one after the other, in alternating rounds so
both see the same machine load. Each round queues the same burst of text updates from many
patients at once and measures until every one is answered. The full bot does everything it
does in production for each update: read the patient and latest session (SQLite), triage,
match, log both messages, send the HTML reply. Telegram's flood limit is switched off
(AFTERCARE_MAX_SENDS_PER_SECOND=0) so the figures measure our code, not the rate limiter.
Prints each round, the medians and their ratio (target: at least 0.5). Never fails on timing.

Run: ``.venv/bin/python benchmarks/updates.py [--updates 500] [--users 50] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config import load_settings
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from tests.stores import Stores

TOKEN = "123456:BENCH-token"
QUESTIONS = ["can I wear makeup?", "when can I go to the gym", "is redness normal",
             "can I wash my face tonight", "sun cream?", "thanks"]


class FakeServer:
    """The fake Bot API server in a subprocess, driven through its control API."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_telegram", "--port", "0"], cwd=ROOT,
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("FAKE_TELEGRAM_READY"):
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.root = line.split()[1].rstrip("/")  # "FAKE_TELEGRAM_READY http://127.0.0.1:PORT"
        self.base_url = f"{self.root}/bot"

    def control(self, name: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.root}/_control/{name}", data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["result"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Rate:
    """Updates per second of wall-clock time, and per second of this process's CPU time."""

    wall: float
    cpu: float


async def measure(fake: FakeServer, updates: int, users: int, first_user: int) -> Rate:
    """Queue a burst of `updates` messages; rates until all are answered."""
    loop = asyncio.get_running_loop()
    before = (await loop.run_in_executor(None, fake.control, "counts"))["sent_messages"]
    started, cpu_started = time.perf_counter(), time.process_time()
    await loop.run_in_executor(None, fake.control, "burst", {
        "count": updates, "users": users, "first_user": first_user, "texts": QUESTIONS})
    while (await loop.run_in_executor(None, fake.control, "counts"))["sent_messages"] \
            < before + updates:
        await asyncio.sleep(0.02)
    return Rate(updates / (time.perf_counter() - started),
                updates / (time.process_time() - cpu_started))


async def bench_full(fake: FakeServer, updates: int, users: int, folder: Path) -> Rate:
    """The Aftercare bot, with consenting patients who have a session."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
                             AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'b.db'}",
                             AFTERCARE_MAX_SENDS_PER_SECOND=0, AFTERCARE_HTTP_PORT=0)
    db = await Database.connect(settings.database_url)
    try:
        repo = Stores.over(db)
        for user in range(1000, 1000 + users):
            await repo.patients.ensure(user, user)
            await repo.patients.record_consent(user, f"Patient {user}")
            await repo.treatments.add(dt.date.today() - dt.timedelta(days=2), "staff",
                                      telegram_id=user)
        app = build_application(settings, db, Advisor.load())
        async with running(app, settings):
            await measure(fake, 20, users, 1000)  # warm-up
            return await measure(fake, updates, users, 1000)
    finally:
        await db.close()


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def bench_echo(fake: FakeServer, updates: int, users: int) -> Rate:
    """A bare python-telegram-bot echo bot (defaults, long polling)."""
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build())
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0)
        try:
            await measure(fake, 20, users, 5000)  # warm-up
            return await measure(fake, updates, users, 5000)
        finally:
            await app.updater.stop()
            await app.stop()


async def main(updates: int, users: int, rounds: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    fake = FakeServer()
    echo_rates: list[Rate] = []
    full_rates: list[Rate] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for number in range(rounds):
                echo_rates.append(await bench_echo(fake, updates, users))
                full_rates.append(
                    await bench_full(fake, updates, users, Path(folder) / str(number)))
        violations = fake.control("counts")["violations"]
    finally:
        fake.stop()
    for number, (echo, full) in enumerate(zip(echo_rates, full_rates, strict=True), start=1):
        print(f"round {number}: echo {echo.wall:7.1f}/s  aftercare {full.wall:7.1f}/s  "
              f"ratio {full.wall / echo.wall:.2f}   (per CPU second: {echo.cpu:7.1f} vs "
              f"{full.cpu:7.1f}, ratio {full.cpu / echo.cpu:.2f})")
    pairs = list(zip(full_rates, echo_rates, strict=True))
    wall = statistics.median(full.wall / echo.wall for full, echo in pairs)
    cpu = statistics.median(full.cpu / echo.cpu for full, echo in pairs)
    print(f"bare PTB echo bot : {statistics.median(r.wall for r in echo_rates):8.1f} updates/s")
    print(f"Aftercare bot     : {statistics.median(r.wall for r in full_rates):8.1f} updates/s "
          f"({updates} updates from {users} patients per round)")
    print(f"ratio             : {wall:8.2f}  (median of {rounds} rounds, wall clock; "
          "target >= 0.5)")
    print(f"ratio per CPU s   : {cpu:8.2f}  (this process's CPU time only: steadier when the "
          "machine is busy)")
    print(f"Bot API violations: {violations}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.updates, options.users, options.rounds))
