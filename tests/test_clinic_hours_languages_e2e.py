"""Clinic hours in the patient's language, end to end (the real Application, the fake Bot
API, an injected clock): a message the bot cannot read, or urgent advice in another language,
says while the clinic is closed when it opens (weekday, date and time in that language) and
what to do if it can't wait; the same message by day makes no such promise. Every language
file carries these sentences, checked when it is loaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.advisor import Advisor
from knowledge.errors import KBError
from knowledge.multilingual import load_lexicons
from tests.advisors import packaged_rules
from tests.bot_harness import STAFF_CHAT, BotHarness, running_bot
from tests.fake_telegram import FakeTelegram
from tests.test_languages_e2e import settle

LONDON = ZoneInfo("Europe/London")
NURSE, DOCTOR = 9001, 9002
SUNDAY_2AM = dt.datetime(2026, 11, 29, 2, 0, tzinfo=LONDON).astimezone(dt.UTC)
HOURS = {"AFTERCARE_OPENING_HOURS": "mon-fri 09:00-17:30; sat 10:00-14:00",
         "AFTERCARE_OUT_OF_HOURS_CONTACT": "NHS 111",
         "AFTERCARE_STAFF_IDS": f"{NURSE},{DOCTOR}", "AFTERCARE_ONCALL_IDS": str(DOCTOR)}
LANGUAGES = ("ar", "de", "es", "fr", "it", "pl", "pt", "ru", "tr", "uk")


@pytest.fixture
async def night(fake_telegram: FakeTelegram, tmp_path: Path,
                advisor: Advisor) -> AsyncIterator[BotHarness]:
    async for harness in running_bot(fake_telegram, tmp_path, advisor, start=SUNDAY_2AM,
                                     **HOURS):
        yield harness


async def treated(bot: BotHarness, user_id: int, days_ago: int) -> None:
    await bot.onboard(user_id, "Lucía")
    await settle(bot)
    await bot.repo.treatments.add(bot.clock.now.date() - dt.timedelta(days=days_ago), "staff",
                                  telegram_id=user_id)


async def writes(bot: BotHarness, user_id: int, text: str, language_code: str) -> str:
    before = len(bot.fake.sent_messages(user_id))
    bot.fake.user_message(user_id, text, first_name="Lucía", language_code=language_code)
    (reply,) = await bot.replies_after(user_id, before, 1)
    return str(reply["text"])


async def test_unreadable_message_at_night_says_when_the_clinic_opens_in_spanish(
        night: BotHarness) -> None:
    bot = night
    await treated(bot, 601, days_ago=2)
    reply = await writes(bot, 601, "¿Cuál es la dirección exacta de la clínica?", "es")
    assert reply.startswith("Solo sé leer mensajes en inglés")
    assert ("La clínica está cerrada ahora; el equipo le responderá cuando vuelva a abrir, el "
            "lunes 30 de noviembre a las 09:00 (hora de Europe/London). Si no puede esperar, "
            "llame al NHS 111") in reply
    await bot.fake.wait_for_messages(STAFF_CHAT, 1)  # still forwarded to staff


async def test_urgent_advice_in_russian_at_night_names_the_opening_and_the_on_call_copy(
        night: BotHarness) -> None:
    bot = night
    await treated(bot, 602, days_ago=3)
    reply = await writes(bot, 602, "из прыщиков идёт гной, щека горячая", "ru")
    assert reply.startswith("⚠️ Это нужно показать врачу сегодня")
    assert "Клиника сейчас закрыта. Откроется: понедельник, 30 ноября, 09:00" in reply
    assert "дежурному сотруднику" in reply and "позвоните по номеру NHS 111" in reply
    (copy,) = await bot.fake.wait_for_messages(DOCTOR, 1)  # the on-call doctor has the card
    assert "URGENT" in copy["text"] and "written in Russian (ru)" in copy["text"]


async def test_by_day_the_german_urgent_advice_names_no_closing(night: BotHarness) -> None:
    bot = night
    bot.clock.now = dt.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON).astimezone(dt.UTC)
    await treated(bot, 603, days_ago=3)
    reply = await writes(bot, 603, "Aus den Pickeln kommt gelber Eiter", "de")
    assert "Das sollte heute angesehen werden" in reply
    assert "geschlossen" not in reply
    await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert bot.fake.sent_messages(DOCTOR) == []


def test_every_language_names_weekdays_months_and_closed_sentences() -> None:
    lexicons = load_lexicons(packaged_rules().signs)
    for code in LANGUAGES:
        texts = lexicons.texts(code)
        assert texts is not None, code
        hours = texts.get("hours")
        assert hours, code
        assert len(hours["weekdays"]) == 7 and len(hours["months"]) == 12
        for key in ("urgent_closed", "urgent_closed_oncall", "handoff_closed"):
            assert "{opening}" in hours[key] and "{fallback}" in hours[key], (code, key)
        assert "{contact}" in hours["fallback_contact"]


def test_a_broken_hours_section_is_refused_with_file_and_line(tmp_path: Path) -> None:
    good = (Path(__file__).parent.parent / "knowledge" / "languages" / "es.yaml").read_text(
        encoding="utf-8")
    bad = good.replace('"{weekday} {day} de {month} a las {time} ({zone})"',
                       '"{weekday} {dia}"').replace('"domingo"]', '"domingo", "otro"]')
    (tmp_path / "es.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(KBError) as caught:
        load_lexicons(packaged_rules().signs, tmp_path)
    text = str(caught.value)
    assert "es.yaml" in text and "hours.when: bad placeholder" in text
    assert "hours.weekdays must list 7 names" in text
