"""`aftercare run` end to end for check-ins: a session logged in the chat writes its check-in
rows; once due they are sent by the running Application (its JobQueue wakes the dispatcher)
with answer buttons; an answer is recorded; "Something's wrong" raises a report for staff
and holds the session's remaining check-ins.

Both the bot and the fake Telegram server are real processes; due times are moved into the
past in the bot's SQLite file, which is how the test controls the clock.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.databases import migrated_sqlite
from tests.processes import Control, checkin_id_of, start_bot, stop_bot

USER = 5150
STAFF_CHAT = -1005150


class Patient:
    """One patient's chat with the running bot, through the fake server's control API."""

    def __init__(self, control: Control) -> None:
        self.control = control

    async def sent(self) -> list[dict[str, Any]]:
        return list(await self.control.get("sent_messages", chat_id=USER))

    async def wait(self, n: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        return await self.control.wait_sent(n, timeout)

    async def say(self, text: str) -> dict[str, Any]:
        before = len(await self.sent())
        await self.control.post("update", {"kind": "message", "user_id": USER, "text": text})
        return (await self.wait(before + 1))[before]

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        before = len(await self.sent())
        await self.control.post("update", {"kind": "callback_query", "user_id": USER,
                                           "data": data, "message_id": message["message_id"]})
        return (await self.wait(before + 1))[before]

    async def next_checkin(self, seen: int, timeout: float = 60.0) -> dict[str, Any]:
        """The first check-in message after the `seen` check-ins already received."""
        async def checkins() -> list[dict[str, Any]] | None:
            found = [m for m in await self.sent() if checkin_id_of(m) is not None]
            return found if len(found) > seen else None

        try:
            return (await self.control.until(checkins, "the due check-in", timeout))[seen]
        except AssertionError as exc:
            raise TimeoutError("the due check-in was not sent") from exc


def rows(database: Path) -> dict[str, dict[str, Any]]:
    """The patient's check-ins by step."""
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return {r["step"]: dict(r) for r in conn.execute(
            "SELECT c.* FROM checkins c JOIN patients p ON p.id = c.patient_id "
            "WHERE p.telegram_id = ?", (USER,))}


def make_due(database: Path, step: str) -> None:
    """Move one check-in's due time a minute into the past (still inside its window)."""
    now = datetime.now(UTC)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "UPDATE checkins SET due_at = ?, deliver_until = ? WHERE step = ? AND patient_id ="
            " (SELECT id FROM patients WHERE telegram_id = ?)",
            ((now - timedelta(minutes=1)).strftime(fmt), (now + timedelta(hours=1)).strftime(fmt),
             step, USER))


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_logged_session_checkins_are_sent_answered_and_held_by_a_problem(
        fake_server: str, tmp_path: Path) -> None:
    database = tmp_path / "run.db"
    migrated_sqlite(database)  # the run's no-op upgrade instead of a first migration
    # due check-ins are looked for every 0.2 s, not every 5 s: the waits below end sooner
    bot = start_bot(fake_server, database, tmp_path, AFTERCARE_STAFF_CHAT_ID=str(STAFF_CHAT),
                    AFTERCARE_CHECKIN_TICK_SECONDS="0.2")
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server, USER)
        patient = Patient(control)
        try:
            welcome = await patient.say("/start")
            await patient.press(welcome, "consent:yes")
            picker = await patient.say("/session")
            await patient.press(picker, "session:today")
            planned = rows(database)
            assert set(planned) == {"day1", "day2", "day3", "day7", "day14", "rebook",
                                    "rebook_reminder"}
            assert {r["status"] for r in planned.values()} == {"pending"}

            make_due(database, "day1")
            day1 = await patient.next_checkin(0)
            assert labels(day1) == ["Fine", "Red and tight", "Something's wrong"]
            assert checkin_id_of(day1) == planned["day1"]["id"]
            thanks = await patient.press(day1, f"ci:{planned['day1']['id']}:0")
            assert thanks["text"]

            make_due(database, "day2")
            day2 = await patient.next_checkin(1)
            assert labels(day2)[-1] == "Worse / blisters"
            staff_before = len(await control.get("sent_messages", chat_id=STAFF_CHAT))
            worried = await patient.press(day2, f"ci:{planned['day2']['id']}:2")
            assert "describe" in worried["text"] or "tell me" in worried["text"]

            async def staff_told() -> Any:
                sent = await control.get("sent_messages", chat_id=STAFF_CHAT)
                return sent if len(sent) > staff_before else None
            staff_after = await control.until(staff_told, "the staff card")
        finally:
            code, err = stop_bot(bot)
        assert code == 0, err
        violations = await control.get("violations")
    after = rows(database)
    assert after["day1"]["status"] == "sent" and after["day1"]["answer"] == "Fine"
    assert after["day1"]["telegram_message_id"] == day1["message_id"]
    assert after["day2"]["answer"] == "Worse / blisters"
    with sqlite3.connect(database) as conn:
        reports = conn.execute("SELECT id, kind FROM reports").fetchall()
    assert [kind for _, kind in reports] == ["checkin"]
    held = {step: (r["status"], r["paused_reason"]) for step, r in after.items()
            if step not in ("day1", "day2")}
    assert set(held.values()) == {("paused", f"report:{reports[0][0]}")}
    assert len(staff_after) > staff_before  # the clinic team was told
    assert violations == []
