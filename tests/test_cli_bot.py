"""The bot's CLI sub-commands as a user runs them: run, patient invite, session add."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from pathlib import Path

from tests.cli import aftercare, aftercare_process
from tests.stores import Stores


def test_run_without_a_token_explains_and_exits_2(tmp_path: Path) -> None:
    result = aftercare_process(tmp_path, "run")  # the console script's entry point, for real
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN: missing" in result.stderr


def test_run_with_bad_settings_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AFTERCARE_TIMEZONE=Mars/Olympus\n")
    result = aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abc",
                       AFTERCARE_STAFF_CHAT_ID="the-staff-group")
    assert result.returncode == 2
    assert "AFTERCARE_TIMEZONE=Mars/Olympus" in result.stderr  # read from .env
    assert "AFTERCARE_STAFF_CHAT_ID=the-staff-group" in result.stderr
    assert "Traceback" not in result.stderr


def test_invite_then_session_add(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    invite = aftercare(tmp_path, "patient", "invite", "--name", "Ana",
                       AFTERCARE_DATABASE_URL=db, AFTERCARE_BOT_USERNAME="glow_bot")
    assert invite.returncode == 0, invite.stderr
    assert re.fullmatch(r"https://t\.me/glow_bot\?start=[A-Za-z0-9_-]{10,64}\n", invite.stdout)

    missing = aftercare(tmp_path, "session", "add", "--telegram-id", "42",
                        AFTERCARE_DATABASE_URL=db)
    assert missing.returncode == 1 and "no patient with Telegram id 42" in missing.stderr

    future = aftercare(tmp_path, "patient", "invite", "--name", "Bo", "--session-date",
                       "2999-01-01", AFTERCARE_DATABASE_URL=db, AFTERCARE_BOT_USERNAME="glow_bot")
    assert future.returncode == 2 and "in the future" in future.stderr


def test_invite_needs_a_bot_username(tmp_path: Path) -> None:
    result = aftercare(tmp_path, "patient", "invite", "--name", "Ana",
                       AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2 and "AFTERCARE_BOT_USERNAME" in result.stderr


def test_run_with_a_malformed_clinic_kb_names_file_and_line_and_touches_nothing(
        tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "makeup.yaml").write_text(
        "entries:\n  - id: makeup\n    title: Makeup\n    questions: [can i wear makeup]\n"
        "    answer:\n      unknown: depends\n      days:\n        - {from: 1, text: later}\n")
    result = aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abcdef",
                       AFTERCARE_BOT_API_URL="http://127.0.0.1:9/bot",
                       AFTERCARE_KB_PATH=str(kb))
    assert result.returncode == 1
    assert f"{kb / 'makeup.yaml'}:8: day windows must start at day 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aftercare.db").exists()  # stopped before opening the database


def _checkins(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as conn:
        return [(status, due) for status, due in
                conn.execute("SELECT status, due_at FROM checkins ORDER BY step")]


def test_staff_list_move_and_cancel_a_session_and_its_check_ins(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    db = f"sqlite+aiosqlite:///{database}"
    asyncio.run(_consenting_patient(db, 77))
    today = dt.date.today()
    added = aftercare(tmp_path, "session", "add", "--telegram-id", "77", "--date",
                      today.isoformat(), AFTERCARE_DATABASE_URL=db)
    assert added.returncode == 0, added.stderr
    listed = aftercare(tmp_path, "session", "list", "--telegram-id", "77",
                       AFTERCARE_DATABASE_URL=db)
    (session_id,) = re.findall(r"session (\d+): " + today.isoformat(), listed.stdout)
    before = _checkins(database)
    assert before and all(status == "pending" for status, _ in before)

    earlier = today - dt.timedelta(days=1)
    moved = aftercare(tmp_path, "session", "move", session_id, "--date", earlier.isoformat(),
                      AFTERCARE_DATABASE_URL=db)
    assert moved.returncode == 0, moved.stderr
    after_move = _checkins(database)
    assert [due for _, due in after_move] != [due for _, due in before]  # due dates followed

    cancelled = aftercare(tmp_path, "session", "cancel", session_id, AFTERCARE_DATABASE_URL=db)
    assert cancelled.returncode == 0, cancelled.stderr
    assert {status for status, _ in _checkins(database)} == {"cancelled"}
    listed = aftercare(tmp_path, "session", "list", "--telegram-id", "77",
                       AFTERCARE_DATABASE_URL=db)
    assert f"session {session_id}: {earlier.isoformat()} (cancelled)" in listed.stdout
    unknown = aftercare(tmp_path, "session", "cancel", "999", AFTERCARE_DATABASE_URL=db)
    assert unknown.returncode == 1 and "no session 999" in unknown.stderr


async def _consenting_patient(url: str, telegram_id: int) -> None:
    from storage import Database

    async with await Database.connect(url) as db:
        repo = Stores.over(db)
        await repo.patients.ensure(telegram_id, telegram_id)
        await repo.patients.record_consent(telegram_id, "Cy")


def _totals(stdout: str) -> dict[str, int]:
    (line,) = [x for x in stdout.splitlines() if x.startswith("totals")]
    return {status: int(n) for n, status in
            ((part.split()[-1], part.split()[-2]) for part in line.split(": ", 1)[1].split(", "))
            if n.isdigit()}


def test_checkins_filters_by_telegram_id_and_its_totals_follow_the_filters(
        tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    db = f"sqlite+aiosqlite:///{database}"
    asyncio.run(_consenting_patient(db, 77))
    asyncio.run(_consenting_patient(db, 88))
    today = dt.date.today().isoformat()
    for telegram_id in ("77", "88"):
        added = aftercare(tmp_path, "session", "add", "--telegram-id", telegram_id, "--date",
                          today, AFTERCARE_DATABASE_URL=db)
        assert added.returncode == 0, added.stderr
    listed = aftercare(tmp_path, "session", "list", "--telegram-id", "88",
                       AFTERCARE_DATABASE_URL=db)
    (session_88,) = re.findall(r"session (\d+): ", listed.stdout)
    assert aftercare(tmp_path, "session", "cancel", session_88,
                     AFTERCARE_DATABASE_URL=db).returncode == 0
    with sqlite3.connect(database) as conn:
        per_patient = dict(conn.execute(
            "SELECT p.telegram_id, count(*) FROM checkins c JOIN patients p "
            "ON p.id = c.patient_id GROUP BY p.telegram_id"))
    steps = per_patient[77]
    assert per_patient[88] == steps

    everyone = aftercare(tmp_path, "checkins", AFTERCARE_DATABASE_URL=db)
    assert everyone.returncode == 0, everyone.stderr
    assert _totals(everyone.stdout) == {"pending": steps, "cancelled": steps}

    one = aftercare(tmp_path, "checkins", "--telegram-id", "77", AFTERCARE_DATABASE_URL=db)
    assert one.returncode == 0, one.stderr
    assert "Cy" in one.stdout
    assert _totals(one.stdout) == {"pending": steps}
    assert "totals matching these filters" in one.stdout

    pending_only = aftercare(tmp_path, "checkins", "--status", "cancelled",
                             AFTERCARE_DATABASE_URL=db)
    assert _totals(pending_only.stdout) == {"cancelled": steps}

    nobody = aftercare(tmp_path, "checkins", "--telegram-id", "5", AFTERCARE_DATABASE_URL=db)
    assert nobody.returncode == 1
    assert "no patient with Telegram id 5" in nobody.stderr
    assert "Traceback" not in nobody.stderr
