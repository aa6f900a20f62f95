"""One patient's flood cannot hold up anyone else, and makes one card, not forty.

The real Application against the fake Bot API: another patient asks questions while the bot
is quiet, then again while one patient sends 40 red-flag messages at once. Each answer's
answer is counted against the flood: between one of the asker's answers and the next, at
most a quarter of the flood's messages may have been answered (handled in arrival order, the
asker would wait behind all forty; fairly handled, it is one or two). Counting, not timing, so
a slow machine cannot pass it; the quarter leaves room for SQLite's busy handler, which on a
loaded machine can make one write of the asker's back off for several of the flood's (CI once
saw six). The latencies are printed for information. The flood becomes
one report with its repeats threaded into the one card (edited, not re-posted).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import load_settings
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from storage.clock import ManualClock
from tests.bot_harness import CLINIC, START, eventually
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
FLOODER, ASKER = 401, 402
QUESTIONS = ["can I wear makeup?", "when can I wash my face?", "is redness normal?",
             "can I go to the gym?", "hi"]
FLOOD = 40
MAX_FLOOD_AHEAD = FLOOD // 4  # flood answers allowed between two of the asker's answers


@pytest.fixture
async def app(fake_telegram: FakeTelegram, database_url: str,
              advisor: Advisor) -> AsyncIterator[Any]:
    settings = load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake_telegram.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS="9001",
        AFTERCARE_DATABASE_URL=database_url, AFTERCARE_TIMEZONE="Europe/London",
        AFTERCARE_CLINIC_NAME=CLINIC.name, AFTERCARE_CLINIC_CONTACT=CLINIC.contact,
        AFTERCARE_MAX_SENDS_PER_SECOND=0,
        AFTERCARE_ALERT_POLL_SECONDS=0.2)  # a card edit due on the test's clock goes soon
    db = await Database.connect(database_url)
    application = build_application(settings, db, advisor, clock=ManualClock(START))
    try:
        async with running(application, settings):
            yield application
    finally:
        await db.close()


async def ask_all(fake: FakeTelegram, rounds: int,
                  progress: list[int] | None = None) -> list[float]:
    """The asker's questions one after another; seconds until each answer arrived (and, in
    `progress`, how many flood messages had been answered at each answer)."""
    latencies = []
    for n in range(rounds):
        before = len(fake.sent_messages(ASKER))
        started = time.monotonic()
        fake.user_message(ASKER, QUESTIONS[n % len(QUESTIONS)], first_name="Ola")
        await fake.wait_for_messages(ASKER, before + 1, timeout=60)
        latencies.append(time.monotonic() - started)
        if progress is not None:
            progress.append(len(fake.sent_messages(FLOODER)))
    return latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def test_a_flood_from_one_patient_does_not_delay_another(
        fake_telegram: FakeTelegram, app: Any) -> None:
    fake = fake_telegram
    await ask_all(fake, 3)  # warm-up: first-use costs are not what is compared
    quiet = await ask_all(fake, 15)

    for n in range(FLOOD):  # all queued at once, like a patient hammering the send button
        fake.user_message(FLOODER, f"my lip is swollen and my throat feels tight ({n})",
                          first_name="Flo")
    progress: list[int] = []
    during = await ask_all(fake, 15, progress)
    flood_done = progress[0]
    assert flood_done < FLOOD  # the asker really was answered during the flood
    await fake.wait_for_messages(FLOODER, FLOOD, timeout=120)  # every message got advice
    print(f"quiet p99 {p99(quiet):.3f} s, during the flood max {max(during):.3f} s "
          f"(flood answered {flood_done}/{FLOOD} by then)")
    steps = [b - a for a, b in zip([0, *progress], progress, strict=False)]
    assert max(steps) <= MAX_FLOOD_AHEAD, progress  # the asker never waits behind the flood

    store = app.bot_data.desk.store

    async def delivered() -> bool:  # card edits wait a few seconds (bot clock) to coalesce
        app.bot_data.clock.advance(seconds=5)
        return await app.bot_data.checkins.alerts.connector.owed() == 0
    await eventually(delivered, timeout=30)
    (report,) = await store.queue()  # one open problem, one report ...
    assert report.repeats == FLOOD - 1 and report.latest_text.endswith(f"({FLOOD - 1})")
    edits = [c for c in fake.calls("editMessageText") if c.params["chat_id"] == STAFF_CHAT]
    assert len(edits) <= 3  # repeats coalesce into a few edits of the card
    cards = [m for m in fake.sent_messages(STAFF_CHAT) if f"report #{report.id}" in m["text"]]
    assert len(cards) == 1  # ... and one card, edited to show the newest words
    shown = fake.state.get_message(STAFF_CHAT, cards[0]["message_id"])
    assert shown is not None and shown.get("edit_date")
    assert f"({FLOOD - 1})" in shown["text"] and f"{FLOOD - 1} more time" in shown["text"]


async def test_a_stranger_without_consent_is_rate_limited_but_never_on_a_red_flag(
        fake_telegram: FakeTelegram, app: Any) -> None:
    from bot.core.flows.advice import STRANGER_RATE

    fake, stranger = fake_telegram, 403
    answers = []
    for n in range(STRANGER_RATE + 2):
        before = len(fake.sent_messages(stranger))
        fake.user_message(stranger, QUESTIONS[n % len(QUESTIONS)], first_name="X")
        answers.append((await fake.wait_for_messages(stranger, before + 1))[before]["text"])
    assert not any("a lot of messages" in a for a in answers[:STRANGER_RATE])
    assert all("a lot of messages" in a for a in answers[STRANGER_RATE:])
    before = len(fake.sent_messages(stranger))
    fake.user_message(stranger, "my lip is swollen and my throat feels tight", first_name="X")
    (advice, *_) = (await fake.wait_for_messages(stranger, before + 1))[before:]
    assert "a lot of messages" not in advice["text"] and "999" in advice["text"]
