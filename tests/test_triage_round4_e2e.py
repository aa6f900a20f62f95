"""Blind batch 3's classes end to end through the fake Bot API (issue 13): a patient typing
Portuguese without its accents gets the urgent advice in Portuguese and staff a card in the
patient's words; spreading redness with a pounding heart is an emergency with the
spreading-infection advice; a figure of speech raises nothing. Phrasings are our own."""

from __future__ import annotations

from tests.bot_harness import BotHarness
from tests.test_languages_e2e import patient, writes


async def test_unaccented_portuguese_pain_is_urgent_in_portuguese(bot: BotHarness) -> None:
    await patient(bot, 641, days_ago=2)
    words = "o remedio nao ta resolvendo a dor"
    reply, (card,) = await writes(bot, 641, words, "en", cards=1)  # an English phone
    assert reply["text"].startswith("⚠️ Isto precisa ser avaliado hoje")
    assert "O que fazer agora" in reply["text"]  # the pain advice, in Portuguese
    assert words in card["text"] and "URGENT" in card["text"]
    assert "Portuguese (pt)" in card["text"]
    assert any(r.urgency == "urgent" for r in await bot.repo.reports.queue())
    assert bot.fake.violations == []


async def test_spreading_redness_with_a_pounding_heart_is_an_emergency(bot: BotHarness) -> None:
    await patient(bot, 642, days_ago=3)
    words = "the redness is creeping down my neck and my heart is pounding"
    reply, (card,) = await writes(bot, 642, words, "en", cards=1)
    assert reply["text"].startswith("⚠️ This could be a serious reaction")
    assert "mark the edge of the redness" in reply["text"]
    assert "EMERGENCY" in card["text"] and words in card["text"]
    assert any(r.urgency == "emergency" for r in await bot.repo.reports.queue())


async def test_a_figure_of_speech_raises_nothing(bot: BotHarness) -> None:
    await patient(bot, 643, days_ago=5)
    reply, _ = await writes(bot, 643, "honestly choking on the price of that serum lol", "en",
                            cards=0)
    assert not reply["text"].startswith("⚠️")
    assert await bot.repo.reports.queue() == []


async def test_a_general_question_about_pus_gets_the_rule_out_buttons_and_yes_escalates(
        bot: BotHarness) -> None:
    from tests.bot_harness import STAFF_CHAT, button_data

    await patient(bot, 644, days_ago=3)
    words = "is it ever normal to get pus after needling?"
    reply, _ = await writes(bot, 644, words, "en", cards=0)  # a question: no alert
    assert not reply["text"].startswith("⚠️")
    assert "pus or yellow crusts" in reply["text"]  # the infection rule-out question
    assert button_data(reply)[:2] == ["fu:infection:y", "fu:infection:n"]
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (advice,) = await bot.press(644, reply, "fu:infection:y", first_name="Lucía")
    assert advice["text"].startswith("⚠️ This needs to be looked at today")
    (card,) = await bot.replies_after(STAFF_CHAT, staff_before, 1)
    assert "URGENT" in card["text"] and words in card["text"]
    assert bot.fake.violations == []
