"""End-to-end tests: the real python-telegram-bot Application against the fake Bot API server.

Every test runs the bot exactly as ``aftercare run`` does (build_application + long polling
or the webhook server) over real HTTP; the `fake_telegram` fixture fails the test if any
request the bot made breaks the Bot API description in api.json.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.telegram.app import build_application, running
from knowledge.advisor import Advisor
from storage import Database
from tests.bot_harness import (
    STAFF_CHAT,
    STAFF_USER,
    START,
    BotHarness,
    ManualClock,
    bot_settings,
    button_data,
    button_labels,
    eventually,
)
from tests.databases import migrated_sqlite
from tests.fake_telegram import FakeTelegram
from tests.processes import free_port


# --- onboarding -----------------------------------------------------------------------------
async def test_start_explains_limits_and_stores_nothing_until_consent(bot: BotHarness) -> None:
    (welcome,) = await bot.say(5, "/start")
    assert "not a doctor" in welcome["text"]
    assert "not monitored around the clock" in welcome["text"]
    assert "999" in welcome["text"]
    assert button_data(welcome) == ["consent:yes", "consent:no"]
    assert welcome["parse_mode"] == "HTML"

    (answer,) = await bot.say(5, "can I wear makeup?")
    assert "makeup" in answer["text"].lower()
    patient = await bot.repo.patients.get(5)
    assert patient is not None and not patient.has_consent and patient.name is None
    await bot.conversation.log.flush()
    assert await bot.repo.messages.count(5) == 0

    (thanks,) = await bot.press(5, welcome, "consent:yes")
    assert "Thank you, Ana" in thanks["text"] and "/session" in thanks["text"]
    assert bot.fake.calls("editMessageReplyMarkup")  # the consent buttons are gone
    assert "Already done" in await bot.press_again(5, welcome, "consent:yes")
    await bot.say(5, "can I wear makeup?")
    await bot.conversation.log.flush()
    assert await bot.repo.messages.count(5) == 2
    assert bot.fake.violations == []


async def test_commands_are_registered_for_patients_and_staff(bot: BotHarness) -> None:
    scopes = {c.params.get("scope", {}).get("type"): c.params for c in
              bot.fake.calls("setMyCommands")}
    assert {c["command"] for c in scopes["all_private_chats"]["commands"]} >= {
        "start", "session", "privacy", "mydata", "delete", "stop", "resume"}
    assert scopes["chat"]["scope"]["chat_id"] == STAFF_CHAT
    assert {c["command"] for c in scopes["chat"]["commands"]} >= {"addsession", "invite"}


async def test_deep_link_links_the_invited_record_and_its_session(bot: BotHarness) -> None:
    treated = (START - dt.timedelta(days=2)).date()
    invite = await bot.repo.invites.create("Ana Smith", treated, dt.timedelta(days=7), now=START)

    linked, welcome = await bot.say(6, f"/start {invite.code}", n=2, first_name="Annie")
    assert f"treatment on {treated.isoformat()}" in linked["text"]
    assert "Hello, Ana Smith" in welcome["text"]
    await bot.press(6, welcome, "consent:yes")
    (answer,) = await bot.say(6, "can I wear makeup?")
    assert "day 2" in answer["text"]
    patient = await bot.repo.patients.get(6)
    assert patient is not None and patient.name == "Ana Smith"

    invalid, _ = await bot.say(7, f"/start {invite.code}", n=2)
    assert "not valid" in invalid["text"]


async def test_answers_follow_the_recovery_day(bot: BotHarness) -> None:
    await bot.onboard(8)
    (picker,) = await bot.say(8, "/session")
    assert button_data(picker) == ["session:today", "session:yesterday", "session:other",
                                   "flow:cancel"]  # a typed date is read too: a flow
    (logged,) = await bot.press(8, picker, "session:today")
    assert "Today is day 0" in logged["text"]
    (day0,) = await bot.say(8, "can I wear makeup?")
    assert "day 0" in day0["text"]

    bot.clock.advance(days=3)
    (day3,) = await bot.say(8, "can I wear makeup?")
    assert "day 3" in day3["text"]
    assert day3["text"] != day0["text"]


async def test_another_date_is_validated(bot: BotHarness) -> None:
    await bot.onboard(9)
    (picker,) = await bot.say(9, "/session")
    (prompt,) = await bot.press(9, picker, "session:other")
    assert "type the date" in prompt["text"]
    (future,) = await bot.say(9, "2099-01-01")
    assert "in the future" in future["text"]
    (old,) = await bot.say(9, "01/01/2020")
    assert "more than a year ago" in old["text"]
    (logged,) = await bot.say(9, "3 days ago")
    assert "treatment on 2026-03-07" in logged["text"] and "day 3" in logged["text"]
    sessions = await bot.repo.treatments.of_patient((await bot.repo.patients.get(9)).id)  # type: ignore[union-attr]
    assert [s.session_date for s in sessions] == [dt.date(2026, 3, 7)]


async def test_session_needs_consent(bot: BotHarness) -> None:
    (ask,) = await bot.say(10, "/session")
    assert "agreement" in ask["text"] and button_data(ask) == ["consent:yes", "consent:no"]


# --- advice, suggestions, red flags -----------------------------------------------------------
async def test_suggestions_come_as_buttons_and_none_of_these_asks_the_clinic(
        bot: BotHarness, advisor: Advisor) -> None:
    assert advisor.ask("creams").suggestions, "precondition: 'creams' is ambiguous in the KB"
    await bot.onboard(11)
    (suggested,) = await bot.say(11, "creams")
    data = button_data(suggested)
    assert data[0].startswith("kb:") and data[-1] == "handoff"
    assert button_labels(suggested)[-1] == "None of these — ask the clinic"
    assert all(len(d.encode()) <= 64 for d in data)

    (chosen,) = await bot.press(11, suggested, data[0])
    assert "moistur" in chosen["text"].lower()

    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (passed,) = await bot.press(11, suggested, "handoff")
    assert "passed your question to Glow Clinic" in passed["text"]
    (alert,) = (await bot.fake.wait_for_messages(STAFF_CHAT, staff_before + 1))[staff_before:]
    assert alert["text"].startswith("QUESTION") and "creams" in alert["text"]
    reports = await bot.repo.reports.queue()
    assert [(r.kind, r.text) for r in reports] == [("question", "creams")]
    assert "Already done" in await bot.press_again(11, suggested, "handoff")


async def test_red_flag_before_consent_gets_emergency_advice_and_alerts_staff(
        bot: BotHarness) -> None:
    await bot.say(12, "/start", first_name="Mia")
    (reply,) = await bot.say(12, "my lips are swelling and my throat feels tight")
    assert reply["text"].startswith("⚠️") and "999" in reply["text"]
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    lines = alert["text"].splitlines()
    assert lines[0].startswith("EMERGENCY")
    assert "my lips are swelling and my throat feels tight" in alert["text"]
    assert "Reason:" in alert["text"]
    (report,) = await bot.repo.reports.queue()
    assert (report.kind, report.urgency, report.telegram_id) == ("triage", "emergency", 12)
    await bot.conversation.log.flush()
    assert await bot.repo.messages.count(12) == 0  # safety report, but no chat log


async def test_red_flag_uses_the_day_and_names_the_patient(bot: BotHarness) -> None:
    await bot.onboard(13, first_name="Zoe")
    await bot.repo.treatments.add(START.date() - dt.timedelta(days=2), "staff", telegram_id=13)
    (reply,) = await bot.say(13, "there is yellow pus coming out of a spot")
    assert "today" in reply["text"].lower() and "020 7946 0000" in reply["text"]
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert alert["text"].startswith("URGENT: Zoe") and "(day 2)" in alert["text"]


async def test_a_5000_character_message_is_triaged_in_full(bot: BotHarness) -> None:
    await bot.onboard(14)
    text = ("I have a question about my routine and products. " * 100)[:4950]
    text += " my lips are swelling"
    assert len(text) > 4096
    (reply,) = await bot.say(14, text)
    assert reply["text"].startswith("⚠️")
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert len(alert["text"]) <= 4096
    assert all(len(m["text"]) <= 4096 for m in bot.fake.sent_messages())


# --- odd input ------------------------------------------------------------------------------
async def test_media_get_short_text_only_replies(bot: BotHarness) -> None:
    checks = [
        (lambda: bot.fake.user_sticker(15), "only read text"),
        (lambda: bot.fake.user_voice(15), "voice notes"),
        (lambda: bot.fake.user_photo(15), "can't look at photos"),
        (lambda: bot.fake.user_document(15), "can't open files"),
        (lambda: bot.fake.user_location(15), "can't use locations"),
    ]
    for push, expected in checks:
        before = len(bot.fake.sent_messages(15))
        push()
        (reply,) = await bot.replies_after(15, before, 1)
        assert expected in reply["text"], reply["text"]


async def test_a_photo_caption_is_still_triaged(bot: BotHarness) -> None:
    bot.fake.user_photo(16, caption="my lips are swelling")
    advice, note = await bot.fake.wait_for_messages(16, 2)
    assert advice["text"].startswith("⚠️") and "photos" in note["text"]


async def test_edits_are_ignored_unless_they_raise_a_red_flag(bot: BotHarness) -> None:
    (first,) = await bot.say(17, "can I wear makeup?")
    asked = bot.fake.state.get_message(17, first["message_id"] - 1)
    assert asked is not None and asked["text"] == "can I wear makeup?"
    bot.fake.edited_message(17, asked["message_id"], "can I wear makeup tomorrow?")
    await bot.quiet_check(17)
    assert len(bot.fake.sent_messages(17)) == 2  # the edit got no reply

    bot.fake.edited_message(17, asked["message_id"], "my lips are swelling")
    (alarm,) = await bot.replies_after(17, 2, 1)
    assert alarm["text"].startswith("⚠️")


async def test_group_chats_get_one_line_then_silence(bot: BotHarness) -> None:
    group = -1009999
    bot.fake.group_message(18, "hello bot", chat_id=group)
    (line,) = await bot.fake.wait_for_messages(group, 1)
    assert "only work in private chats" in line["text"]
    bot.fake.group_message(18, "/start", chat_id=group)
    await bot.quiet_check(18)
    assert len(bot.fake.sent_messages(group)) == 1


async def test_staff_chat_accepts_staff_commands_only_from_staff(bot: BotHarness) -> None:
    await bot.say(19, "/start")
    bot.fake.group_message(STAFF_USER, "/addsession 19 2026-03-08", chat_id=STAFF_CHAT)
    (done,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert "2026-03-08" in done["text"]
    bot.fake.group_message(4242, "/addsession 19", chat_id=STAFF_CHAT)
    (refused,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 2))[1:]
    assert "staff only" in refused["text"]
    bot.fake.group_message(STAFF_USER, "just chatting", chat_id=STAFF_CHAT)
    bot.fake.group_message(STAFF_USER, "/invite Bea", chat_id=STAFF_CHAT)
    (invite,) = (await bot.fake.wait_for_messages(STAFF_CHAT, 3))[2:]
    assert "https://t.me/aftercare_test_bot?start=" in invite["text"]


async def test_unknown_commands_list_the_commands(bot: BotHarness) -> None:
    (reply,) = await bot.say(20, "/frobnicate")
    assert "don't know that command" in reply["text"] and "/mydata" in reply["text"]


async def test_html_in_user_text_is_escaped(bot: BotHarness) -> None:
    await bot.onboard(21, first_name="<b>Bo & Co</i>")
    (data,) = await bot.say(21, "/mydata")
    assert "&lt;b&gt;Bo &amp; Co&lt;/i&gt;" in data["text"]


# --- privacy ----------------------------------------------------------------------------------
async def test_privacy_mydata_stop_resume_delete(bot: BotHarness) -> None:
    await bot.onboard(22)
    await bot.repo.treatments.add(dt.date(2026, 3, 8), "staff", telegram_id=22)
    (privacy,) = await bot.say(22, "/privacy")
    assert "What I store" in privacy["text"] and "even before you agree" in privacy["text"]
    (mydata,) = await bot.say(22, "/mydata")
    assert "Ana" in mydata["text"] and "2026-03-08" in mydata["text"]
    (stopped,) = await bot.say(22, "/stop")
    assert "paused" in stopped["text"]
    assert "Check-ins: paused" in (await bot.say(22, "/mydata"))[0]["text"]
    await bot.say(22, "/resume")
    assert "Check-ins: on" in (await bot.say(22, "/mydata"))[0]["text"]

    (confirm,) = await bot.say(22, "/delete")
    assert button_data(confirm) == ["delete:yes", "flow:cancel"]
    (deleted,) = await bot.press(22, confirm, "delete:yes")
    assert "erased everything" in deleted["text"]
    assert "Already done" in await bot.press_again(22, confirm, "delete:yes")
    assert await bot.repo.patients.get(22) is None
    (nothing,) = await bot.say(22, "/mydata")
    assert "nothing stored" in nothing["text"]


# --- blocking ---------------------------------------------------------------------------------
async def test_a_403_marks_the_patient_inactive_and_start_reactivates(bot: BotHarness) -> None:
    await bot.onboard(23)
    bot.fake.block_chat(23)
    bot.fake.user_message(23, "can I wear makeup?")

    async def inactive() -> bool:
        patient = await bot.repo.patients.get(23)
        return patient is not None and not patient.active
    await eventually(inactive)
    assert (await bot.repo.patients.get(23)).inactive_reason == "blocked"  # type: ignore[union-attr]
    failed = [r for r in bot.fake.calls("sendMessage") if r.status == 403]
    assert len(failed) == 1  # not retried

    bot.fake.unblock_chat(23)
    await bot.say(23, "/start")
    assert (await bot.repo.patients.get(23)).active  # type: ignore[union-attr]


async def test_my_chat_member_kicked_marks_inactive(bot: BotHarness) -> None:
    await bot.onboard(24)
    bot.fake.my_chat_member(24, "kicked")

    async def inactive() -> bool:
        return not (await bot.repo.patients.get(24)).active  # type: ignore[union-attr]
    await eventually(inactive)
    await bot.say(24, "/start")
    assert (await bot.repo.patients.get(24)).active  # type: ignore[union-attr]


# --- webhook ----------------------------------------------------------------------------------
async def test_webhook_mode_requires_the_secret_token(
        fake_telegram: FakeTelegram, tmp_path: Path, advisor: Advisor) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = bot_settings(fake_telegram, tmp_path, AFTERCARE_WEBHOOK_URL=url,
                            AFTERCARE_WEBHOOK_SECRET="s3cret-token_16ch",
                            AFTERCARE_WEBHOOK_LISTEN="127.0.0.1", AFTERCARE_WEBHOOK_PORT=port)
    migrated_sqlite(tmp_path / "bot.db")  # a no-op upgrade, not a first migration
    db = await Database.connect(settings.database_url)
    app = build_application(settings, db, advisor, clock=ManualClock(START))
    try:
        async with running(app, settings):
            (hook,) = fake_telegram.calls("setWebhook")
            assert hook.params["url"].split("?")[0] == url  # + the secret's fingerprint
            assert hook.params["secret_token"] == "s3cret-token_16ch"
            fake_telegram.user_message(30, "/start")  # delivered with the secret by the fake
            await fake_telegram.wait_for_messages(30, 1)

            forged = {"update_id": 999001, "message": {
                "message_id": 1, "date": 0, "chat": {"id": 31, "type": "private"},
                "from": {"id": 31, "is_bot": False, "first_name": "Eve"}, "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
            assert await fake_telegram.post_update_to(url, forged) == 403
            assert await fake_telegram.post_update_to(url, forged, "wrong-secret") == 403
            fake_telegram.user_message(30, "/privacy")
            await fake_telegram.wait_for_messages(30, 2)
            assert fake_telegram.sent_messages(31) == []
    finally:
        await db.close()
