"""The staff desk through the Conversation/staff layer.

Races between two staff members, /queue order and ages, /gaps grouping, /patient, the CSV
export (and the ``aftercare export`` / ``aftercare gaps`` commands).

The services are built by `bot.compose.build_memory_services` (the in-memory twins of the
stores, each proven equal to its SQL store by tests/test_*_conformance.py); the tests that
assert storage behaviour (two staff members racing for one report, the audit trail, the
export) run on a migrated SQLite file too (`BOTH`), and the odd report numbers on
PostgreSQL as well (its integers are 32 bits). The CLI commands run on SQLite files.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.backends import Stores as BuiltStores
from bot.compose import Services
from bot.config import Settings, load_settings
from bot.core.desk import DeskJobs, export_csv, group_questions
from bot.core.replies import Reply
from storage import Database
from storage.clock import ManualClock
from storage.messages import LogEntry
from storage.reports import ReportStore
from tests.alert_harness import deliver
from tests.cli import Result, aftercare
from tests.conftest import _pg_connect
from tests.databases import reset_postgres_schema
from tests.stores import Stores

STAFF_CHAT = -100500
ANN, BO, EVE = 1, 2, 666
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[1]
BOTH = pytest.mark.parametrize("services", ["memory", "sqlite"], indirect=True)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(params=["memory"])
async def services(request: pytest.FixtureRequest, compose: Any,
                   clock: ManualClock) -> AsyncIterator[Services]:
    """The bot's services in memory, or (``BOTH``) over a migrated SQLite file as well, or
    over this process's migrated PostgreSQL schema, emptied (tests/databases.py)."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT,
                             AFTERCARE_STAFF_IDS=f"{ANN},{BO}")
    if request.param != "postgresql":
        yield await compose(settings, clock, url="memory" if request.param == "memory" else None)
        return
    conn, admin = await _pg_connect()
    try:
        yield await compose(settings, clock, url=await reset_postgres_schema(conn, admin))
    finally:
        await conn.close()


@pytest.fixture
def desk(services: Any) -> DeskJobs:
    staff: DeskJobs = services.desk
    return staff


@pytest.fixture
def repo(services: Services) -> BuiltStores:
    return services.stores


async def patient(repo: BuiltStores, telegram_id: int, name: str) -> None:
    await repo.patients.ensure(telegram_id, telegram_id, now=NOW)
    await repo.patients.record_consent(telegram_id, name, now=NOW)


async def carded(desk: DeskJobs, telegram_id: int, text: str, urgency: str | None = None,
                 message_id: int = 500) -> int:
    """A report with its card "sent" as staff-chat message `message_id`."""
    report = await desk.patients.flow_kit.reports.create(
        telegram_id, "triage" if urgency else "patient", text, urgency=urgency, day=3,
        now=desk.kit.now())
    (card,) = await deliver(desk, message_id)  # the card owed with the report
    assert f"report #{report.id}" in card.text
    return report.id


def texts(replies: list[Reply], chat: int | None = None) -> list[str]:
    return [r.text for r in replies if not r.notice and (chat is None or r.to_chat == chat)]


@BOTH
async def test_two_staff_resolving_at_once_one_wins_the_other_is_told(
        desk: DeskJobs, repo: BuiltStores) -> None:
    await patient(repo, 10, "Zoe")
    report_id = await carded(desk, 10, "pus on my cheek", "urgent")
    first, second = await asyncio.gather(
        desk.commands.staff_command(
            ANN, "Ann", STAFF_CHAT, 1, "resolve", [str(report_id), "called her"]),
        desk.commands.staff_command(
            BO, "Bo", STAFF_CHAT, 2, "resolve", [str(report_id), "seen her"]))
    assert first is not None and second is not None
    outcomes = [" ".join(texts(r, STAFF_CHAT)) for r in (first, second)]
    assert sum("resolved by" in o and "already" not in o for o in outcomes) == 1
    assert sum("already resolved" in o for o in outcomes) == 1
    resolved = [a for a in await desk.store.actions(report_id) if a.action == "resolved"]
    assert len(resolved) == 1
    report = await desk.store.get(report_id)
    assert report is not None and report.resolution_note == resolved[0].note
    assert report.resolved_by == resolved[0].actor_telegram_id
    winner = first if "already" not in outcomes[0] else second
    assert [r.to_chat for r in winner if not r.notice] == [STAFF_CHAT, 10]  # patient told once


@BOTH
async def test_two_staff_taking_at_once_through_the_buttons(desk: DeskJobs,
                                                            repo: BuiltStores) -> None:
    await patient(repo, 11, "Max")
    report_id = await carded(desk, 11, "my lips are swelling", "emergency", message_id=700)
    data = f"st:take:{report_id}"
    a, b = await asyncio.gather(desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 700, data),
                                desk.presses.staff_callback(BO, "Bo", STAFF_CHAT, 700, data))
    notices = sorted(r.text for r in a + b if r.notice)
    assert notices[0].startswith("Report #") and "already taken" in notices[0]
    assert notices[1] == f"You took report #{report_id}."
    assert [x.action for x in await desk.store.actions(report_id)] == ["taken"]


@BOTH
async def test_refusals_are_audited_and_forged_data_is_checked(desk: DeskJobs,
                                                               repo: BuiltStores) -> None:
    await patient(repo, 12, "Ida")
    mine = await carded(desk, 12, "rash", "urgent", message_id=800)
    other = await carded(desk, 12, "another", "urgent", message_id=801)
    (refused,) = await desk.presses.staff_callback(
        EVE, "Eve", STAFF_CHAT, 800, f"st:resolve:{mine}")
    assert refused.notice and "staff only" in refused.text
    (forged,) = await desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 800, f"st:take:{other}")
    assert "does not belong" in forged.text
    # an ex-staff member (removed from AFTERCARE_STAFF_IDS) is refused at once
    assert isinstance(desk.kit.settings, Settings)
    desk.kit.settings = desk.kit.settings.model_copy(update={"staff_ids": frozenset({BO})})
    assert "staff only" in (await desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 800,
                                                      f"st:take:{mine}"))[0].text
    trail = await desk.store.actions(mine)
    assert [(a.action, a.actor_telegram_id) for a in trail] == [("refused", EVE),
                                                                 ("refused", ANN)]
    assert [(a.action, a.actor_telegram_id) for a in await desk.store.actions(other)] == [
        ("refused", ANN)]
    assert {r.status for r in await desk.store.queue()} == {"open"}


async def test_queue_is_most_urgent_then_oldest_with_ages(desk: DeskJobs,
                                                          clock: ManualClock,
                                                          repo: BuiltStores) -> None:
    await patient(repo, 20, "Ann")
    routine = await carded(desk, 20, "question about serum", message_id=1)
    clock.advance(minutes=10)
    urgent_old = await carded(desk, 20, "pus", "urgent", message_id=2)
    clock.advance(minutes=20)
    emergency = await carded(desk, 20, "throat tight", "emergency", message_id=3)
    clock.advance(minutes=5)
    urgent_new = await carded(desk, 20, "hot and spreading", "urgent", message_id=4)
    await desk.store.take(urgent_new, BO)
    clock.advance(hours=2)
    (reply,) = await desk.commands.staff_command(ANN, "Ann", STAFF_CHAT, 9, "queue", []) or []
    queue, figures = reply.text.split("\n\n")
    lines = queue.splitlines()
    assert lines[0].startswith("Open reports (4)")
    assert figures.startswith("First staff action, reports of the last 30 days (1): median")
    assert [int(line.split()[0].lstrip("#")) for line in lines[1:]] == [
        emergency, urgent_old, urgent_new, routine]
    assert "2 h 05 min ago" in lines[1] and "2 h 25 min ago" in lines[2]
    assert "taken by" in lines[3] and "not taken" in lines[4]


async def test_gaps_group_similar_unanswered_questions(desk: DeskJobs, repo: BuiltStores) -> None:
    for telegram_id, text in [(30, "Can I dye my hair?"), (31, "can i dye my hair after"),
                              (32, "is it ok to dye my hair"), (30, "Can I dye my hair?"),
                              (33, "sauna ok?"), (34, "can I go to the sauna"),
                              (35, "what about fake tan")]:
        await patient(repo, telegram_id, "P")
        await log(repo, telegram_id, text, "abstained")
    await log(repo, 30, "can I wear makeup", "answered")
    await repo.reports.create(36, "question", "hair dye ok?", now=NOW)  # "ask the clinic"
    (reply,) = await desk.commands.staff_command(ANN, "Ann", STAFF_CHAT, 9, "gaps", []) or []
    lines = reply.text.splitlines()
    assert lines[0] == "Questions the bot could not answer (7, 3 groups):"
    assert lines[1].startswith("4 × &quot;Can I dye my hair?&quot;") or lines[1].startswith(
        '4 × "Can I dye my hair?"')
    assert lines[2].startswith("2 × ") and "sauna" in lines[2]
    assert lines[3].startswith("1 × ") and "fake tan" in lines[3]
    assert "makeup" not in reply.text


async def log(repo: BuiltStores, telegram_id: int, text: str, outcome: str) -> None:
    """A patient's message as the bot logs it (the batched log)."""
    assert await repo.message_log.log_batch(
        [LogEntry(telegram_id, "in", text, None, outcome, NOW)]) == 1


def test_grouping_keeps_different_questions_apart() -> None:
    groups = group_questions(["when can I exercise", "when can i exercise again?",
                              "can I drink alcohol", "when can I exercise"])
    assert [(g.count, g.example) for g in groups] == [(3, "when can I exercise"),
                                                       (1, "can I drink alcohol")]


async def test_patient_command_shows_sessions_checkins_and_reports(desk: DeskJobs,
                                                                   repo: BuiltStores) -> None:
    await patient(repo, 40, "Zoe Smith")
    await repo.treatments.add(dt.date(2026, 3, 7), "staff", telegram_id=40)
    report_id = await carded(desk, 40, "pus", "urgent")
    (reply,) = await desk.commands.staff_command(
        ANN, "Ann", STAFF_CHAT, 9, "patient", ["zoe"]) or []
    assert "Zoe Smith" in reply.text and "Telegram id 40" in reply.text
    assert "2026-03-07" in reply.text and f"#{report_id} URGENT · open" in reply.text
    (none,) = await desk.commands.staff_command(
        ANN, "Ann", STAFF_CHAT, 9, "patient", ["nobody"]) or []
    assert "No patient matching" in none.text


@BOTH
async def test_export_csv_has_reports_and_their_actions(desk: DeskJobs,
                                                        clock: ManualClock,
                                                        repo: BuiltStores) -> None:
    await patient(repo, 50, "Lia")
    report_id = await carded(desk, 50, "bleeding, \"lots\"", "urgent")
    await desk.presses.staff_callback(ANN, "Ann", STAFF_CHAT, 500, f"st:take:{report_id}")
    clock.advance(minutes=30)
    await desk.commands.staff_command(
        ANN, "Ann", STAFF_CHAT, 9, "resolve", [str(report_id), "ok now"])
    rows = list(csv.DictReader(io.StringIO(export_csv(
        await desk.store.export(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1))))))
    assert [(r["report_id"], r["action"], r["actor_telegram_id"]) for r in rows] == [
        (str(report_id), "taken", str(ANN)), (str(report_id), "resolved", str(ANN))]
    assert rows[0]["text"] == 'bleeding, "lots"' and rows[1]["resolution_note"] == "ok now"
    assert rows[1]["action_at"] == (NOW + dt.timedelta(minutes=30)).isoformat()
    assert await desk.store.export(NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2)) == []


async def _cli_database(url: str) -> None:
    async with await Database.connect(url) as db:
        repo = Stores.over(db)
        await repo.reports.create(60, "question", "can I dye my hair", now=NOW)
        await repo.reports.create(62, "question", "can i dye my hair?", now=NOW)
        report = await repo.reports.create(61, "triage", "pus", urgency="urgent", now=NOW)
        await ReportStore(db.sessions).take(report.id, ANN, now=NOW)


def test_export_and_gaps_commands(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(_cli_database(url))
    env = {"AFTERCARE_DATABASE_URL": url, "AFTERCARE_TIMEZONE": "Europe/London"}
    out = tmp_path / "reports.csv"

    def command(*args: str) -> Result:
        return aftercare(tmp_path, *args, **env)

    done = command("export", "--from", "2026-03-10", "--to", "2026-03-10", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["text"], r["action"]) for r in rows] == [
        ("can I dye my hair", ""), ("can i dye my hair?", ""), ("pus", "taken")]
    gaps = command("gaps")
    assert gaps.returncode == 0, gaps.stderr
    assert '2 × "can I dye my hair"' in gaps.stdout
    bad = command("export", "--from", "2026-03-11", "--to", "2026-03-10")
    assert bad.returncode == 2 and "--from" in bad.stderr


async def _formula_database(url: str) -> None:
    async with await Database.connect(url) as db:
        repo = Stores.over(db)
        await repo.reports.create(70, "question", '=HYPERLINK("http://evil.example","x")', now=NOW)
        await repo.reports.create(71, "question", "+cmd|' /C calc'!A0", now=NOW)
        await repo.reports.create(72, "question", "@SUM(1+1)", now=NOW)


def test_export_neutralises_formulas_and_is_private(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    asyncio.run(_formula_database(url))
    out = tmp_path / "reports.csv"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)  # an existing, world-readable file is made private too
    done = aftercare(tmp_path, "export", "--from", "2026-03-10", "--to", "2026-03-10", "--out",
                     str(out), AFTERCARE_DATABASE_URL=url, AFTERCARE_TIMEZONE="Europe/London")
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    texts = [r["text"] for r in csv.DictReader(out.open(encoding="utf-8"))]
    assert texts == ['\'=HYPERLINK("http://evil.example","x")', "'+cmd|' /C calc'!A0",
                     "'@SUM(1+1)"]


@pytest.mark.parametrize("services", ["memory", "sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("number", ["²", "99999999999"])
async def test_resolve_with_an_odd_number_is_refused_not_raised(desk: DeskJobs,
                                                                number: str) -> None:
    for command, args in (("resolve", [number, "done"]), ("report", [number]),
                          ("reopen", [number])):  # PostgreSQL: no int32 overflow either
        replies = await desk.commands.staff_command(ANN, "Ann", STAFF_CHAT, 9, command, args)
        assert replies, "a refusal is shown to the staff member"
        assert not any("Traceback" in r.text for r in replies)
