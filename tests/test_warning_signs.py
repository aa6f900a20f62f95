"""Questions ABOUT warning signs: a red flag only asked about ("what if my lips swell?"), asked
in general ("when should I worry?") or told of someone else's past ("my friend's lips swelled
after hers, should I worry?") raises no alert and is answered with the knowledge base's
``warning_signs`` entry, led by the sign's own line (``knowledge/sign_advice.yaml``, ``asked``),
with the rule-out question triage already chose. A report of the patient's own sign now
escalates as before; other topics keep their answers. The class cases are in
``tests/data/answer_classes.yaml``; the end-to-end test drives the fake Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.advisor import WARNING_SIGNS, Advisor, Clinic
from knowledge.signdata import AskedLine, SignData, _asked_problems, load_sign_data
from knowledge.triage import load_triage
from tests.advisors import shipped
from tests.bot_harness import STAFF_CHAT, START, BotHarness

pytestmark = pytest.mark.xdist_group("triage")


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic", contact="020 7946 0000",
                          emergency="112 (EU) or 999 (UK)"))


def test_a_red_flag_asked_about_gets_its_line_then_the_warning_signs(advisor: Advisor) -> None:
    advice = advisor.ask("what if my lips swelled?", 1)
    assert (advice.kind, advice.topic, advice.escalate) == ("answered", WARNING_SIGNS, False)
    line, rest = advice.answer.split("\n\n", 1)
    assert "lips, tongue or throat" in line and "(112 (EU) or 999 (UK))" in line  # the clinic's
    assert rest.startswith("It's day 1 since your treatment.")  # day-aware
    assert "Contact the clinic the same day" in rest
    assert advice.follow_up is not None and advice.follow_up.id == "airway"  # kept
    assert advice.triage is not None and advice.triage.asked[0] == "airway_swelling"


def test_the_line_is_the_named_signs_and_the_answer_the_days(advisor: Advisor) -> None:
    infection = advisor.ask("should i worry if i get pus?", 3)
    eyes = advisor.ask("suppose my eye started watering, is that a worry?", 0)
    assert infection.topic == eyes.topic == WARNING_SIGNS
    assert "can mean an infection" in infection.answer and "Glow Clinic" in infection.answer
    assert "Eye pain" in eyes.answer and "can mean an infection" not in eyes.answer
    assert "It's day 3" in infection.answer and "most redness gone" in infection.answer
    assert "the day 0" not in eyes.answer and "redness like a mild sunburn" in eyes.answer
    unknown = advisor.ask("should i worry if i get pus?", None)
    assert "It's day" not in unknown.answer and "What is normal depends on the day" in \
        unknown.answer


def test_someone_elses_past_story_gets_the_warning_signs_without_an_alert(
        advisor: Advisor) -> None:
    for text in ("my friend said her lips swelled, should i worry?",
                 "my sister's face swelled up after her session last year, is that normal?"):
        advice = advisor.ask(text, None)
        assert (advice.topic, advice.escalate) == (WARNING_SIGNS, False), text


def test_general_questions_get_the_warning_signs(advisor: Advisor) -> None:
    for text in ("what are the signs of an infection?", "when should I worry?",
                 "how do I know if something is wrong",
                 "what does an allergic reaction look like"):
        advice = advisor.ask(text, 2)
        assert (advice.topic, advice.escalate) == (WARNING_SIGNS, False), text
        assert "emergency number" in advice.answer, text


def test_own_red_flag_now_still_escalates_exactly_as_before(advisor: Advisor) -> None:
    for text, tier in (("my lips are swelling", "emergency"),
                       ("i cant breathe properly", "emergency"),
                       ("there's pus coming out of a spot on my cheek", "urgent")):
        advice = advisor.ask(text, 2)
        assert advice.kind == "escalated" and advice.urgency == tier, text
        assert advice.topic == f"red_flag.{advice.triage.sign if advice.triage else ''}"
        assert "Warning signs" not in advice.answer and "can mean an infection" not in \
            advice.answer, text


def test_other_topics_keep_their_answers(advisor: Advisor) -> None:
    for text, topic in (("how long does the swelling last", "swelling"),
                        ("when can i get lip filler", "botox_fillers"),
                        ("what if I'm allergic to the numbing cream?", "other_conditions"),
                        ("i have brown skin, could this give me dark marks", "skin_types")):
        advice = advisor.ask(text, None)
        assert (advice.topic, advice.escalate) == (topic, False), text


def test_a_second_question_beside_the_hypothetical_keeps_its_answer(advisor: Advisor) -> None:
    advice = advisor.ask("what if i get a fever, how much does a session cost?", 3)
    assert (advice.topic, advice.escalate) == ("contact_clinic", False)
    line, rest = advice.answer.split("\n\n", 1)
    assert "can mean an infection" in line and "Prices" in rest
    alone = advisor.ask("what if i get a fever, is that normal?", 3)
    assert alone.topic == WARNING_SIGNS  # the rest alone is not the answer given


def test_someone_elses_illness_now_stays_everyday(advisor: Advisor) -> None:
    advice = advisor.ask("my daughter felt dizzy at school last week, is that normal", None)
    assert advice.kind == "abstained" and advice.extra.get("scope") == "everyday"


def test_the_triage_tier_is_untouched_by_what_was_asked() -> None:
    """``asked`` only names signs; the decision for a question stays no alert."""
    triage = load_triage()
    decision = triage.assess("what if my throat swells up?", 0)
    assert decision.urgency is None and decision.sign is None
    assert decision.asked == ("airway_swelling",) and decision.follow_up == "airway"
    assert triage.assess("no pus, no fever", 3).asked == ()  # denied, not asked
    assert triage.assess("my throat is swelling up", 0).urgency == "emergency"


def test_every_asked_sign_has_a_line_and_kb_check_names_the_gaps() -> None:
    data = load_sign_data()
    triage = load_triage(compile_now=False)
    known = {sign.id: sign for sign in triage.signs}
    assert _asked_problems(data, known, None) == []
    line = data.asked["airway_swelling"]
    broken = SignData(data.advice, data.advice_lines, data.questions, data.yes_label,
                      data.no_label, data.groups,
                      {**{k: v for k, v in data.asked.items() if k != "vision_loss"},
                       "no_such_sign": line,
                       "fever": AskedLine("broken", "x", ("no_such_entry",), line.path,
                                          line.line)})
    reasons = [p.reason for p in _asked_problems(broken, known, {"swelling", "redness"})]
    assert any("'vision_loss'" in r and "no 'asked' line" in r for r in reasons), reasons
    assert any("unknown sign id 'no_such_sign'" in r for r in reasons), reasons
    assert any("unknown entry 'no_such_entry'" in r for r in reasons), reasons


def test_the_kb_entry_is_written_from_the_guidance_not_read_from_it() -> None:
    kb = Path(__file__).parent.parent / "knowledge" / "kb" / "warning_signs.yaml"
    assert "shared" not in kb.read_text(encoding="utf-8")


async def test_a_hypothetical_red_flag_gets_the_warning_signs_and_no_staff_card(
        bot: BotHarness) -> None:
    await bot.onboard(46, first_name="Lou")
    await bot.repo.treatments.add(START.date(), "staff", telegram_id=46)
    (reply,) = await bot.say(46, "what would happen if my lips started swelling up tonight?")
    text = reply["text"]
    assert "call the emergency number" in text and "999" in text
    assert "Contact the clinic the same day" in text  # the warning signs
    # laid out for a phone: each group its own paragraph, one sign a line, through Telegram HTML
    assert "\n\nCall the emergency number (999, 112 or 911) at once for:\n• swelling" in text
    assert "\n\nContact the clinic the same day for:\n• pus" in text
    assert "\n\nIf you have any of these signs now" in text
    print(text)  # (shown with -s)
    assert not text.startswith("⚠️")  # no escalation reply
    assert await bot.repo.reports.queue() == []
    assert bot.fake.sent_messages(STAFF_CHAT) == []  # no staff card
    assert bot.fake.violations == []


def test_chat_digits_read_as_words_only_between_the_words_they_join() -> None:
    """A chat "2" or "4" is "to" or "for" where it joins a verb of needing, going, watching or
    asking to what follows ("need 2 call u", "go 2 a&e", "watch 4 signs"), never a number of
    something ("need 2 sessions", "day 2", "4 days")."""
    from knowledge.text import fold

    assert fold("wen do i need 2 call u") == "when do i need to call you"
    assert fold("wot symptoms mean go 2 a&e") == "what symptoms mean go to a e"
    assert fold("wat signs shud i watch 4") == "what signs should i watch 4"
    assert fold("wat signs shud i watch 4 after") == "what signs should i watch for after"
    assert fold("i need 2 sessions") == "i need 2 sessions"
    assert fold("day 2 and 4 days in") == "day 2 and 4 days in"


def test_a_chat_spelling_of_a_sign_is_read_by_the_warning_questions(advisor: Advisor) -> None:
    """A warning-signs frame reads a sign typed with its g dropped (the project's ``Speller``
    toward the frame file's words): "when would i ring you about the bleedin" is the warning
    signs, and a chat word it does not know changes nothing."""
    from knowledge.text import fold
    from knowledge.warning_questions import load_warning_questions

    questions = load_warning_questions()
    assert questions.frame(fold("wen wud i ring u about the bleedin")) == "when_call_about_sign"
    assert questions.frame(fold("wen wud i ring u about the booking")) is None
