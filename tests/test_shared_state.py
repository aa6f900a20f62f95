"""Conversation state shared by replicas (SQLite and PostgreSQL).

Each test drives two `Conversation` / staff desk (`DeskJobs`) instances over one database, as two
replicas (or one replica before and after a restart) would: a button pressed on one, the
follow-up message handled by the other. Also: expired state is ignored, /delete erases it (and,
through the count of erasures, what the other replica keeps in memory: in memory here, searched
in tests/test_erasure_replicas.py), and two replicas escalating at once re-post an untaken card
exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.backends import MemoryBackend
from bot.config import load_settings
from bot.core.conversation import Conversation, Reply
from bot.core.desk import DeskJobs
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from storage.chat_state import ChatStateStore, StateKind
from storage.clock import ManualClock
from tests.alert_harness import deliver, with_alerts
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port as _free_port
from tests.stores import Stores

STAFF_CHAT = -100700
ANN = 1
PATIENT = 42
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


class Replica:
    """One replica's services as the tests drive them: its `conversation` and the staff
    desk's jobs beside it (the desk does not hold the conversation)."""

    def __init__(self, services: Any) -> None:
        self.conversation: Conversation = services.patient.conversation
        self.desk: DeskJobs = services.desk
        self.repo: Stores = Stores.of(services)


@pytest.fixture
async def replicas(database_url: str, compose: Any,
                   clock: ManualClock) -> tuple[Replica, Replica]:
    """Two replicas (built by bot/compose.py) on two connections to one database."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT,
                             AFTERCARE_STAFF_IDS=str(ANN))
    first = await compose(settings, clock, url=database_url)
    second = await compose(settings, clock, url=database_url)
    return Replica(first), Replica(second)


async def consented(conversation: Conversation) -> None:
    await conversation.start(PATIENT, PATIENT, "Ana")
    await conversation.callback(PATIENT, PATIENT, "Ana", "consent:yes")


def to(replies: list[Reply], chat: int) -> list[str]:
    return [r.text for r in replies if not r.notice and r.to_chat == chat]


async def test_another_date_pressed_on_one_replica_typed_on_another(
        replicas: tuple[Replica, Replica]) -> None:
    one, two = replicas[0].conversation, replicas[1].conversation
    one_repo, two_repo = replicas[0].repo, replicas[1].repo
    await consented(one)
    if two_repo.shared:  # PostgreSQL replicas: two has the patient in its 10-second cache
        await two.message(PATIENT, PATIENT, "Ana", "hello")  # (SQLite: one process only)
    await one.callback(PATIENT, PATIENT, "Ana", "session:other")
    replies = await two.message(PATIENT, PATIENT, "Ana", "2026-03-05")
    patient = await two_repo.patients.get(PATIENT)
    assert patient is not None
    sessions = await two_repo.treatments.of_patient(patient.id, include_cancelled=False)
    assert [s.session_date for s in sessions] == [dt.date(2026, 3, 5)]
    assert "2026-03-05" in replies[0].text
    # the state is used up: the same text again is not a second session
    await one.message(PATIENT, PATIENT, "Ana", "2026-03-04")
    assert len(await one_repo.treatments.of_patient(patient.id, include_cancelled=False)) == 1


async def test_an_expired_date_prompt_is_ignored(replicas: tuple[Replica, Replica],
                                                 clock: ManualClock) -> None:
    one, two = replicas[0].conversation, replicas[1].conversation
    two_repo = replicas[1].repo
    await consented(one)
    await one.callback(PATIENT, PATIENT, "Ana", "session:other")
    clock.advance(hours=2)
    await two.message(PATIENT, PATIENT, "Ana", "2026-03-05")
    patient = await two_repo.patients.get(PATIENT)
    assert patient is not None
    assert await two_repo.treatments.of_patient(patient.id, include_cancelled=False) == []


async def test_report_started_on_one_replica_described_on_another(
        replicas: tuple[Replica, Replica]) -> None:
    one, two = replicas
    await consented(one.conversation)
    await one.conversation.command(PATIENT, PATIENT, "Ana", "report")
    replies = await two.conversation.message(PATIENT, PATIENT, "Ana",
                                             "my cheek is a bit itchy since this morning")
    queue = await two.desk.store.queue()
    assert [r.text for r in queue] == ["my cheek is a bit itchy since this morning"]
    assert not [r for r in replies if r.to_chat == STAFF_CHAT]  # the card is owed, not sent
    (card,) = await deliver(two.desk)
    assert card.chat_id == STAFF_CHAT and f"report #{queue[0].id}" in card.text


async def test_an_expired_report_draft_is_an_ordinary_question(
        replicas: tuple[Replica, Replica], clock: ManualClock) -> None:
    one, two = replicas
    await consented(one.conversation)
    await one.conversation.command(PATIENT, PATIENT, "Ana", "report")
    clock.advance(minutes=31)
    await two.conversation.message(PATIENT, PATIENT, "Ana", "can I wear makeup?")
    assert await two.desk.store.queue() == []


async def test_staff_reply_pressed_on_one_replica_sent_from_another(
        replicas: tuple[Replica, Replica], clock: ManualClock) -> None:
    one, two = replicas
    await consented(one.conversation)
    report = await one.repo.reports.create(PATIENT, "patient", "itchy", now=NOW)
    await deliver(one.desk, 500)
    await one.desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 500, f"st:reply:{report.id}")
    replies = await two.desk.staff_chat.staff_message(
        ANN, "Ann", STAFF_CHAT, 501, "Use the cream twice a day")
    assert replies is not None
    assert any("Use the cream twice a day" in t for t in to(replies, PATIENT))
    # used up: the next staff message is chat among staff, not for the patient
    assert await one.desk.staff_chat.staff_message(
        ANN, "Ann", STAFF_CHAT, 502, "thanks all") is None

    await two.desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 500, f"st:reply:{report.id}")
    clock.advance(minutes=16)  # PENDING_TTL is 15 minutes
    assert await one.desk.staff_chat.staff_message(ANN, "Ann", STAFF_CHAT, 503, "too late") is None


async def test_delete_erases_the_kept_question(replicas: tuple[Replica, Replica]) -> None:
    one, two = replicas
    await consented(one.conversation)
    replies = await one.conversation.message(PATIENT, PATIENT, "Ana",
                                             "what about the quantum flux on my elbow?")
    assert any(data == "handoff" for r in replies for row in r.buttons for _, data in row)
    states = ChatStateStore(one.repo.sessions)
    assert (await states.get(PATIENT, StateKind.PATIENT, now=NOW) or {}).get("last_question")
    await two.conversation.callback(PATIENT, PATIENT, "Ana", "delete:yes")
    assert await states.get_many(PATIENT, list(StateKind), now=NOW) == {}
    replies = await one.conversation.callback(PATIENT, PATIENT, "Ana", "handoff")
    assert await one.desk.store.queue() == []  # nothing left to hand on


async def memory_replicas(compose: Any, clock: ManualClock) -> tuple[Any, Any]:
    """Two replicas' services over one `MemoryBackend` (the twins of one database)."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT,
                             AFTERCARE_STAFF_IDS=str(ANN))
    backend = MemoryBackend()
    first = await compose(settings, clock, url="memory", storage=backend)
    second = await compose(settings, clock, url="memory", storage=backend)
    return first, second


async def test_a_question_kept_without_consent_goes_with_a_delete_on_another_replica(
        compose: Any, clock: ManualClock) -> None:
    """A user without consent asks through one replica, which keeps the question in its
    memory only (for "ask the clinic"), then sends /delete through the other. The first reads
    the count of erasures before its next update (if its last read is a second old; its tick
    reads it anyway) and forgets, the caches of words too (bot/core/forgetting.py; the caches
    themselves are searched by tests/test_erasure_replicas.py), so a press of "ask the clinic"
    there finds nothing to pass on. A replica's own erasure forgets that user only."""
    one, two = await memory_replicas(compose, clock)
    first = one.patient.conversation
    await first.message(PATIENT, PATIENT, "Ana", "what about the flux on my elbow?")
    forgotten = first.forgetting.forgotten
    (nothing,) = await two.patient.conversation.command(PATIENT, PATIENT, "Ana", "delete")
    assert "nothing to delete" in nothing.text
    await first.message(7, 7, "Bo", "hello")  # within a second of its last read: not read
    assert first.forgetting.forgotten == forgotten
    clock.advance(seconds=1)
    replies = await first.callback(PATIENT, PATIENT, "Ana", "handoff")
    assert first.forgetting.forgotten == forgotten + 1
    assert await one.desk.store.queue() == []  # nothing handed on: it was forgotten
    assert "type your question first" in replies[0].text
    await first.message(7, 7, "Bo", "what about the flux on my knee?")
    await first.command(PATIENT, PATIENT, "Ana", "delete")  # its own erasure, at once
    assert first.forgetting.forgotten == forgotten + 2
    await first.callback(7, 7, "Bo", "handoff")
    assert [r.text for r in await one.desk.store.queue()] == ["what about the flux on my knee?"]


class _Away:
    """A count of erasures that cannot be read (the database is away)."""

    async def epoch(self) -> int:
        raise OSError("the database is away")

    def forget_cached(self) -> None:
        """Nothing cached."""


async def test_an_unreadable_count_of_erasures_does_not_stop_an_answer(
        compose: Any, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    one, _ = await memory_replicas(compose, clock)
    conversation = one.patient.conversation
    conversation.forgetting.erasures = _Away()
    replies = await conversation.message(7, 7, "Bo", "can I wear makeup tomorrow?")
    assert replies and "tomorrow" not in caplog.text  # answered; the words are not logged
    assert "could not read the erasure count: OSError" in caplog.text
    await conversation.forgetting.tick()  # the JobQueue's call: logged, not raised


async def test_ask_the_clinic_pressed_on_another_replica(
        replicas: tuple[Replica, Replica]) -> None:
    one, two = replicas
    await consented(one.conversation)
    await one.conversation.message(PATIENT, PATIENT, "Ana",
                                   "what about the quantum flux on my elbow?")
    await two.conversation.callback(PATIENT, PATIENT, "Ana", "handoff")
    assert [r.text for r in await two.desk.store.queue()] == [
        "what about the quantum flux on my elbow?"]
    await one.conversation.callback(PATIENT, PATIENT, "Ana", "handoff")  # pressed again
    assert len(await one.desk.store.queue()) == 1


async def test_two_replicas_escalating_at_once_repost_once(
        replicas: tuple[Replica, Replica], clock: ManualClock) -> None:
    one, two = replicas
    await consented(one.conversation)
    await one.repo.reports.create(
        PATIENT, "triage", "my face is swelling", urgency="emergency", now=NOW)
    with_alerts(two.desk)
    await deliver(one.desk, 600)
    clock.advance(minutes=16)  # emergencies wait at most 15 minutes
    await asyncio.gather(one.desk.escalation.escalations(), two.desk.escalation.escalations())
    reposts = await deliver(one.desk, 601) + await deliver(two.desk, 701)
    assert [r.reply_to for r in reposts] == [600]  # one re-post, under the card
    await asyncio.gather(one.desk.escalation.escalations(), two.desk.escalation.escalations())
    assert await deliver(two.desk) == []
    clock.advance(minutes=16)  # still nobody took it: one more re-post, again only once
    await asyncio.gather(two.desk.escalation.escalations(), one.desk.escalation.escalations())
    assert len(await deliver(two.desk) + await deliver(one.desk)) == 1


async def test_a_second_replica_does_not_register_the_webhook_again(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor) -> None:
    url = f"http://127.0.0.1:{_free_port()}/telegram/hook"
    common = {"TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-bot",
              "AFTERCARE_BOT_API_URL": fake_telegram.base_url,
              "AFTERCARE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
              "AFTERCARE_WEBHOOK_URL": url, "AFTERCARE_WEBHOOK_SECRET": "s3cret-token_16ch",
              "AFTERCARE_WEBHOOK_LISTEN": "127.0.0.1", "AFTERCARE_HTTP_PORT": 0}
    migrated_sqlite(tmp_path / "w.db")  # a no-op upgrade, not a first migration
    db = await Database.connect(str(common["AFTERCARE_DATABASE_URL"]))
    try:
        for _ in range(2):  # a replica, then another one (or the same one restarted)
            settings = load_settings(None, **common, AFTERCARE_WEBHOOK_PORT=_free_port())
            app = build_application(settings, db, advisor, clock=ManualClock(NOW))
            async with running(app, settings):
                pass
        (hook,) = fake_telegram.calls("setWebhook")
        assert hook.params["secret_token"] == "s3cret-token_16ch"

        moved = url.replace("/telegram/hook", "/telegram/new")
        settings = load_settings(None, **{**common, "AFTERCARE_WEBHOOK_URL": moved},
                                 AFTERCARE_WEBHOOK_PORT=_free_port())
        app = build_application(settings, db, advisor, clock=ManualClock(NOW))
        async with running(app, settings):
            pass
        assert [c.params["url"].split("?")[0]  # the URL, without the secret's fingerprint
                for c in fake_telegram.calls("setWebhook")] == [url, moved]
    finally:
        await db.close()
