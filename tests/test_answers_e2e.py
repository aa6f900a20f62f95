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


async def test_a_thumbs_up_a_plan_and_an_insurance_question_end_to_end(bot: BotHarness) -> None:
    """Batch 6 classes as a patient meets them: a thumbs up is acknowledged (not "I don't have a
    reliable answer"), a wax on the weekend is answered rather than called another business,
    and an insurance question goes to the clinic with the hand-off (issue 15)."""
    await bot.onboard(42)
    (ack,) = await bot.say(42, "\U0001F44D")
    assert "questions about your aftercare" in ack["text"], ack["text"]
    (plan,) = await bot.say(42, "can i wax this saturday?")
    assert "outside what I know" not in plan["text"] and "wax" in plan["text"].lower()
    (money,) = await bot.say(42, "do you take bupa?")
    assert "insurance" in money["text"] and "team" in money["text"]
    assert button_data(money)[-1] == "handoff"
    assert bot.fake.violations == []
