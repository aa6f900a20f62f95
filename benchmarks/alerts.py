"""Time from a patient's red-flag message to the staff card, quiet and under load.

The fake Bot API server runs in its own process (as Telegram does); the bot runs in this
process against it exactly as ``aftercare run`` builds it (SQLite, long polling, the alert
outbox and its sender, the check-in dispatcher, Telegram's 30/s budget through the rate
limiter). Three runs, each with `--samples` red flags from fresh patients, one after another:

* quiet: nothing else happening;
* flood: another patient has just sent 40 red-flag messages at once;
* check-in burst: 10,000 check-ins fell due at once (the dispatcher is sending them at about
  30/s, sharing Telegram's budget with the cards).

Each sample is timed from the update being queued at the fake server to the card being
recorded there (monotonic clock). Samples are spaced `SPACING` seconds apart: the staff chat
is a group, where Telegram allows about 20 messages a minute (python-telegram-bot's rate
limiter enforces it), so back-to-back samples would measure that budget, not the bot.
Prints p50 / p95 / max per run side by side, and each run's p95 against the quiet run's.
Never fails on timing.

Run: ``.venv/bin/python benchmarks/alerts.py [--samples 20] [--checkins 10000]``
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
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.telegram.app import build_application, running  # noqa: E402
from knowledge.advisor import Advisor  # noqa: E402
from storage import Database  # noqa: E402
from storage.models import CheckIn, Patient, TreatmentSession  # noqa: E402

TOKEN = "123456:BENCH-token"
STAFF_CHAT = -1001000000001
RED_FLAG = "my lip is swollen and my throat feels tight"
FLOODER = 500_000
SPACING = 3.2  # seconds between samples: Telegram allows about 20 messages a minute in a group


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
        self.root = line.split()[1].rstrip("/")
        self.base_url = f"{self.root}/bot"

    def control(self, name: str, body: dict[str, Any] | None = None,
                **query: Any) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        url = f"{self.root}/_control/{name}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["result"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def card_latency(fake: FakeServer, user_id: int) -> float:
    """One red flag from `user_id`: seconds until its card is in the staff chat."""
    marker = f"Telegram id {user_id} "
    started = time.monotonic()
    await asyncio.to_thread(fake.control, "update",
                            {"kind": "message", "user_id": user_id, "text": RED_FLAG})
    while True:
        staff = await asyncio.to_thread(fake.control, "sent_messages", chat_id=STAFF_CHAT)
        if any(marker in (m.get("text") or "") for m in staff):
            return time.monotonic() - started
        if time.monotonic() - started > 120:
            raise TimeoutError(f"no card for {user_id}")
        await asyncio.sleep(0.005)


async def sample(fake: FakeServer, first_user: int, count: int) -> list[float]:
    """`count` red flags from fresh patients, one every `SPACING` seconds."""
    latencies = []
    for n in range(count):
        started = time.monotonic()
        latencies.append(await card_latency(fake, first_user + n))
        await asyncio.sleep(max(0.0, SPACING - (time.monotonic() - started)))
    return latencies


async def plant_checkins(url: str, count: int) -> None:
    """`count` consenting patients, each with one check-in due a minute ago."""
    db = await Database.connect(url)
    now = dt.datetime.now(dt.UTC)
    base = 1_000_000
    try:
        async with db.sessions.begin() as s:
            await s.execute(insert(Patient), [
                {"id": base + k, "telegram_id": base + k, "chat_id": base + k,
                 "name": f"P{k}", "consent_at": now, "active": True, "checkins_paused": False,
                 "created_at": now} for k in range(count)])
            await s.execute(insert(TreatmentSession), [
                {"id": base + k, "patient_id": base + k,
                 "session_date": now.date() - dt.timedelta(days=1), "source": "staff",
                 "created_at": now} for k in range(count)])
            await s.execute(insert(CheckIn), [
                {"session_id": base + k, "patient_id": base + k, "step": "day1",
                 "day_offset": 1, "local_date": now.date(), "tz": "UTC",
                 "due_at": now - dt.timedelta(minutes=1),
                 "deliver_until": now + dt.timedelta(hours=6), "status": "pending",
                 "attempts": 0, "created_at": now, "updated_at": now} for k in range(count)])
    finally:
        await db.close()


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--checkins", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    fake = FakeServer()
    folder = tempfile.TemporaryDirectory(prefix="aftercare-bench-")
    url = f"sqlite+aiosqlite:///{Path(folder.name) / 'bench.db'}"
    settings = load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS="9001",
        AFTERCARE_DATABASE_URL=url, AFTERCARE_TIMEZONE="UTC")
    runs: dict[str, list[float]] = {}
    db = await Database.connect(url)
    try:
        app = build_application(settings, db, Advisor.load(None, settings.clinic()))
        async with running(app, settings):
            await sample(fake, 10, 3)  # warm-up
            runs["quiet"] = await sample(fake, 100, args.samples)
            fake.control("burst", {"count": 40, "users": 1, "first_user": FLOODER,
                                   "texts": [RED_FLAG]})
            runs["flood (40 from one patient)"] = await sample(fake, 200, args.samples)
            await plant_checkins(url, args.checkins)
            started = time.monotonic()
            while fake.control("counts")["sent_messages"] < 200:  # the burst is under way
                await asyncio.sleep(0.1)
                if time.monotonic() - started > 60:
                    break
            runs[f"{args.checkins:,} check-ins due"] = await sample(fake, 300, args.samples)
            sent = fake.control("counts")["sent_messages"]
    finally:
        await db.close()
        fake.stop()
        folder.cleanup()
    quiet_p95 = summary(runs["quiet"])[1]
    print(f"\nRed-flag message -> staff card, {args.samples} samples per run (seconds)")
    print(f"{'run':<28}{'p50':>8}{'p95':>8}{'max':>8}{'p95 / quiet':>13}")
    for name, values in runs.items():
        p50, p95, worst = summary(values)
        print(f"{name:<28}{p50:8.3f}{p95:8.3f}{worst:8.3f}{p95 / quiet_p95:13.2f}")
    print(f"(messages the fake recorded by the end: {sent})")


if __name__ == "__main__":
    asyncio.run(main())
