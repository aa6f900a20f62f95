"""Issue 13 end to end through the fake Bot API: the staff card carries the patient's own words,
a figurative red flag escalates with its sign-specific advice, an unsure symptom gets the day's
guidance with Yes / No rule-out buttons, Yes escalates at once and No is recorded."""

from __future__ import annotations

import datetime as dt

from tests.bot_harness import STAFF_CHAT, START, BotHarness, button_data


async def test_figurative_red_flag_reaches_staff_in_the_patients_words(bot: BotHarness) -> None:
    await bot.onboard(41, first_name="Ivy")
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=41)
    words = "omg my lips have blown up like a balloon"
    (reply,) = await bot.say(41, words)
    assert reply["text"].startswith("⚠️") and "999" in reply["text"]
    assert "sit upright" in reply["text"]  # the airway group's "what to do now"
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert alert["text"].startswith("EMERGENCY: Ivy")
    assert words in alert["text"]
    assert bot.fake.violations == []


async def test_urgent_advice_is_specific_to_the_sign(bot: BotHarness) -> None:
    await bot.onboard(42)
    await bot.repo.treatments.add(START.date() - dt.timedelta(days=9), "staff", telegram_id=42)
    (pigment,) = await bot.say(42, "new brown patches on my cheeks")
    (pus,) = await bot.say(42, "theres pus in a few spots and i feel shivery")
    assert "SPF" in pigment["text"] and "SPF" not in pus["text"]
    assert "temperature" in pus["text"] and "temperature" not in pigment["text"]


async def test_unsure_symptom_gets_guidance_and_rule_out_buttons_yes_escalates(
        bot: BotHarness) -> None:
    await bot.onboard(43, first_name="Noa")
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=43)
    words = "i feel a bit sick and dizzy"
    (reply,) = await bot.say(43, words)
    assert "treatment day" in reply["text"]  # the day's guidance
    assert "do you have any of these right now" in reply["text"]
    assert button_data(reply)[:2] == ["fu:airway:y", "fu:airway:n"]
    assert await bot.repo.reports.queue() == []  # nothing raised yet
    (advice, *_) = await bot.press(43, reply, "fu:airway:y")
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    (alert,) = await bot.fake.wait_for_messages(STAFF_CHAT, 1)
    assert alert["text"].startswith("EMERGENCY: Noa") and words in alert["text"]
    (report,) = await bot.repo.reports.queue()
    assert (report.urgency, report.telegram_id) == ("emergency", 43)
    assert "no longer active" in await bot.press_again(43, reply, "fu:airway:y")
    assert bot.fake.violations == []


async def test_rule_out_no_is_recorded_and_raises_nothing(bot: BotHarness) -> None:
    await bot.onboard(44)
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=44)
    (reply,) = await bot.say(44, "my face has blown up like a balloon")
    assert button_data(reply)[:2] == ["fu:airway:y", "fu:airway:n"]
    (answer, *_) = await bot.press(44, reply, "fu:airway:n")
    assert "noted" in answer["text"]
    assert await bot.repo.reports.queue() == []
    await bot.conversation.log.flush()
    assert await bot.repo.messages.count(44) == 4  # message, reply, the tap, the acknowledgement


async def test_a_forged_rule_out_tap_does_nothing(bot: BotHarness) -> None:
    await bot.onboard(45)
    (reply,) = await bot.say(45, "can i wear makeup")
    assert "no longer active" in await bot.press_again(45, reply, "fu:infection:y")
    assert await bot.repo.reports.queue() == []
