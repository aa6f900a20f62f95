"""A patient types instead of tapping, end to end through the fake Bot API: "yes" typed under a
rule-out question is its Yes (the emergency advice and a staff card, never a thumbs-up), "nope,
none of those" its No, "not sure" a Yes; the same in the question's language ("sí", "non");
"yes" or "I agree" typed under the consent question brings its buttons back with a line that
consent is given by the button, and stores nothing."""

from __future__ import annotations

from typing import Any

from tests.bot_harness import STAFF_CHAT, START, BotHarness, button_data
from tests.test_languages_e2e import patient, settle, writes

UNSURE = "i feel a bit sick and dizzy"  # day 0: the day's guidance and the airway question


async def _asked(bot: BotHarness, user_id: int, first_name: str = "Ana") -> dict[str, Any]:
    await bot.onboard(user_id, first_name=first_name)
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=user_id)
    (reply,) = await bot.say(user_id, UNSURE, first_name=first_name)
    assert button_data(reply)[:2] == ["fu:airway:y", "fu:airway:n"]
    return reply


async def test_yes_typed_under_the_rule_out_question_escalates_like_the_button(
        bot: BotHarness) -> None:
    await _asked(bot, 71, "Noa")
    (advice,) = await bot.say(71, "Yes!", first_name="Noa")
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    assert "👍" not in advice["text"]
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert alert["text"].startswith("EMERGENCY: Noa") and UNSURE in alert["text"]
    (report,) = await bot.repo.reports.queue()
    assert (report.urgency, report.telegram_id) == ("emergency", 71)
    assert bot.fake.violations == []


async def test_unsure_typed_is_a_yes(bot: BotHarness) -> None:
    await _asked(bot, 72)
    (advice,) = await bot.say(72, "I'm not sure...")
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    assert [r.urgency for r in await bot.repo.reports.queue()] == ["emergency"]


async def test_no_typed_is_recorded_and_raises_nothing_and_the_question_is_then_closed(
        bot: BotHarness) -> None:
    reply = await _asked(bot, 73)
    (answer,) = await bot.say(73, "Nope, none of those")
    assert "noted" in answer["text"]
    await settle(bot)
    assert await bot.repo.reports.queue() == []
    assert "no longer active" in await bot.press_again(73, reply, "fu:airway:y")
    (ack,) = await bot.say(73, "yes")  # no question open now: an ordinary "yes"
    assert await bot.repo.reports.queue() == [] and "⚠️" not in ack["text"]


async def test_a_sentence_is_not_taken_for_an_answer(bot: BotHarness) -> None:
    await _asked(bot, 74)
    (answer,) = await bot.say(74, "yes but can i wear makeup tomorrow")
    assert "makeup" in answer["text"].lower() or "make-up" in answer["text"].lower()
    assert await bot.repo.reports.queue() == []
    (advice,) = await bot.say(74, "yeah")  # the question is still open
    assert advice["text"].startswith("⚠️")


async def test_spanish_si_typed_escalates_in_spanish_and_french_non_is_noted_in_french(
        bot: BotHarness) -> None:
    await patient(bot, 75, days_ago=1)
    reply, _ = await writes(bot, 75, "creo que tengo una infección", "es", cards=1)
    assert button_data(reply)[:2] == ["fu:infection@es:y", "fu:infection@es:n"]
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (advice,) = await bot.say(75, "Sí", first_name="Lucía")
    assert advice["text"].startswith("⚠️ Esto debe revisarse hoy")
    (alert,) = await bot.replies_after(STAFF_CHAT, staff_before, 1)
    assert "URGENT" in alert["text"]
    await patient(bot, 76, days_ago=0)
    reply, _ = await writes(bot, 76, "je me sens bizarre et ma gorge gratte", "fr", cards=1)
    assert button_data(reply) == ["fu:airway@fr:y", "fu:airway@fr:n"]
    before = [r.id for r in await bot.repo.reports.queue()]
    (answer,) = await bot.say(76, "non, rien", first_name="Lucía")
    assert "noté" in answer["text"].lower()
    await settle(bot)
    assert [r.id for r in await bot.repo.reports.queue()] == before


async def test_yes_typed_under_the_consent_question_brings_its_buttons_back(
        bot: BotHarness) -> None:
    (welcome,) = await bot.say(77, "/start")
    assert button_data(welcome) == ["consent:yes", "consent:no"]
    for typed in ("yes", "I agree"):
        (again,) = await bot.say(77, typed)
        assert 'tap "I agree"' in again["text"] and "👍" not in again["text"]
        assert button_data(again) == ["consent:yes", "consent:no"]
    patient_row = await bot.repo.patients.get(77)
    assert patient_row is None or not patient_row.has_consent
    await bot.press(77, again, "consent:yes", n=1)
    agreed = await bot.repo.patients.get(77)
    assert agreed is not None and agreed.has_consent


async def test_without_consent_a_typed_yes_answers_the_rule_out_question_first(
        bot: BotHarness) -> None:
    (welcome,) = await bot.say(78, "/start")
    (reply,) = await bot.say(78, UNSURE)
    assert button_data(reply)[:2] == ["fu:airway:y", "fu:airway:n"]
    (advice,) = await bot.say(78, "yes")
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert alert["text"].startswith("EMERGENCY") and UNSURE in alert["text"]
