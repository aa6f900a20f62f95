"""Other languages end to end: the real Application against the fake Bot API server.

A red flag written in Spanish or Russian gets the advice in that language and a staff card
with the patient's own words, the detected language and the English sign; a message the bot
cannot read goes to staff as written within 14 days of a session (the patient is told so in
their language), and only gets the "I read English only" reply otherwise. An everyday question
whose topic the bot recognises in that language gets the English answer, with a line in the
patient's language that the team has the message too, and still goes to staff. A routine
review the bot recognised in that language is passed on too, the patient is told what to watch
for in their language (as an English routine review is), and its card says what was read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.bot_harness import STAFF_CHAT, START, BotHarness, quiet


async def settle(bot: BotHarness) -> None:
    """Until the bot has written all it will (e.g. a time-zone picker, a staff card): every
    update handled, a desk-outbox pass made and every send recorded (`quiet`)."""
    await quiet(bot.app, bot.fake)


async def patient(bot: BotHarness, user_id: int, days_ago: int | None) -> None:
    """An onboarded patient, treated `days_ago` (None: no session logged)."""
    await bot.onboard(user_id, "Lucía")
    await settle(bot)
    if days_ago is not None:
        await bot.repo.treatments.add(START.date() - dt.timedelta(days=days_ago), "staff",
                                      telegram_id=user_id)


async def writes(bot: BotHarness, user_id: int, text: str, language_code: str,
                 cards: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The patient writes `text` from a Telegram app set to `language_code`; returns the
    bot's reply and the `cards` new staff-chat messages."""
    before = len(bot.fake.sent_messages(user_id))
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    bot.fake.user_message(user_id, text, first_name="Lucía", language_code=language_code)
    (reply,) = await bot.replies_after(user_id, before, 1)
    new_cards = await bot.replies_after(STAFF_CHAT, staff_before, cards) if cards else []
    await settle(bot)
    assert len(bot.fake.sent_messages(STAFF_CHAT)) == staff_before + cards
    return reply, new_cards


async def test_spanish_emergency_advice_and_card_in_the_patients_words(bot: BotHarness) -> None:
    await patient(bot, 501, days_ago=0)
    words = "Se me están hinchando los labios y me cuesta respirar"
    reply, (card,) = await writes(bot, 501, words, "es", cards=1)
    assert reply["text"].startswith("⚠️ Esto podría ser una reacción grave")
    # the clinic named in Spanish, its configured name in Spanish quotes; no number is
    # configured, so the emergency numbers are told in Spanish too
    assert "He avisado a la clínica «Glow Clinic»." in reply["text"]
    assert "(112 en la UE, 999 en el Reino Unido, 911 en Estados Unidos)" in reply["text"]
    assert "the clinic" not in reply["text"] and "in the UK" not in reply["text"]
    assert words in card["text"]  # the patient's words, untranslated
    assert "EMERGENCY" in card["text"] and "written in Spanish (es)" in card["text"]
    assert "swelling of lips" in card["text"]  # the English sign for staff


async def test_russian_urgent_advice_even_with_an_english_telegram(bot: BotHarness) -> None:
    await patient(bot, 502, days_ago=3)
    words = "из прыщиков идёт гной, щека горячая"
    reply, (card,) = await writes(bot, 502, words, "en", cards=1)
    assert reply["text"].startswith("⚠️ Это нужно показать врачу сегодня")
    assert "020 7946 0000" in reply["text"]
    assert words in card["text"] and "written in Russian (ru)" in card["text"]
    assert "URGENT" in card["text"] and "pus" in card["text"]


async def test_unreadable_message_goes_to_staff_within_14_days(bot: BotHarness) -> None:
    await patient(bot, 503, days_ago=2)
    await bot.conversation.log.flush()
    before_log = await bot.repo.messages.count(503)
    words = "¿Me pueden decir la dirección exacta de la clínica?"
    reply, (card,) = await writes(bot, 503, words, "es", cards=1)
    assert reply["text"].startswith("Solo sé leer mensajes en inglés")
    assert "Glow Clinic" in reply["text"] and "112" in reply["text"]
    assert words in card["text"]
    assert "written in Spanish (es), which the bot cannot read" in card["text"]
    assert "ROUTINE REVIEW" not in card["text"] and "routine review" not in card["text"]
    await bot.conversation.log.flush()  # the message and the reply are in the patient's log
    assert await bot.repo.messages.count(503) == before_log + 2


async def test_routine_review_in_german_says_so_on_the_staff_card(bot: BotHarness) -> None:
    await patient(bot, 509, days_ago=3)
    words = "die Schwellung an der Wange wird einfach nicht besser"
    reply, (card,) = await writes(bot, 509, words, "de", cards=1)
    # like the English routine review: what to watch for, in German, and passed on
    assert reply["text"].startswith("Etwas Rötung oder Schwellung kann in dieser Phase noch")
    assert "an das Team der Klinik „Glow Clinic“ weitergeleitet" in reply["text"]
    assert "melden Sie sich bei der Klinik „Glow Clinic“ (020 7946 0000)" in reply["text"]
    assert "112" in reply["text"]  # the safety net
    assert "nur Nachrichten auf Englisch" not in reply["text"]
    assert words in card["text"]  # the patient's words, untranslated
    assert "ROUTINE REVIEW swelling_not_improving" in card["text"]  # what the bot read
    assert "swelling still there on day 3-4" in card["text"]  # the English rule, as in English
    assert "written in German (de) and recognised in German as a routine review" in (
        card["text"])
    assert "cannot read" not in card["text"]


async def test_routine_review_in_german_on_a_recognised_topic_says_so_too(
        bot: BotHarness) -> None:
    await patient(bot, 510, days_ago=3)
    words = "die Rötung wird nicht besser"
    reply, (card,) = await writes(bot, 510, words, "de", cards=1)
    assert "It's day 3 since your treatment" in reply["text"]  # the English redness answer
    assert "das Team der Klinik „Glow Clinic“ hat Ihre Nachricht auch" in reply["text"]
    assert words in card["text"]
    assert "ROUTINE REVIEW redness_not_improving" in card["text"]
    assert "recognised in German as a routine review" in card["text"]
    assert "cannot read" not in card["text"]


async def test_unreadable_german_in_the_review_days_keeps_the_unreadable_reason(
        bot: BotHarness) -> None:
    await patient(bot, 511, days_ago=3)
    words = "Wie lautet die Adresse der Klinik?"
    reply, (card,) = await writes(bot, 511, words, "de", cards=1)
    assert reply["text"].startswith("Ich kann nur Nachrichten auf Englisch lesen. Deshalb habe")
    assert words in card["text"]
    assert "written in German (de), which the bot cannot read" in card["text"]
    assert "ROUTINE REVIEW" not in card["text"] and "routine review" not in card["text"]


async def test_everyday_question_in_spanish_is_answered_and_still_goes_to_staff(
        bot: BotHarness) -> None:
    await patient(bot, 507, days_ago=2)
    words = "¿Puedo ir a la piscina este fin de semana?"
    reply, (card,) = await writes(bot, 507, words, "es", cards=1)
    assert "keep out of pools" in reply["text"]  # the English swimming answer for day 2
    assert ("Le respondo en inglés; el equipo de la clínica «Glow Clinic» también tiene su "
            "mensaje") in reply["text"]
    assert "112" in reply["text"]  # the safety net, in Spanish
    assert words in card["text"]


async def test_everyday_question_in_german_after_14_days_gets_only_the_answer(
        bot: BotHarness) -> None:
    await patient(bot, 508, days_ago=20)
    reply, _ = await writes(bot, 508, "Kann ich heute joggen gehen?", "de", cards=0)
    assert "exercise" in reply["text"].lower() or "workout" in reply["text"].lower()
    assert "Team der Klinik" not in reply["text"]  # nothing was passed on


async def test_unreadable_message_after_14_days_is_only_answered(bot: BotHarness) -> None:
    await patient(bot, 504, days_ago=20)
    reply, _ = await writes(bot, 504, "Wie lautet die Adresse der Klinik?", "de", cards=0)
    assert reply["text"].startswith("Entschuldigung, ich kann nur Nachrichten auf Englisch")
    assert "an die Klinik „Glow Clinic“ (020 7946 0000)" in reply["text"]


async def test_unreadable_message_with_no_session_is_only_answered(bot: BotHarness) -> None:
    await patient(bot, 505, days_ago=None)
    reply, _ = await writes(bot, 505, "Qual è l'indirizzo della clinica?", "it", cards=0)
    assert reply["text"].startswith("Mi dispiace, so leggere solo messaggi in inglese")


async def test_english_with_a_foreign_telegram_stays_english(bot: BotHarness) -> None:
    await patient(bot, 506, days_ago=1)
    reply, _ = await writes(bot, 506, "can I wear makeup tomorrow?", "es", cards=0)
    assert "makeup" in reply["text"].lower()
