"""The whole answer a patient gets: red flags first and never reassured away, day-aware
answers that name the day, suggestions, abstentions with a hand-off, small talk, and the
``aftercare ask`` command in its three forms."""

from __future__ import annotations

import json

import pytest

from knowledge.advisor import Advisor, Clinic
from tests.advisors import shipped
from tests.cli import Result, aftercare


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic", contact="020 7946 0000"))


def test_makeup_depends_on_the_recovery_day(advisor: Advisor) -> None:
    day0 = advisor.ask("can I wear makeup yet?", 0)
    day1 = advisor.ask("can I wear makeup yet?", 1)
    day3 = advisor.ask("can I wear makeup yet?", 3)
    unknown = advisor.ask("can I wear makeup yet?", None)
    assert {a.topic for a in (day0, day1, day3, unknown)} == {"makeup"}
    assert "day 0" in day0.answer and "skip all makeup" in day0.answer
    assert "It's day 1 since your treatment" in day1.answer and "mineral" in day1.answer.lower()
    assert "It's day 3 since your treatment" in day3.answer
    assert "usual makeup is fine" in day3.answer
    assert "depends" in unknown.answer and "It's day" not in unknown.answer


def test_gym_not_yet_on_day_1_but_yes_on_day_3(advisor: Advisor) -> None:
    early = advisor.ask("when can I go to the gym?", 1)
    later = advisor.ask("when can I go to the gym?", 3)
    assert early.topic == later.topic == "exercise"
    assert early.answer != later.answer
    assert "not yet" in early.answer.lower() or "no " in early.answer.lower()


@pytest.mark.parametrize(("text", "day", "urgency"), [
    ("my lips are swelling and I can't breathe properly", 0, "emergency"),
    ("there's pus coming out of a few spots", 3, "urgent"),
    ("I don't think it's infected but there's yellow crust spreading", 4, "urgent"),
    ("redness is getting worse and it's hot", 4, "urgent"),
])
def test_red_flags_escalate_before_any_faq_answer(advisor: Advisor, text: str, day: int,
                                                  urgency: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.escalate and advice.urgency == urgency and advice.kind == "escalated"
    assert advice.triage is not None and advice.triage.reason
    assert "Glow Clinic" in advice.answer
    if urgency == "emergency":
        assert "emergency number now" in advice.answer
    else:
        assert "today" in advice.answer and "020 7946 0000" in advice.answer


def test_red_flag_wins_even_inside_an_faq_question(advisor: Advisor) -> None:
    advice = advisor.ask("can I wear makeup? there is pus on my cheek", 2)
    assert advice.urgency == "urgent" and "mineral" not in advice.answer.lower()  # no FAQ


def test_normal_symptom_is_answered_not_escalated(advisor: Advisor) -> None:
    advice = advisor.ask("no pus, no fever, just a bit red", 1)
    assert not advice.escalate


def test_day_3_strong_redness_not_improving_is_a_routine_review(advisor: Advisor) -> None:
    advice = advisor.ask("still really red", 3)
    assert not advice.escalate and advice.routine_review
    assert "photo" in advice.answer


@pytest.mark.parametrize(("text", "scope"), [
    ("can you prescribe antibiotics", "dosing"),
    ("how many mg of paracetamol can i take", "dosing"),
    ("is this mole cancer", "diagnosis"),
    ("how long does botox last", "other_treatments"),
    ("how much is botox", "other_treatments"),  # another treatment's price (guidance §4)
    ("do I have rosacea?", "diagnosis"),
    ("is microneedling better than botox for wrinkles", "other_treatments"),
    ("what time does the supermarket shut tonight", "everyday"),
    ("is the gym open on sunday", "everyday"),
    ("can you book me a table for two", "everyday"),
    ("whats the weather like tomorrow", "everyday"),
    ("best razor for shaving my legs", "everyday"),
])
def test_out_of_scope_abstains_with_a_handoff(advisor: Advisor, text: str, scope: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "abstained" and advice.topic is None and advice.offer_handoff
    assert advice.extra.get("scope") == scope


@pytest.mark.parametrize("text", ["how much is microneedling", "do you do payment plans",
                                  "what does a course of three cost"])
def test_money_questions_are_routed_to_the_clinic_with_a_handoff(advisor: Advisor,
                                                                 text: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "answered" and advice.topic == "contact_clinic"
    assert "payment" in advice.answer and advice.offer_handoff


@pytest.mark.parametrize(("text", "topic"), [
    ("can i go to the gym tomorrow", "exercise"),
    ("is it ok to shave my beard yet", "shaving"),
    ("can i book my next session", "next_booking"),
])
def test_everyday_words_do_not_hide_aftercare_questions(advisor: Advisor, text: str,
                                                        topic: str) -> None:
    assert advisor.ask(text, 8).topic == topic


def test_unrelated_question_abstains_and_offers_the_clinic(advisor: Advisor) -> None:
    advice = advisor.ask("what car should I buy", None)
    assert advice.kind == "abstained" and advice.topic is None
    assert "pass your question to Glow Clinic" in advice.answer


def test_gibberish_gets_sorry_and_suggestions(advisor: Advisor) -> None:
    for text in ("asdfgh", "🙈🙈🙈"):
        advice = advisor.ask(text, None)
        assert advice.topic is None and "didn't catch that" in advice.answer
        assert 2 <= len(advice.suggestions) <= 3


@pytest.mark.parametrize("text", ["hi", "Thanks!", "thank you so much x", "ok", "bye"])
def test_small_talk_gets_a_friendly_line(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 1)
    assert advice.kind == "smalltalk" and not advice.suggestions and not advice.escalate


def test_suggestion_answers_by_entry(advisor: Advisor) -> None:
    advice = advisor.answer_entry("swimming", 5)
    assert advice is not None and advice.topic == "swimming" and "day 5" in advice.answer
    assert advisor.answer_entry("no_such_entry", 5) is None


def test_json_shape_topic_null_exactly_when_abstaining_or_suggesting(advisor: Advisor) -> None:
    for text in ("can i wear makeup", "what car should i buy", "is it ok to use it", "pus", "hi"):
        advice = advisor.ask(text, 2)
        data = advice.to_json()
        assert set(data) == {"answer", "topic", "confidence", "escalate", "urgency",
                             "suggestions", "language", "follow_up", "triage"}
        assert (data["triage"] is None) == (not advice.escalate)
        assert data["language"] == "en"
        assert (data["topic"] is None) == (advice.kind in {"abstained", "suggested"})
        assert 0.0 <= data["confidence"] <= 1.0


def run_cli(*args: str, stdin: str = "") -> Result:
    return aftercare(None, *args, stdin=stdin)


def test_ask_command_plain_and_json() -> None:
    plain = run_cli("ask", "--day", "0", "can", "I", "wear", "makeup?")
    assert plain.returncode == 0 and "skip all makeup" in plain.stdout
    data = json.loads(run_cli("ask", "--json", "--day", "3", "can I wear makeup?").stdout)
    assert data["topic"] == "makeup" and data["escalate"] is False and data["urgency"] is None
    assert "It's day 3" in data["answer"]


def test_ask_batch_reads_json_lines_in_order() -> None:
    lines = [{"text": "can I wear makeup", "day": 0}, {"text": "pus on my cheek", "day": 3},
             {"text": "how much is microneedling", "day": None}] * 200
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = run_cli("ask", "--json", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 600
    assert [o["topic"] for o in out[:3]] == ["makeup", "red_flag.infection_pus", "contact_clinic"]
    assert out[1]["urgency"] == "urgent" and out[1]["escalate"] is True


def test_ask_batch_reports_bad_lines_and_keeps_going() -> None:
    result = run_cli("ask", "--json", stdin='{"text": "gym?"}\nnot json\n{"day": 2}\n')
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["topic"] == "exercise"
    assert out[1] == {"error": "line 2: not valid JSON (Expecting value)"}
    assert "line 3" in out[2]["error"]
    assert result.returncode == 1


@pytest.mark.parametrize(("text", "topic"), [
    ("is it safe?", "about_microneedling"),
    ("how does it work", "about_microneedling"),
    ("what is microneedling", "about_microneedling"),
    ("what's normal after microneedling", "normal_course"),
    ("can i go to work tomorrow", "downtime"),
])
def test_questions_without_a_topical_word_are_matched_as_phrases(advisor: Advisor, text: str,
                                                                 topic: str) -> None:
    assert advisor.ask(text, None).topic == topic


def test_a_bare_phrase_that_is_not_a_known_question_is_not_answered(advisor: Advisor) -> None:
    for text in ("is it raining", "what is love", "is it brexit"):
        assert advisor.ask(text, None).kind != "answered", text


@pytest.mark.parametrize(("text", "topic"), [
    ("face is a bit puffy this morning", "swelling"),
    ("skin feels warm and flushed tonight", "redness"),
    ("my skin is peeling round my nose", "dryness_flaking"),
])
def test_statements_of_normal_symptoms_get_the_days_answer(advisor: Advisor, text: str,
                                                           topic: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "answered" and advice.topic == topic and "day 2" in advice.answer


def test_thanks_with_praise_is_small_talk(advisor: Advisor) -> None:
    assert advisor.ask("thank you so much that's really helpful", None).kind == "smalltalk"
