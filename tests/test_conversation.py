"""Tests of `bot.core.conversation.Conversation` without Telegram: plain values in, replies out.

The services are built by `bot.compose.build_memory_services` (the in-memory twins of the
stores, tests/test_compose_memory.py); the tests that assert what is stored run on SQLite
too (`BOTH`), and the test of what /delete leaves on PostgreSQL as well."""

from __future__ import annotations

import datetime as dt
import gc
import html
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from bot.backends import MemoryBackend, Stores
from bot.compose import Services
from bot.config import load_settings
from bot.core.conversation import Conversation, Reply
from knowledge.advisor import Advisor, Clinic
from storage.clock import ManualClock
from tests.advisors import shipped
from tests.alert_harness import deliver
from tests.conftest import _pg_connect
from tests.databases import columns_holding, reset_postgres_schema, sqlite_files_holding
from tests.holders import holders_of, is_held

NOW = dt.datetime(2026, 6, 15, 22, 30, tzinfo=dt.UTC)  # already 16 June in Auckland
STAFF = -100500
BOTH = pytest.mark.parametrize("services", ["memory", "sqlite"], indirect=True)


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow & Co"))


@pytest.fixture(params=["memory"])
async def services(request: pytest.FixtureRequest, compose: Any,
                   advisor: Advisor) -> AsyncIterator[Any]:
    """The bot's services in memory, or (``BOTH``) over a migrated SQLite file as well, or
    over this process's migrated PostgreSQL schema, emptied (tests/databases.py)."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=STAFF, AFTERCARE_STAFF_IDS="77",
                             AFTERCARE_TIMEZONE="Europe/London",
                             AFTERCARE_BOT_USERNAME="glow_bot")
    if request.param != "postgresql":
        url = "memory" if request.param == "memory" else None
        yield await compose(settings, ManualClock(NOW), url=url, advisor=advisor)
        return
    conn, admin = await _pg_connect()  # (fails, not skips, under CI when PostgreSQL is down)
    try:
        yield await compose(settings, ManualClock(NOW), advisor=advisor,
                            url=await reset_postgres_schema(conn, admin))
    finally:
        await conn.close()


@pytest.fixture
def conv(services: Any) -> Conversation:
    conversation: Conversation = services.patient.conversation
    return conversation


@pytest.fixture
def repo(services: Services) -> Stores:
    return services.stores


async def stored_states(services: Services) -> int:
    """How many conversation states are stored (the ``chat_state`` rows)."""
    if isinstance(services.storage, MemoryBackend):
        return len(services.storage.tables.states)
    async with services.database.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM chat_state"))).scalar_one())


def patient_texts(replies: list[Reply]) -> list[str]:
    return [r.text for r in replies if r.to_chat is None and not r.notice]


async def staff_texts(conv: Conversation) -> list[str]:
    """The staff-chat cards the alert outbox owes now (delivered by a recording sender)."""
    assert conv.desk is not None
    return [alert.text for alert in await deliver(conv.desk)
            if alert.chat_id == STAFF and alert.edit_message_id is None]


async def consent(conv: Conversation, user: int, name: str = "Ana") -> None:
    await conv.start(user, user, name)
    await conv.callback(user, user, name, "consent:yes")


async def test_clinic_name_is_escaped_in_replies(conv: Conversation) -> None:
    (welcome,) = await conv.start(1, 1, "Ana")
    assert "Glow &amp; Co" in welcome.text


@BOTH
async def test_nothing_is_logged_before_consent_but_red_flags_are_reported(
        conv: Conversation, repo: Stores) -> None:
    await conv.start(1, 1, "Ana")
    replies = await conv.message(1, 1, "Ana", "my lips are swelling")
    assert patient_texts(replies)[0].startswith("⚠️")
    (alert,) = await staff_texts(conv)
    assert alert.startswith("EMERGENCY") and "my lips are swelling" in alert
    await conv.log.flush()
    assert await repo.message_log.count(1) == 0
    (report,) = await repo.reports.queue()
    assert report.urgency == "emergency" and report.day is None


@BOTH
async def test_recovery_day_uses_the_patients_time_zone(conv: Conversation,
                                                        repo: Stores) -> None:
    await consent(conv, 2)
    await repo.treatments.add(dt.date(2026, 6, 15), "staff", telegram_id=2)
    (london,) = await conv.message(2, 2, "Ana", "can I wear makeup?")
    assert "treatment day" in london.text  # still 15 June in London
    await repo.patients.set_timezone(2, "Pacific/Auckland")
    (auckland,) = await conv.message(2, 2, "Ana", "can I wear makeup?")
    assert "day 1" in auckland.text


async def test_handoff_uses_the_question_kept_server_side(conv: Conversation) -> None:
    await consent(conv, 3)
    (reply,) = await conv.message(3, 3, "Ana", "creams")
    assert ("None of these — ask the clinic", "handoff") in reply.buttons[-1]
    await conv.callback(3, 3, "Ana", "handoff")
    (alert,) = await staff_texts(conv)
    assert "creams" in alert and alert.startswith("QUESTION")
    (again,) = await conv.callback(3, 3, "Ana", "handoff")
    assert again.notice and "Already done" in again.text


@BOTH
async def test_handoff_without_a_question_asks_for_one(conv: Conversation,
                                                       repo: Stores) -> None:
    (reply,) = await conv.callback(4, 4, "Ana", "handoff")
    assert "type your question first" in reply.text
    assert await repo.reports.queue() == []


async def test_stale_or_forged_callback_data_is_harmless(conv: Conversation) -> None:
    for data in ("", "nonsense", "kb:", "delete:maybe", "session:tomorrow", "consent:perhaps"):
        replies = await conv.callback(5, 5, "Ana", data)
        assert replies and all(r.to_chat is None for r in replies), data
    (unknown,) = await conv.callback(5, 5, "Ana", "kb:no_such_entry")
    assert "no longer available" in unknown.text


async def test_typed_dates_and_their_errors(conv: Conversation) -> None:
    await consent(conv, 6)
    await conv.callback(6, 6, "Ana", "session:other")
    (bad,) = await conv.message(6, 6, "Ana", "31/02")
    assert "couldn't read that date" in bad.text
    (ok,) = await conv.message(6, 6, "Ana", "2026-06-10")
    assert "2026-06-10" in ok.text and "day 5" in ok.text
    (question,) = await conv.message(6, 6, "Ana", "2026-06-11")  # no longer waiting for a date
    assert "2026-06-11" not in question.text


async def test_a_question_while_waiting_for_a_date_is_still_answered(
        conv: Conversation) -> None:
    await consent(conv, 7)
    await conv.callback(7, 7, "Ana", "session:other")
    replies = await conv.message(7, 7, "Ana", "my lips are swelling")
    assert patient_texts(replies)[0].startswith("⚠️") and await staff_texts(conv)


@BOTH
async def test_same_day_session_pressed_twice_is_logged_once(conv: Conversation,
                                                             repo: Stores) -> None:
    await consent(conv, 8)
    await conv.callback(8, 8, "Ana", "session:today")
    (again,) = await conv.callback(8, 8, "Ana", "session:today")
    assert again.notice and "Already logged" in again.text
    patient = await repo.patients.get(8)
    assert patient is not None
    assert len(await repo.treatments.of_patient(patient.id)) == 1


async def test_delete_then_mydata_shows_nothing(conv: Conversation) -> None:
    await consent(conv, 9)
    await conv.message(9, 9, "Ana", "can I wear makeup?")
    (confirm,) = await conv.command(9, 9, "Ana", "delete")
    assert [d for row in confirm.buttons for _, d in row] == ["delete:yes", "flow:cancel"]
    await conv.callback(9, 9, "Ana", "delete:yes")
    (twice,) = await conv.callback(9, 9, "Ana", "delete:yes")
    assert twice.notice and "Already done" in twice.text
    (mydata,) = await conv.command(9, 9, "Ana", "mydata")
    assert "nothing stored" in mydata.text


@pytest.mark.parametrize(("services", "consented"), [
    ("memory", True), ("sqlite", True), ("postgresql", True), ("memory", False)],
    ids=["consented-memory", "consented-sqlite", "consented-postgresql", "no_consent-memory"],
    indirect=["services"])
async def test_delete_leaves_none_of_the_patients_words_in_memory(
        conv: Conversation, services: Services, consented: bool) -> None:
    """After /delete nothing in the process holds what the patient wrote (with consent, or
    asking without it): not the stores, and not the caches the advisor reads messages through
    (folded texts, tokens, spellings, language scores), which keep recent messages for speed.
    Over a database, neither does the database: no column of any table, and on SQLite neither
    the file nor its write-ahead log (which kept the written pages after the rows were deleted
    until `storage.results.empty_wal` emptied it after an erasure).

    The SQL stores run with consent only: then the words pass through SQLAlchemy (identity
    map, statement caches, result rows) and the driver. Without consent no statement carries
    them (nothing beyond the Telegram id is stored, as this module's BOTH tests check; a spy
    on every statement's parameters saw none), so over SQL that case would repeat the
    in-memory one, at a search of the whole
    process (1.5-2 s in a worker late in the suite) each. PostgreSQL has found nothing SQLite
    did not (neither a holder in memory; only SQLite's files can be read from here: PostgreSQL
    keeps a deleted row's bytes in its table files and log until VACUUM reuses the space, out
    of reach); it is kept because it is the one check of asyncpg's objects (records, prepared
    statements, SQLAlchemy's adapter over them), which aiosqlite's do not stand for."""
    name = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])  # unique
    if consented:
        await consent(conv, 11, "Bea")
    await conv.message(11, 11, "Bea", f"can I wear makeup to {name.title()}s party tmrw?")
    await conv.message(11, 11, "Bea", f"my {name} cousin says bruising is normal, is it?")
    assert is_held(name)  # read, cached (and stored, with consent)
    database = None if isinstance(services.storage, MemoryBackend) else services.database
    if database is not None:  # stored, and seen where the checks below look
        await conv.log.flush()
        assert await columns_holding(database.engine, name)
        sqlite = database.engine.dialect.name == "sqlite"
        assert bool(sqlite_files_holding(database.engine.url, name)) == sqlite
    if consented:
        await conv.command(11, 11, "Bea", "delete")
        (done,) = await conv.callback(11, 11, "Bea", "delete:yes")
    else:
        (done,) = await conv.command(11, 11, "Bea", "delete")
    assert done.text
    gc.collect()
    assert holders_of(name) == 0
    if database is not None:
        assert await columns_holding(database.engine, name) == []
        assert sqlite_files_holding(database.engine.url, name) == []


async def test_very_long_message_is_answered_in_parts_under_the_limit(
        conv: Conversation) -> None:
    text = "word " * 1000 + "my lips are swelling"
    replies = await conv.message(10, 10, "Ana", text)
    assert patient_texts(replies)[0].startswith("⚠️")
    assert all(len(r.text) <= 4096 for r in replies)


async def test_staff_commands_need_a_staff_id(conv: Conversation) -> None:
    (refused,) = await conv.command(11, 11, "Eve", "invite", ["Bea"])
    assert "staff only" in refused.text
    (link,) = await conv.command(77, STAFF, "Sam", "invite", ["Bea", "Li", "2026-06-14"])
    assert "https://t.me/glow_bot?start=" in link.text and "Bea Li" in link.text
    (future,) = await conv.command(77, STAFF, "Sam", "addsession", ["11", "2027-01-01"])
    assert "in the future" in future.text


async def test_media_with_caption_reads_the_caption(conv: Conversation) -> None:
    replies = await conv.media(12, 12, "Ana", "photo", "my lips are swelling")
    texts = patient_texts(replies)
    assert texts[0].startswith("⚠️") and "can't look at photos" in texts[-1]
    (sticker,) = await conv.media(12, 12, "Ana", "sticker")
    assert "only read text" in html.unescape(sticker.text)


@BOTH
async def test_message_log_writes_batches_only_for_consenting_users(
        conv: Conversation, repo: Stores) -> None:
    await consent(conv, 13)
    await conv.start(14, 14, "Bo")  # no consent
    for user in (13, 14, 13):
        conv.log.add(user, [("in", "hello", None, "smalltalk"), ("out", "hi", None, None)],
                     now=NOW)
    await conv.log.flush()
    assert await repo.message_log.count(13) == 4
    assert await repo.message_log.count(14) == 0


@BOTH
async def test_question_of_a_user_without_consent_is_not_stored_but_can_be_handed_on(
        conv: Conversation, repo: Stores, services: Services) -> None:
    await conv.start(31, 31, "Ana")  # no consent given
    (reply,) = await conv.message(31, 31, "Ana", "how much is botox")
    assert ("Ask the clinic", "handoff") in reply.buttons[-1]
    assert await stored_states(services) == 0  # nothing beyond the Telegram id before consent
    await conv.callback(31, 31, "Ana", "handoff")
    (report,) = await repo.reports.queue()
    assert report.text == "how much is botox" and report.kind == "question"
    assert any("how much is botox" in text for text in await staff_texts(conv))
