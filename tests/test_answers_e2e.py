"""Everyday questions that share a word with a clinic topic, end to end through the fake Bot
API: the patient is told the bot only covers their aftercare and is offered the clinic, instead of
getting the clinic's opening hours or a day's aftercare answer; the same word about the patient's
own skin is still answered for the day."""

from __future__ import annotations

from tests.bot_harness import BotHarness, button_data


async def test_another_business_and_somebody_else_get_the_everyday_reply(bot: BotHarness) -> None:
    await bot.onboard(41)
    for text in ("what time does the launderette shut tonight",
                 "how do i get my nephew to wear sun cream"):
        (reply,) = await bot.say(41, text)
        assert "outside what I know" in reply["text"], text
        assert "open" not in reply["text"].lower() and "SPF" not in reply["text"], text
        assert button_data(reply)[-1] == "handoff", text
    (own,) = await bot.say(41, "can I wear makeup to my nephew's christening?")
    assert "makeup" in own["text"].lower() and "outside what I know" not in own["text"]
    assert bot.fake.violations == []
