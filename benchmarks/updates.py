"""Updates handled per second through the whole stack, against a bare python-telegram-bot echo bot.

Both bots run in this process against the same local fake Bot API server (over real HTTP,
long polling) and get the same number of text updates. The full bot does everything it does
in production for each one: load the patient and latest session from SQLite, triage, match,
log both messages, show "typing…" and send the HTML reply. Telegram's own flood limit is
switched off (AFTERCARE_MAX_SENDS_PER_SECOND=0) so the numbers measure our code, not the
rate limiter. Prints both rates and their ratio (target: at least 0.5).

Run: ``.venv/bin/python benchmarks/updates.py [--updates 500] [--users 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application, running
from bot.config import load_settings
from knowledge.advisor import Advisor
from storage import Database
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:BENCH-token"
QUESTIONS = ["can I wear makeup?", "when can I go to the gym", "is redness normal",
             "can I wash my face tonight", "sun cream?", "thanks"]


async def _measure(fake: FakeTelegram, updates: int, users: int, first_user: int,
                   push: Callable[[int, str], Any]) -> float:
    """Push `updates` messages and return updates per second until all are answered."""
    before = len(fake.sent_messages())
    started = time.perf_counter()
    for i in range(updates):
        push(first_user + i % users, QUESTIONS[i % len(QUESTIONS)])
    await fake.wait_for(lambda: len(fake.sent_messages()) - before >= updates, timeout=300)
    return updates / (time.perf_counter() - started)


async def bench_full(fake: FakeTelegram, updates: int, users: int, folder: Path) -> float:
    """The Aftercare bot with consenting patients who have a session."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
                             AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'b.db'}",
                             AFTERCARE_MAX_SENDS_PER_SECOND=0)
    db = await Database.connect(settings.database_url)
    try:
        repo = db.repository()
        for user in range(1000, 1000 + users):
            await repo.ensure_patient(user, user)
            await repo.record_consent(user, f"Patient {user}")
            await repo.add_session(dt.date.today() - dt.timedelta(days=2), "staff",
                                   telegram_id=user)
        app = build_application(settings, db, Advisor.load())
        async with running(app, settings):
            await _measure(fake, 20, users, 1000, fake.user_message)  # warm-up
            return await _measure(fake, updates, users, 1000, fake.user_message)
    finally:
        await db.close()


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def bench_echo(fake: FakeTelegram, updates: int, users: int) -> float:
    """A bare python-telegram-bot echo bot (defaults, long polling)."""
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build())
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0)
        try:
            await _measure(fake, 20, users, 5000, fake.user_message)  # warm-up
            return await _measure(fake, updates, users, 5000, fake.user_message)
        finally:
            await app.updater.stop()
            await app.stop()


async def main(updates: int, users: int, rounds: int) -> None:
    """Alternate echo and full runs so both see the same machine load; report the median."""
    logging.basicConfig(level=logging.WARNING)
    echo_rates: list[float] = []
    full_rates: list[float] = []
    violations: list[Any] = []
    with tempfile.TemporaryDirectory() as folder:
        async with FakeTelegram(max_poll_wait=0.2) as fake:
            for round_number in range(rounds):
                echo_rates.append(await bench_echo(fake, updates, users))
                fake.requests.clear()
                full_rates.append(await bench_full(fake, updates, users,
                                                   Path(folder) / str(round_number)))
                fake.requests.clear()
                violations += fake.violations
    ratios = [full / echo for full, echo in zip(full_rates, echo_rates)]
    for number, (echo, full, ratio) in enumerate(zip(echo_rates, full_rates, ratios), start=1):
        print(f"round {number}: echo {echo:7.1f}/s  aftercare {full:7.1f}/s  ratio {ratio:.2f}")
    print(f"bare PTB echo bot : {statistics.median(echo_rates):8.1f} updates/s (median)")
    print(f"Aftercare bot     : {statistics.median(full_rates):8.1f} updates/s (median; "
          f"{updates} updates, {users} patients)")
    print(f"ratio             : {statistics.median(ratios):8.2f}  (median of {rounds} rounds; "
          "target >= 0.5)")
    if violations:
        print(f"Bot API violations: {len(violations)}, e.g. {violations[0]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.updates, options.users, options.rounds))
