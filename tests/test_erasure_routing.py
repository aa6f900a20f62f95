"""A staff answer reaches exactly one patient, even across an erasure (issue 14, point 1).

The real Application against the fake Bot API, on SQLite and PostgreSQL: staff press Reply
on Alice's report, Alice erases herself, Bob raises a report, staff type their answer. Report
ids are never handed out twice, erasure clears the staff member's pending answer and edits
Alice's cards to "[erased at the patient's request]", so the answer reaches nobody (and
never Bob); typed /resolve and /report of the erased number find nothing; a button or
pending answer naming a report with another patient is refused and audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from knowledge.advisor import Advisor
from scheduler.alerts import OutgoingAlert
from storage.clock import ManualClock
from storage.models import Alert, ReportActionRow
from tests.bot_harness import CLINIC, START, button_data, eventually, quiet, running_app
from tests.fake_telegram import FakeTelegram
from tests.stores import Stores

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
NURSE = 9001
ALICE, BOB = 201, 202
ERASED = "[erased at the patient's request]"


class Desk:
    """The running bot seen from the staff chat and two patients' chats."""

    def __init__(self, fake: FakeTelegram, app: Any, clock: ManualClock) -> None:
        self.fake, self.app, self.clock = fake, app, clock
        self.store = app.bot_data.desk.store
        self.repo = Stores.of(app.bot_data)

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id)

    async def new(self, chat_id: int, before: int, n: int = 1,
                  timeout: float = 15.0) -> list[dict[str, Any]]:
        return (await self.fake.wait_for_messages(chat_id, before + n, timeout))[before:]

    async def say(self, user_id: int, text: str, name: str, n: int = 1) -> list[dict[str, Any]]:
        before = len(self.sent(user_id))
        self.fake.user_message(user_id, text, first_name=name)
        return await self.new(user_id, before, n)

    async def press(self, user_id: int, message: dict[str, Any], data: str,
                    chat_id: int | None = None, name: str = "Ana") -> str:
        answered = len(self.fake.calls("answerCallbackQuery"))
        self.fake.callback_query(user_id, data, message["message_id"], chat_id=chat_id,
                                 first_name=name)
        await self.fake.wait_for(lambda: len(self.fake.calls("answerCallbackQuery")) > answered)
        return str(self.fake.calls("answerCallbackQuery")[answered].params.get("text", ""))

    async def staff_says(self, text: str, reply_to: int | None = None) -> None:
        self.fake.user_message(NURSE, text, first_name="Nurse", chat_id=STAFF_CHAT,
                               chat_type="supergroup", reply_to_message_id=reply_to)

    async def red_flag(self, user_id: int, name: str, text: str) -> tuple[dict[str, Any], int]:
        """The patient describes a complication: (their staff card, its report id)."""
        staff_before = len(self.sent(STAFF_CHAT))
        (advice, *_) = await self.say(user_id, text, name)
        assert CLINIC.contact in advice["text"] or "999" in advice["text"]
        (card,) = await self.new(STAFF_CHAT, staff_before)
        return card, int(button_data(card)[0].split(":")[2])

    async def settled(self) -> None:
        """Every update handled and every owed alert delivered."""
        async def idle() -> bool:
            return (self.app.update_queue.empty()
                    and await self.app.bot_data.checkins.alerts.connector.owed() == 0)
        await eventually(idle, timeout=10)
        await quiet(self.app, self.fake)  # a reply in flight (nothing should come: the point)


@pytest.fixture
async def desk(fake_telegram: FakeTelegram, database_url: str,
               advisor: Advisor) -> AsyncIterator[Desk]:
    clock = ManualClock(START)
    async with running_app(fake_telegram, database_url, advisor, clock, NURSE) as app:
        yield Desk(fake_telegram, app, clock)


async def onboard(desk: Desk, user_id: int, name: str) -> None:
    (welcome,) = await desk.say(user_id, "/start", name)
    before = len(desk.sent(user_id))
    desk.fake.callback_query(user_id, "consent:yes", welcome["message_id"], first_name=name)
    await desk.new(user_id, before)
    await desk.repo.treatments.add(START.date() - dt.timedelta(days=2), "staff",
                                   telegram_id=user_id)


async def erase(desk: Desk, user_id: int, name: str) -> None:
    (confirm,) = await desk.say(user_id, "/delete", name)
    before = len(desk.sent(user_id))
    desk.fake.callback_query(user_id, "delete:yes", confirm["message_id"], first_name=name)
    (done,) = await desk.new(user_id, before)
    assert "erased everything" in done["text"]


async def test_a_reply_meant_for_an_erased_patient_never_reaches_the_next_one(
        desk: Desk) -> None:
    await onboard(desk, ALICE, "Alice")
    await onboard(desk, BOB, "Bob")
    card, alice_report = await desk.red_flag(ALICE, "Alice",
                                             "my lip is swollen and my throat feels tight")
    assert card["text"].startswith("EMERGENCY: Alice")
    staff_before = len(desk.sent(STAFF_CHAT))
    notice = await desk.press(NURSE, card, f"st:reply:{alice_report}:"
                              f"{button_data(card)[0].split(':')[3]}", chat_id=STAFF_CHAT,
                              name="Nurse")
    assert "Alice" in notice
    (prompt,) = await desk.new(STAFF_CHAT, staff_before)

    async def prompt_linked() -> bool:  # recorded as the report's once Telegram answered
        return await desk.store.card(STAFF_CHAT, prompt["message_id"]) is not None
    await eventually(prompt_linked)

    await erase(desk, ALICE, "Alice")
    alice_after_erasure = len(desk.sent(ALICE))

    async def cards_erased() -> bool:  # the card and the Reply prompt both say so now
        return all((desk.fake.state.get_message(STAFF_CHAT, m["message_id"]) or {})
                   .get("text") == ERASED for m in (card, prompt))
    await eventually(cards_erased, timeout=10)
    erased_card = desk.fake.state.get_message(STAFF_CHAT, card["message_id"])
    assert erased_card is not None and "reply_markup" not in erased_card

    bob_card, bob_report = await desk.red_flag(BOB, "Bob", "there is yellow pus and a fever")
    assert bob_report != alice_report  # a deleted id is never handed out again
    assert bob_card["text"].startswith("URGENT: Bob")
    bob_before = len(desk.sent(BOB))

    # the answer typed after pressing Reply on Alice's card
    await desk.staff_says("Alice, about your lip swelling: please call us now")
    # a reply to Alice's (erased) card and to the prompt
    await desk.staff_says("Alice, are you there?", reply_to=card["message_id"])
    await desk.staff_says("Alice?", reply_to=prompt["message_id"])
    # typed commands naming Alice's number
    staff_before = len(desk.sent(STAFF_CHAT))
    await desk.staff_says(f"/resolve {alice_report} called her")
    await desk.staff_says(f"/report {alice_report}")
    answers = await desk.new(STAFF_CHAT, staff_before, 2)
    assert all(f"#{alice_report}" in a["text"] and "Bob" not in a["text"] for a in answers)
    await desk.settled()

    assert len(desk.sent(BOB)) == bob_before  # Bob got nothing meant for Alice
    assert len(desk.sent(ALICE)) == alice_after_erasure  # nor did the erased chat
    bob = await desk.store.get(bob_report)
    assert bob is not None and bob.status == "open" and bob.resolution_note is None


async def test_a_button_naming_another_patient_is_refused_and_audited(desk: Desk) -> None:
    await onboard(desk, ALICE, "Alice")
    await onboard(desk, BOB, "Bob")
    card, report_id = await desk.red_flag(ALICE, "Alice", "there is yellow pus and a fever")
    bob_patient = (await desk.repo.patients.get(BOB)).id  # type: ignore[union-attr]
    notice = await desk.press(NURSE, card, f"st:take:{report_id}:{bob_patient}",
                              chat_id=STAFF_CHAT, name="Nurse")
    assert "no longer active" in notice
    report = await desk.store.get(report_id)
    assert report is not None and report.status == "open"
    actions = await desk.store.actions(report_id)
    assert [a.action for a in actions] == ["refused"] and actions[0].actor_telegram_id == NURSE


async def test_ids_are_never_reused_after_the_newest_is_deleted(desk: Desk) -> None:
    await onboard(desk, ALICE, "Alice")
    _, first = await desk.red_flag(ALICE, "Alice", "there is yellow pus and a fever")
    await erase(desk, ALICE, "Alice")
    await onboard(desk, ALICE, "Alice")  # the same person again: a new patient row
    _, second = await desk.red_flag(ALICE, "Alice", "there is yellow pus and a fever")
    assert second > first
    await desk.settled()
    async with desk.store.sessions() as s:  # nothing about the first report is left
        assert list(await s.scalars(select(ReportActionRow.report_id)
                                    .where(ReportActionRow.report_id == first))) == []
        assert [a.kind for a in await s.scalars(select(Alert).where(Alert.report_id.is_(None)))
                ] == ["erase"]



class HeldCard:
    """The alert sender's Telegram client, held once the staff chat's first card is
    delivered (Telegram answered) and before the outbox records it, until `go` is set."""

    def __init__(self, sender: Any) -> None:
        self.sender = sender
        self.delivered, self.go = asyncio.Event(), asyncio.Event()

    async def send(self, alert: OutgoingAlert) -> int:
        message_id = int(await self.sender.send(alert))
        if (not self.delivered.is_set() and alert.chat_id == STAFF_CHAT
                and alert.edit_message_id is None):
            self.delivered.set()
            await self.go.wait()
        return message_id


async def test_a_card_delivered_as_the_patient_erases_is_edited_to_the_erased_notice(
        desk: Desk) -> None:
    """The card reaches the staff chat, Alice erases herself, and only then does the
    outbox record the card (its row went with her report): the card is still edited."""
    await onboard(desk, ALICE, "Alice")
    alerts = desk.app.bot_data.checkins.alerts
    held = HeldCard(alerts.sender)
    alerts.sender = held
    try:
        card, _ = await desk.red_flag(ALICE, "Alice", "there is yellow pus and a fever")
        await held.delivered.wait()
        assert "yellow pus" in card["text"]
        await erase(desk, ALICE, "Alice")
    finally:
        held.go.set()

    async def erased_edit_sent() -> bool:  # the card's own row went with the report
        async with desk.store.sessions() as s:
            return [(a.kind, a.message_id, a.status) for a in await s.scalars(
                select(Alert).where(Alert.report_id.is_(None)))] == [
                ("erase", card["message_id"], "sent")]
    await eventually(erased_edit_sent, timeout=10)
    await desk.settled()
    shown = desk.fake.state.get_message(STAFF_CHAT, card["message_id"])
    assert shown is not None and shown.get("text") == ERASED and "reply_markup" not in shown
