"""End-to-end tests of the staff side: the real Application against the fake Bot API server.

A patient's worrying report becomes a card in the staff chat; staff take, answer (only that
patient gets it), resolve with a note; non-staff and forged button presses change nothing;
unanswered urgent cards are re-posted on a controlled clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.core.conversation import Conversation
from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor, Clinic
from storage import Database
from storage.clock import ManualClock
from storage.reports import ReportStore
from tests.bot_harness import button_data, eventually
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.stores import Stores

TOKEN = "123456:TEST-token-for-bot"
STAFF_CHAT = -1001000000001
NURSE, DOCTOR, STRANGER = 9001, 9002, 4242
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
CLINIC = Clinic(name="Glow Clinic", contact="020 7946 0000")
ZOE, BEN, CAL = 101, 102, 103


@dataclass
class Staffed:
    """The running bot plus handles on its parts."""

    fake: FakeTelegram
    app: Any
    conversation: Conversation
    repo: Stores
    store: ReportStore
    clock: ManualClock

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(chat_id)

    async def new(self, chat_id: int, before: int, n: int = 1) -> list[dict[str, Any]]:
        return (await self.fake.wait_for_messages(chat_id, before + n))[before:]

    async def say(self, user_id: int, text: str, n: int = 1,
                  first_name: str = "Ana") -> list[dict[str, Any]]:
        before = len(self.sent(user_id))
        self.fake.user_message(user_id, text, first_name=first_name)
        return await self.new(user_id, before, n)

    async def onboard(self, user_id: int, first_name: str) -> None:
        (welcome,) = await self.say(user_id, "/start", first_name=first_name)
        before = len(self.sent(user_id))
        self.fake.callback_query(user_id, "consent:yes", welcome["message_id"],
                                 first_name=first_name)
        await self.new(user_id, before)  # thanks and the zone question: one message, the last

    async def recorded(self, card: dict[str, Any]) -> None:
        """Wait until the bot has stored that the staff-chat `card` belongs to its report (it
        does so after Telegram answered the send)."""
        async def stored() -> bool:
            return await self.store.card(STAFF_CHAT, card["message_id"]) is not None
        await eventually(stored)

    async def staff_says(self, user_id: int, text: str, reply_to: int | None = None,
                         n: int = 1) -> list[dict[str, Any]]:
        before = len(self.sent(STAFF_CHAT))
        self.fake.user_message(user_id, text, first_name="Nurse" if user_id == NURSE else "X",
                               chat_id=STAFF_CHAT, chat_type="supergroup",
                               reply_to_message_id=reply_to)
        return await self.new(STAFF_CHAT, before, n) if n else []

    async def press(self, user_id: int, message_id: int, data: str, posts: int = 0) -> str:
        """A staff-chat button press; returns the notice shown (after `posts` new messages
        in the staff chat, e.g. a prompt)."""
        answered = len(self.fake.calls("answerCallbackQuery"))
        posted = len(self.sent(STAFF_CHAT))
        self.fake.callback_query(user_id, data, message_id, chat_id=STAFF_CHAT,
                                 first_name="Nurse" if user_id == NURSE else "Someone")
        await self.fake.wait_for(
            lambda: len(self.fake.calls("answerCallbackQuery")) > answered)
        await self.new(STAFF_CHAT, posted, posts)
        return str(self.fake.calls("answerCallbackQuery")[answered].params.get("text", ""))

    async def run_escalation_job(self) -> None:
        (job,) = self.app.job_queue.get_jobs_by_name("staff-escalation")
        await job.run(self.app)


def settings_for(fake: FakeTelegram, tmp_path: Path) -> Settings:
    return load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_BOT_API_URL=fake.base_url,
        AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT, AFTERCARE_STAFF_IDS=f"{NURSE},{DOCTOR}",
        AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        AFTERCARE_TIMEZONE="Europe/London", AFTERCARE_CLINIC_NAME=CLINIC.name,
        AFTERCARE_CLINIC_CONTACT=CLINIC.contact, AFTERCARE_MAX_SENDS_PER_SECOND=0,
        AFTERCARE_ESCALATION_URGENT_MINUTES=60, AFTERCARE_ESCALATION_EMERGENCY_MINUTES=15)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram, tmp_path: Path,
              advisor: Advisor) -> AsyncIterator[Staffed]:
    settings = settings_for(fake_telegram, tmp_path)
    clock = ManualClock(START)
    migrated_sqlite(tmp_path / "bot.db")  # a no-op upgrade, not a first migration
    db = await Database.connect(settings.database_url)
    app = build_application(settings, db, advisor, clock=clock)
    try:
        async with running(app, settings):
            services = app.bot_data  # typed: bot.compose.Services
            yield Staffed(fake_telegram, app, services.patient.conversation, Stores.of(services),
                          services.desk.store, clock)
    finally:
        await db.close()


async def urgent_card(bot: Staffed, user_id: int = ZOE, name: str = "Zoe",
                      days_ago: int = 3) -> tuple[dict[str, Any], int]:
    """Onboard a patient treated `days_ago`, report pus; returns (card, report id)."""
    await bot.onboard(user_id, name)
    await bot.repo.treatments.add(START.date() - dt.timedelta(days=days_ago), "staff",
                                  telegram_id=user_id)
    staff_before = len(bot.sent(STAFF_CHAT))
    advice = await bot.say(user_id, "there is yellow pus coming out of a spot", first_name=name)
    assert "today" in advice[0]["text"].lower() and "020 7946 0000" in advice[0]["text"]
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    await bot.recorded(card)
    report_id = int(button_data(card)[0].split(":")[2])
    return card, report_id


async def test_urgent_report_is_answered_to_that_patient_only_and_resolved_with_a_record(
        bot: Staffed) -> None:
    card, report_id = await urgent_card(bot)
    text = card["text"]
    assert text.startswith("URGENT: Zoe") and "(day 3)" in text
    assert "yellow pus" in text and "Reason:" in text and f"report #{report_id}" in text
    report = await bot.store.get(report_id)
    assert report is not None  # the buttons name the report and its patient
    assert button_data(card) == [f"st:{action}:{report_id}:{report.patient_id}"
                                 for action in ("take", "reply", "resolve", "pause")]

    # someone in the staff chat who is not staff presses Take: refused, nothing changes
    notice = await bot.press(STRANGER, card["message_id"], f"st:take:{report_id}")
    assert "staff only" in notice
    assert (await bot.store.get(report_id)).status == "open"  # type: ignore[union-attr]

    # two other patients are active meanwhile
    await bot.onboard(BEN, "Ben")
    await bot.onboard(CAL, "Cal")
    await bot.say(BEN, "can I wear makeup?")
    others_before = {p: len(bot.sent(p)) for p in (BEN, CAL)}

    # staff press Reply, then write the answer as their next message in the staff chat
    notice = await bot.press(NURSE, card["message_id"], f"st:reply:{report_id}", posts=1)
    assert "Zoe only" in notice
    zoe_before = len(bot.sent(ZOE))
    answer = "Please send a photo and come in today at 3pm."
    await bot.staff_says(NURSE, answer, n=2)  # "taken by" and "sent to Zoe only"
    got = await bot.new(ZOE, zoe_before, 2)
    assert "looking at your report" in got[0]["text"]
    assert answer in got[1]["text"] and "Glow Clinic" in got[1]["text"]
    carriers = [m["chat_id"] for m in bot.fake.sent_messages() if answer in m.get("text", "")]
    assert carriers == [ZOE]
    assert {p: len(bot.sent(p)) for p in (BEN, CAL)} == others_before
    assert any("Sent to Zoe only" in m["text"] for m in bot.sent(STAFF_CHAT))

    # the patient answers: it lands in the same report, threaded under the card
    staff_before = len(bot.sent(STAFF_CHAT))
    (ack,) = await bot.say(ZOE, "it is spreading a little to my cheek", first_name="Zoe")
    assert f"report #{report_id}" in ack["text"]
    (threaded,) = await bot.new(STAFF_CHAT, staff_before)
    assert "spreading a little" in threaded["text"] and "Zoe" in threaded["text"]
    assert threaded["reply_parameters"]["message_id"] == card["message_id"]

    # a staff Telegram reply to the threaded message also reaches Zoe only
    zoe_before = len(bot.sent(ZOE))
    await bot.staff_says(NURSE, "Thanks, we will look at it at 3pm.",
                         reply_to=threaded["message_id"])
    (second,) = await bot.new(ZOE, zoe_before)
    assert "we will look at it at 3pm" in second["text"]

    # resolve: the button asks for a note, the next message is the note
    notice = await bot.press(NURSE, card["message_id"], f"st:resolve:{report_id}", posts=1)
    assert "note" in notice
    zoe_before = len(bot.sent(ZOE))
    (done,) = await bot.staff_says(NURSE, "Seen in clinic, antibiotics started.")
    assert "resolved by Nurse" in done["text"]
    (closed,) = await bot.new(ZOE, zoe_before)
    assert "dealt with" in closed["text"]
    report = await bot.store.get(report_id)
    assert report is not None and report.status == "resolved"
    assert report.resolution_note == "Seen in clinic, antibiotics started."
    assert report.resolved_by == NURSE and report.taken_by == NURSE

    trail = await bot.store.actions(report_id)
    assert [(a.action, a.actor_telegram_id) for a in trail] == [
        ("refused", STRANGER), ("taken", NURSE), ("replied", NURSE), ("patient", ZOE),
        ("replied", NURSE), ("resolved", NURSE)]
    assert trail[2].note == answer and trail[3].note == "it is spreading a little to my cheek"
    assert all(a.created_at.tzinfo is not None for a in trail)

    # closed: a staff reply to the card reaches nobody, and Zoe's next message is for the bot
    zoe_before = len(bot.sent(ZOE))
    (refused,) = await bot.staff_says(NURSE, "one more thing", reply_to=card["message_id"])
    assert "resolved, so nothing was sent" in refused["text"]
    (normal,) = await bot.say(ZOE, "can I wear makeup?", first_name="Zoe")
    assert "makeup" in normal["text"].lower() and len(bot.sent(ZOE)) == zoe_before + 1
    assert bot.fake.violations == []


async def test_an_unanswered_urgent_card_is_reposted_with_a_mention(bot: Staffed) -> None:
    card, report_id = await urgent_card(bot)
    before = len(bot.sent(STAFF_CHAT))
    bot.clock.advance(minutes=59)
    await bot.run_escalation_job()
    assert len(bot.sent(STAFF_CHAT)) == before  # not yet

    bot.clock.advance(minutes=2)
    await bot.run_escalation_job()
    (repost,) = await bot.new(STAFF_CHAT, before)
    assert "Not taken after 1 h 01 min" in repost["text"]
    assert f"tg://user?id={NURSE}" in repost["text"] and f"tg://user?id={DOCTOR}" in repost["text"]
    assert "URGENT: Zoe" in repost["text"]
    assert repost["reply_parameters"]["message_id"] == card["message_id"]
    assert button_data(repost) == button_data(card)
    async def audited() -> bool:  # recorded with the delivery, right after the send
        return [a.action for a in await bot.store.actions(report_id)] == ["reposted"]

    await eventually(audited)

    # the re-posted card works like the first; once taken, no more re-posts
    assert "You took" in await bot.press(NURSE, repost["message_id"], f"st:take:{report_id}",
                                         posts=1)
    await bot.fake.wait_for(lambda: len(bot.sent(ZOE)) >= 4)
    bot.clock.advance(hours=3)
    count = len(bot.sent(STAFF_CHAT))
    await bot.run_escalation_job()
    assert len(bot.sent(STAFF_CHAT)) == count


async def test_a_forged_callback_naming_another_report_changes_nothing(bot: Staffed) -> None:
    card_a, report_a = await urgent_card(bot, ZOE, "Zoe")
    _card_b, report_b = await urgent_card(bot, BEN, "Ben")
    ben_before = len(bot.sent(BEN))

    # report B's actions pressed on report A's card
    for action in ("take", "reply", "resolve", "pause"):
        notice = await bot.press(NURSE, card_a["message_id"], f"st:{action}:{report_b}")
        assert "does not belong" in notice
    # and on a message that is no card at all
    assert "does not belong" in await bot.press(NURSE, 99999, f"st:take:{report_a}")
    # nonsense data
    assert "no longer active" in await bot.press(NURSE, card_a["message_id"], "st:drop:1")

    # no Reply is pending: the nurse's next message goes to nobody
    await bot.staff_says(NURSE, "this must not reach any patient", n=0)
    await bot.staff_says(NURSE, "/queue")  # handled after the message above
    assert all("must not reach" not in m.get("text", "") for m in bot.fake.sent_messages())
    b = await bot.store.get(report_b)
    a = await bot.store.get(report_a)
    assert b is not None and a is not None and (a.status, b.status) == ("open", "open")
    patient_b = await bot.repo.patients.get(BEN)
    assert patient_b is not None and not patient_b.checkins_paused
    assert len(bot.sent(BEN)) == ben_before
    assert {x.action for x in await bot.store.actions(report_b)} == {"refused"}
    assert bot.fake.violations == []


async def test_report_command_takes_words_and_photos(bot: Staffed) -> None:
    await bot.onboard(ZOE, "Zoe")
    (ask,) = await bot.say(ZOE, "/report", first_name="Zoe")
    assert "What's wrong" in ask["text"]
    staff_before = len(bot.sent(STAFF_CHAT))
    (told,) = await bot.say(ZOE, "small itchy bumps on my chin since yesterday",
                            first_name="Zoe")
    assert "The clinic has been told" in told["text"] and "photo" in told["text"]
    (card,) = await bot.new(STAFF_CHAT, staff_before)
    assert card["text"].startswith("REPORT: Zoe") and "itchy bumps" in card["text"]
    report_id = int(button_data(card)[0].split(":")[2])

    zoe_before = len(bot.sent(ZOE))
    update = bot.fake.user_photo(ZOE, first_name="Zoe")
    file_id = update["message"]["photo"][-1]["file_id"]
    (added,) = await bot.new(ZOE, zoe_before)
    assert "Photo added" in added["text"]
    (photo,) = await bot.new(STAFF_CHAT, staff_before + 1)
    assert photo["method"] == "sendPhoto" and photo["photo"] == file_id
    assert photo["reply_parameters"]["message_id"] == card["message_id"]
    assert await bot.store.photos(report_id) == [file_id]

    # the card numbers and the /queue in the staff chat
    (queue,) = await bot.staff_says(NURSE, "/queue")
    assert f"#{report_id} REPORT · Zoe" in queue["text"] and "not taken" in queue["text"]
    (history,) = await bot.staff_says(NURSE, f"/report {report_id}")
    assert "photos: 1" in history["text"] and "photo · patient" in history["text"]
    (refused,) = await bot.staff_says(STRANGER, "/queue")
    assert "staff only" in refused["text"]
    assert bot.fake.violations == []


async def test_staff_command_list_is_registered_for_the_staff_chat(bot: Staffed) -> None:
    scopes = {c.params.get("scope", {}).get("type"): c.params
              for c in bot.fake.calls("setMyCommands")}
    staff = {c["command"] for c in scopes["chat"]["commands"]}
    assert {"queue", "report", "patient", "gaps", "resolve", "reopen"} <= staff
    assert "report" in {c["command"] for c in scopes["all_private_chats"]["commands"]}


async def test_a_staff_photo_reply_reaches_only_that_patient_as_a_photo(bot: Staffed) -> None:
    card, report_id = await urgent_card(bot, ZOE, "Zoe")
    await bot.onboard(BEN, "Ben")
    ben_before, zoe_before = len(bot.sent(BEN)), len(bot.sent(ZOE))
    sizes = [{**bot.fake._file_meta(b"\xff\xd8 leaflet", "photos", "jpg"),
              "width": w, "height": w} for w in (90, 800)]
    message = bot.fake._user_message(NURSE, {"photo": sizes, "caption": "How to clean it"},
                                     first_name="Nurse", chat_id=STAFF_CHAT,
                                     chat_type="supergroup")
    message["reply_to_message"] = bot.fake.state.get_message(STAFF_CHAT, card["message_id"])
    bot.fake._push_message(message)
    got = await bot.new(ZOE, zoe_before, 2)  # "looking at your report", then the photo
    photo = got[-1]
    assert photo["method"] == "sendPhoto" and photo["photo"] == sizes[-1]["file_id"]
    assert "How to clean it" in photo["caption"] and "Glow Clinic" in photo["caption"]
    sent_photos = [m["chat_id"] for m in bot.fake.sent_messages() if m["method"] == "sendPhoto"]
    assert sent_photos == [ZOE]
    assert len(bot.sent(BEN)) == ben_before
    # once delivered, staff are told and the answer is audited
    await bot.fake.wait_for(lambda: any("Sent to Zoe only" in (m.get("text") or "")
                                        for m in bot.sent(STAFF_CHAT)))
    replied = [a for a in await bot.store.actions(report_id) if a.action == "replied"]
    assert [(a.actor_telegram_id, a.note) for a in replied] == [(NURSE, "[photo] How to clean it")]
    assert bot.fake.violations == []


async def test_staff_desk_commands_work_in_a_private_chat_with_the_bot(bot: Staffed) -> None:
    """On call at night a staff member may have only their private chat with the bot at
    hand: /queue, /report N, /resolve and /reopen are answered there; /report alone is
    still the patient command, and a stranger's /queue is not the desk's."""
    card, report_id = await urgent_card(bot)

    async def private(user_id: int, text: str, n: int = 1) -> list[dict[str, Any]]:
        before = len(bot.sent(user_id))
        bot.fake.user_message(user_id, text, first_name="Nurse")
        return await bot.new(user_id, before, n)

    (queue,) = await private(NURSE, "/queue")
    assert f"#{report_id} URGENT · Zoe" in queue["text"] and "not taken" in queue["text"]
    (history,) = await private(NURSE, f"/report {report_id}")
    assert "yellow pus" in history["text"] and "status" in history["text"].lower()
    staff_before = len(bot.sent(STAFF_CHAT))
    zoe_before = len(bot.sent(ZOE))
    (done,) = await private(NURSE, f"/resolve {report_id} seen in clinic")
    assert f"#{report_id}" in done["text"] and "resolved by Nurse" in done["text"]
    (told,) = await bot.new(STAFF_CHAT, staff_before)  # the staff chat hears of it too
    assert "resolved by Nurse" in told["text"]
    (closed,) = await bot.new(ZOE, zoe_before)
    assert "dealt with" in closed["text"]
    (reopened,) = await private(NURSE, f"/reopen {report_id}")
    assert f"#{report_id}" in reopened["text"]
    report = await bot.store.get(report_id)
    assert report is not None and report.status == "taken" and report.taken_by == NURSE
    (ask,) = await private(NURSE, "/report")  # without a number: the patient's /report
    assert "What's wrong" in ask["text"]
    (stranger,) = await private(STRANGER, "/queue")
    assert f"#{report_id}" not in stranger["text"]
    assert bot.fake.violations == []
