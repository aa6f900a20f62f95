"""Rule-out buttons, sign-specific advice and someone else's past story in other languages, end
to end through the fake Bot API (issue 13): the question and its Yes / No labels come in the
patient's language, Yes escalates at once with the advice in that language and a staff card in
the patient's words, No is acknowledged in that language and raises nothing."""

from __future__ import annotations

from tests.bot_harness import STAFF_CHAT, BotHarness, button_data, button_labels
from tests.test_languages_e2e import patient, settle, writes


async def test_french_unsure_symptom_gets_french_buttons_and_yes_escalates(
        bot: BotHarness) -> None:
    await patient(bot, 611, days_ago=0)
    words = "je me sens bizarre et ma gorge gratte"
    reply, (card,) = await writes(bot, 611, words, "fr", cards=1)  # unreadable: to staff
    assert "Par prudence" in reply["text"]  # the rule-out question, in French
    assert button_data(reply) == ["fu:airway@fr:y", "fu:airway@fr:n"]
    assert button_labels(reply) == ["Oui", "Non"]
    assert words in card["text"]
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (advice,) = await bot.press(611, reply, "fu:airway@fr:y", first_name="Lucía")
    assert advice["text"].startswith("⚠️") and "112" in advice["text"]
    assert "urgence" in advice["text"]  # the emergency advice in French
    (alert,) = await bot.replies_after(STAFF_CHAT, staff_before, 1)
    assert "EMERGENCY" in alert["text"] and words in alert["text"]
    assert any(r.urgency == "emergency" for r in await bot.repo.reports.queue())
    assert bot.fake.violations == []


async def test_spanish_no_is_acknowledged_in_spanish_and_raises_nothing(bot: BotHarness) -> None:
    await patient(bot, 612, days_ago=1)
    reply, _ = await writes(bot, 612, "creo que tengo una infección", "es", cards=1)
    assert button_labels(reply) == ["Sí", "No"]
    before = await bot.repo.reports.queue()
    (answer,) = await bot.press(612, reply, "fu:infection@es:n", first_name="Lucía")
    assert "queda anotado" in answer["text"]
    await settle(bot)
    assert await bot.repo.reports.queue() == before  # nothing new raised


async def test_spanish_urgent_sign_gets_its_own_advice_in_spanish(bot: BotHarness) -> None:
    await patient(bot, 613, days_ago=3)
    reply, (card,) = await writes(bot, 613, "me sale pus de varios granitos", "es", cards=1)
    assert reply["text"].startswith("⚠️ Esto debe revisarse hoy")
    assert "Qué hacer ahora" in reply["text"] and "termómetro" in reply["text"]
    assert "URGENT" in card["text"]


async def test_german_story_about_a_friend_is_not_an_emergency(bot: BotHarness) -> None:
    await patient(bot, 614, days_ago=None)
    reply, _ = await writes(bot, 614, "Meine Freundin hatte letztes Jahr danach geschwollene "
                                      "Lippen, ist das gefährlich?", "de", cards=0)
    assert not reply["text"].startswith("⚠️")
    assert await bot.repo.reports.queue() == []
