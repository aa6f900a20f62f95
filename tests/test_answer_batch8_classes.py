"""The answer-quality classes found on blind batch 8, fixed as classes, through ``Advisor.ask``.

Each class has phrasings of our own (never a blind batch's words): another business named by its
street, the fare of a ticket, a costume mask and quitting a habit for good are no aftercare
questions; chat time words with digits ("2moro", "2day") are English; the cold sore virus by its
name and the procedure by what it does read as their topics; a condition named by its keyword
leads whatever else the message asks.
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor, Clinic


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(clinic=Clinic(name="Glow Clinic", contact="020 7946 0000"))


@pytest.mark.parametrize("text", [
    "when does the nail bar on church road open",
    "what time does the hair salon in the precinct close",
    "how late is the launderette off victoria avenue open",
    "how much is a single bus fare into town",
    "price of an off peak rail ticket to york",
    "best way to give up vaping for good",
    "tips for stopping drinking once and for all",
    "where do people buy a spooky mask for trick or treat",
    "a rubber mask for my fancy dress costume",
])
def test_another_business_or_everyday_thing_is_out_of_scope(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "abstained" and advice.extra.get("scope") == "everyday", (
        text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("how much is a course of three sessions", "contact_clinic"),
    ("is the clinic on station road open on saturdays", "opening_hours"),
    ("can I have a cigarette tonight, trying to quit for good", "smoking"),
])
def test_the_clinic_and_the_patients_own_plans_are_still_answered(advisor: Advisor, text: str,
                                                                  topic: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("wax 2day or leave it", 3, "waxing_threading"),
    ("can i shave 2moro", 1, "shaving"),
])
def test_chat_time_words_with_digits_are_english(advisor: Advisor, text: str, day: int,
                                                 topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("always prone to herpes by my nose, does that matter", "cold_sores"),
    ("so how does poking holes in skin work", "about_microneedling"),
    ("preggers, can i still get my acne scars sorted", "pregnancy"),
])
def test_slang_for_a_topic_reads_as_the_topic(advisor: Advisor, text: str, topic: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day"), [
    ("what counts as normal over the first few days", 1),
    ("what is expected during the first week", None),
    ("swollen then tight then peeling, is that right?", 3),
    ("went red and then pink, is that the usual healing", 2),
])
def test_the_healing_course_as_a_whole_is_the_normal_course(advisor: Advisor, text: str,
                                                             day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == "normal_course", (
        text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day", "kind"), [
    ("sprained my ankle at netball, ice or heat", None, "abstained"),
    ("face is a bit sore, heat or ice?", 3, "answered"),
])
def test_heat_as_a_remedy_chosen_is_no_red_flag(advisor: Advisor, text: str, day: int | None,
                                                kind: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == kind, (text, advice.kind, advice.topic)


def test_skin_hot_and_sore_is_still_escalated(advisor: Advisor) -> None:
    advice = advisor.ask("there's heat coming off my cheeks and they hurt", 3)
    assert advice.kind == "escalated", advice.topic


@pytest.mark.parametrize(("text", "topic"), [
    ("would a peel in the beauty salon be ok this week", "other_treatments"),
    ("fancy a facial at my local spa, too soon?", "other_treatments"),
    ("can i go to the spa", "sauna_heat"),
])
def test_a_treatments_venue_says_where_not_what(advisor: Advisor, text: str, topic: str) -> None:
    advice = advisor.ask(text, 6)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)
