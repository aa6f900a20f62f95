"""Tests for the storage package: migrations, consent gating, sessions, invites, erasure, restart.

Every test taking `database_url` or `repo` runs on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage import ConsentRequired, LogEntry, RedeemStatus
from storage.db import Database, make_engine
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import Base
from storage.revision import HEAD, engine_revision
from tests.records import cancel_session, log_message
from tests.stores import Stores

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
TABLES = {"patients", "treatment_sessions", "invites", "messages", "reports"}


async def consenting(repo: Stores, telegram_id: int, name: str = "Ann") -> int:
    """Create a patient who has consented; returns the patient id."""
    await repo.patients.ensure(telegram_id, chat_id=telegram_id + 1000)
    return (await repo.patients.record_consent(telegram_id, name, now=NOW)).id


# --- migrations -----------------------------------------------------------------------------


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_creates_schema_at_head_and_rerun_is_noop(empty_database_url: str) -> None:
    database_url = empty_database_url
    assert await current_revision(database_url) is None

    await upgrade_database(database_url)
    assert await current_revision(database_url) == head_revision()

    db = await Database.connect(database_url, migrate=False)
    try:
        assert await engine_revision(db.engine) == head_revision()  # read without Alembic
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_table_names) >= TABLES
        await consenting(Stores.over(db), 42)
    finally:
        await db.close()

    await upgrade_database(database_url)  # second run: nothing to do, data kept
    assert await current_revision(database_url) == head_revision()
    async with await Database.connect(database_url) as db2:
        patient = await Stores.over(db2).patients.get(42)
    assert patient is not None and patient.name == "Ann"


def test_head_names_the_newest_migration_script() -> None:
    """storage/revision.py's HEAD (what start-up compares without importing Alembic) is the
    head of the scripts Alembic would run."""
    assert head_revision() == HEAD


async def test_a_never_migrated_database_has_no_revision(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        assert await engine_revision(engine) is None
    finally:
        await engine.dispose()


async def test_a_database_of_a_newer_release_is_refused_and_left_as_it_is(
        database_url: str) -> None:
    """A database another release migrated further than this code knows: start-up refuses
    it (Alembic cannot find the revision) and changes nothing."""
    async def stamp(revision: str) -> None:
        async with (await Database.connect(database_url, migrate=False) as db,
                    db.engine.begin() as connection):
            await connection.execute(text("UPDATE alembic_version SET version_num = :r"),
                                     {"r": revision})

    await stamp("9999_future")
    try:
        with pytest.raises(CommandError, match="9999_future"):
            await Database.connect(database_url)
        assert await current_revision(database_url) == "9999_future"
    finally:
        await stamp(HEAD)  # the PostgreSQL schema is this process's, reused by the next test


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(empty_database_url: str) -> None:
    database_url = empty_database_url
    await upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_in_memory_sqlite_is_migrated_on_connect() -> None:
    async with await Database.connect("sqlite+aiosqlite://") as db:
        repo = Stores.over(db)
        await consenting(repo, 7)
        assert await log_message(repo, 7, "in", "hello", now=NOW)
        assert (await repo.stats.data_summary(7))["messages"] == 1


# --- consent --------------------------------------------------------------------------------


async def test_messages_are_not_logged_before_consent(repo: Stores) -> None:
    bare = await repo.patients.ensure(1, chat_id=11)
    assert bare.name is None and not bare.has_consent

    assert await log_message(repo, 1, "in", "my cheek is red", now=NOW) is False
    assert await log_message(repo, 999, "in", "stranger", now=NOW) is False
    assert await repo.messages.count(1) == 0

    await repo.patients.record_consent(1, "Ann", now=NOW)
    assert await log_message(repo, 1, "in", "my cheek is red", topic="redness", now=NOW)
    assert await log_message(repo, 1, "out", "Redness is normal", outcome="answered", now=NOW)
    assert await repo.messages.count(1) == 2

    # one batch of several users (what the bot's log book flushes): only consenting ones stored
    await repo.patients.ensure(2, chat_id=22)
    batch = [LogEntry(1, "in", "still red", None, None, NOW),
             LogEntry(2, "in", "no consent yet", None, None, NOW),
             LogEntry(999, "in", "stranger", None, None, NOW)]
    assert await repo.messages.log_batch(batch) == 1
    assert (await repo.messages.count(1), await repo.messages.count(2)) == (3, 0)


async def test_personal_data_needs_consent(repo: Stores) -> None:
    await repo.patients.ensure(2, chat_id=22)
    with pytest.raises(ConsentRequired):
        await repo.patients.set_timezone(2, "Europe/Berlin")
    with pytest.raises(ConsentRequired):
        await repo.treatments.add(dt.date(2025, 3, 1), "patient", telegram_id=2)
    assert (await repo.patients.get(2)).timezone is None  # type: ignore[union-attr]

    await repo.patients.record_consent(2, None, now=NOW)
    with pytest.raises(ValueError):
        await repo.patients.set_timezone(2, "Mars/Olympus")
    assert (await repo.patients.set_timezone(2, "Europe/Berlin")).timezone == "Europe/Berlin"


async def test_times_read_back_timezone_aware_utc(repo: Stores) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    await repo.patients.ensure(3, chat_id=33)
    patient = await repo.patients.record_consent(3, "Bo", now=NOW.astimezone(berlin))
    stored = await repo.patients.get(3)
    assert stored is not None and stored.consent_at == NOW
    assert stored.consent_at.utcoffset() == dt.timedelta(0)
    assert patient.id == stored.id
    with pytest.raises(ValueError):  # naive datetimes are refused, not guessed
        await repo.patients.record_consent(3, "Bo", now=dt.datetime(2025, 3, 10, 9, 30))


# --- treatment sessions ---------------------------------------------------------------------


async def test_latest_session_is_greatest_date_not_cancelled(repo: Stores) -> None:
    pid = await consenting(repo, 4)
    assert await repo.treatments.latest(pid) is None
    march = await repo.treatments.add(dt.date(2025, 3, 1), "patient", telegram_id=4, now=NOW)
    april = await repo.treatments.add(dt.date(2025, 4, 1), "staff", patient_id=pid, now=NOW)
    await repo.treatments.add(dt.date(2025, 2, 1), "staff", patient_id=pid, now=NOW)  # added later

    latest = await repo.treatments.latest(pid)
    assert latest is not None and latest.id == april.id and latest.source == "staff"

    assert await cancel_session(repo, april.id, now=NOW)
    assert not await cancel_session(repo, april.id, now=NOW)  # already cancelled
    assert (await repo.treatments.latest(pid)).id == march.id  # type: ignore[union-attr]

    all_dates = [s.session_date for s in await repo.treatments.of_patient(pid)]
    assert all_dates == [dt.date(2025, 2, 1), dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    active = await repo.treatments.of_patient(pid, include_cancelled=False)
    assert [s.session_date for s in active] == [dt.date(2025, 2, 1), dt.date(2025, 3, 1)]


# --- invites --------------------------------------------------------------------------------


async def test_invite_links_telegram_user_to_staff_record(repo: Stores) -> None:
    invite = await repo.invites.create("Carla Meyer", dt.date(2025, 3, 8), ttl=7 * DAY, now=NOW)
    assert len(invite.code) >= 16 and invite.expires_at == NOW + 7 * DAY

    result = await repo.invites.redeem(invite.code, telegram_id=5, chat_id=55, now=NOW + DAY)
    assert result.status is RedeemStatus.OK and result.ok
    assert result.patient is not None and result.patient.name == "Carla Meyer"
    assert result.patient.telegram_id == 5 and not result.patient.has_consent
    latest = await repo.treatments.latest(result.patient.id)
    assert latest is not None and latest.session_date == dt.date(2025, 3, 8)
    assert latest.source == "invite"

    again = await repo.invites.redeem(invite.code, telegram_id=5, chat_id=55, now=NOW + DAY)
    assert again.status is RedeemStatus.ALREADY_LINKED and again.patient == result.patient
    other = await repo.invites.redeem(invite.code, telegram_id=6, chat_id=66, now=NOW + DAY)
    assert other.status is RedeemStatus.USED and not other.ok and other.patient is None
    assert await repo.patients.get(6) is None


async def test_invite_expired_or_unknown(repo: Stores) -> None:
    invite = await repo.invites.create("Dan", None, ttl=DAY, now=NOW)
    expired = await repo.invites.redeem(invite.code, telegram_id=7, chat_id=77, now=NOW + DAY)
    assert expired.status is RedeemStatus.EXPIRED
    unknown = await repo.invites.redeem("no-such-code", 7, 77, now=NOW)
    assert unknown.status is RedeemStatus.UNKNOWN
    assert (await repo.invites.redeem("", 7, 77, now=NOW)).status is RedeemStatus.UNKNOWN
    assert await repo.patients.get(7) is None
    assert (await repo.invites.get(invite.code)).used_at is None  # type: ignore[union-attr]


async def test_invite_for_existing_user_merges_into_their_record(repo: Stores) -> None:
    pid = await consenting(repo, 8, name="Eva")
    await log_message(repo, 8, "in", "hello", now=NOW)
    own = await repo.treatments.add(dt.date(2025, 1, 5), "patient", telegram_id=8, now=NOW)
    invite = await repo.invites.create("Eva Schmidt", dt.date(2025, 3, 9), ttl=DAY, now=NOW)
    patients_before = await repo.stats.count_patients()

    result = await repo.invites.redeem(invite.code, telegram_id=8, chat_id=88, now=NOW)

    assert result.status is RedeemStatus.ALREADY_LINKED and result.ok
    assert result.patient is not None and result.patient.id == pid
    assert result.patient.name == "Eva" and result.patient.has_consent  # own data wins
    assert result.patient.chat_id == 88
    dates = [s.session_date for s in await repo.treatments.of_patient(pid)]
    assert dates == [own.session_date, dt.date(2025, 3, 9)]
    assert await repo.stats.count_patients() == patients_before - 1  # invite record folded in
    assert (await repo.invites.get(invite.code)).patient_id == pid  # type: ignore[union-attr]
    assert await repo.messages.count(8) == 1


# --- activity -------------------------------------------------------------------------------


async def test_mark_inactive_and_reactivate(repo: Stores) -> None:
    await consenting(repo, 9)
    await consenting(repo, 10)
    assert {p.telegram_id for p in await repo.patients.active()} == {9, 10}

    assert await repo.patients.mark_inactive("blocked", telegram_id=9) == 1
    assert await repo.patients.mark_inactive("chat not found", chat_id=10 + 1000) == 1
    assert await repo.patients.mark_inactive("blocked", chat_id=123456) == 0
    with pytest.raises(ValueError):
        await repo.patients.mark_inactive("bored", telegram_id=9)
    p9, p10 = await repo.patients.get(9), await repo.patients.get(10)
    assert p9 is not None and not p9.active and p9.inactive_reason == "blocked"
    assert p10 is not None and not p10.active and p10.inactive_reason == "chat not found"
    assert await repo.patients.active() == []

    assert await repo.patients.reactivate(9)
    assert not await repo.patients.reactivate(31337)
    p9 = await repo.patients.get(9)
    assert p9 is not None and p9.active and p9.inactive_reason is None
    assert [p.telegram_id for p in await repo.patients.active()] == [9]

    assert await repo.patients.set_checkins_paused(9, True)
    assert (await repo.patients.get(9)).checkins_paused  # type: ignore[union-attr]
    assert not await repo.patients.set_checkins_paused(31337, True)


# --- reports --------------------------------------------------------------------------------


async def test_handoff_report_is_stored_without_consent(repo: Stores) -> None:
    report = await repo.reports.create(11, "question", "Can I use retinol?", now=NOW)
    assert report.status == "open" and report.patient_name is None and report.telegram_id == 11
    patient = await repo.patients.get(11)
    assert patient is not None and patient.name is None and not patient.has_consent
    assert await repo.messages.count(11) == 0


async def test_open_reports_emergencies_first_and_resolve(repo: Stores) -> None:
    pid = await consenting(repo, 12, name="Fay")
    session = await repo.treatments.add(dt.date(2025, 3, 8), "patient", telegram_id=12, now=NOW)
    question = await repo.reports.create(12, "question", "retinol?", now=NOW)
    alarm = await repo.reports.create(
        12, "triage", "pus and fever", urgency="emergency", day=2, reason="infection", now=NOW + DAY
    )
    assert (
        alarm.session_id == session.id and alarm.patient_id == pid and alarm.patient_name == "Fay"
    )

    assert [r.id for r in await repo.reports.queue()] == [alarm.id, question.id]
    taken = await repo.reports.set_status(alarm.id, "taken", now=NOW)
    assert taken is not None and taken.status == "taken" and taken.resolved_at is None
    resolved = await repo.reports.set_status(question.id, "resolved", now=NOW + 2 * DAY)
    assert resolved is not None and resolved.resolved_at == NOW + 2 * DAY
    assert [r.id for r in await repo.reports.queue()] == [alarm.id]
    assert await repo.reports.set_status(99999, "resolved") is None


# --- the patient's data ---------------------------------------------------------------------


async def test_data_summary_counts_what_is_stored(repo: Stores) -> None:
    assert await repo.stats.data_summary(13) == {"exists": False}
    await consenting(repo, 13, name="Gus")
    await repo.patients.set_timezone(13, "Europe/Vienna")
    await repo.treatments.add(dt.date(2025, 3, 1), "patient", telegram_id=13, now=NOW)
    await log_message(repo, 13, "in", "hi", now=NOW)
    await log_message(repo, 13, "out", "hello", now=NOW + DAY)
    await repo.reports.create(13, "patient", "itchy", now=NOW)

    summary = await repo.stats.data_summary(13)
    assert summary["name"] == "Gus" and summary["timezone"] == "Europe/Vienna"
    assert summary["sessions"] == 1 and summary["session_dates"] == [dt.date(2025, 3, 1)]
    assert summary["messages"] == 2 and summary["reports"] == 1
    assert summary["first_message_at"] == NOW and summary["last_message_at"] == NOW + DAY
    assert summary["consent_at"] == NOW


async def test_erase_removes_everything_about_the_patient_only(repo: Stores) -> None:
    async def fill(telegram_id: int) -> int:
        invite = await repo.invites.create("Hal", dt.date(2025, 3, 1), ttl=DAY, now=NOW)
        pid = (await repo.invites.redeem(invite.code, telegram_id, telegram_id, now=NOW)).patient.id  # type: ignore[union-attr]
        await repo.patients.record_consent(telegram_id, "Hal", now=NOW)
        await repo.treatments.add(dt.date(2025, 3, 5), "patient", telegram_id=telegram_id, now=NOW)
        await log_message(repo, telegram_id, "in", "question", now=NOW)
        await repo.reports.create(telegram_id, "triage", "swelling", urgency="urgent", now=NOW)
        return pid

    gone, kept = await fill(14), await fill(15)
    kept_before = await repo.stats.count_rows(kept)
    assert all(n >= 1 for n in kept_before.values())

    assert await repo.patients.erase(14)
    assert await repo.stats.count_rows(gone) == dict.fromkeys(kept_before, 0)
    assert await repo.patients.get(14) is None
    assert await repo.stats.data_summary(14) == {"exists": False}
    assert await repo.stats.count_rows(kept) == kept_before
    assert [r.telegram_id for r in await repo.reports.queue()] == [15]
    assert not await repo.patients.erase(14)


# --- restart --------------------------------------------------------------------------------


async def test_data_survives_closing_and_reopening(database_url: str) -> None:
    db = await Database.connect(database_url)
    repo = Stores.over(db)
    pid = await consenting(repo, 16, name="Ida")
    await repo.treatments.add(dt.date(2025, 3, 2), "patient", telegram_id=16, now=NOW)
    await log_message(repo, 16, "in", "hi", now=NOW)
    await db.close()

    db = await Database.connect(database_url)
    try:
        repo = Stores.over(db)
        patient = await repo.patients.get(16)
        assert patient is not None and patient.id == pid and patient.name == "Ida"
        assert patient.consent_at == NOW
        assert (await repo.treatments.latest(pid)).session_date == dt.date(2025, 3, 2)  # type: ignore[union-attr]
        assert await repo.messages.count(16) == 1
    finally:
        await db.close()
