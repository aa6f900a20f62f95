"""The answer-quality classes found on blind batch 7, fixed as classes, through ``Advisor.ask``.

Each class has phrasings of our own (never a blind batch's words): a laugh ("lol", "haha") never
names a message's topic, so it cannot turn an aftercare statement into something else; short
English slang acknowledgements are small talk, not another language; clipped and brand names of
the topics' things (the acne tablet, needling pens, online shops) read as the things; one shared
word with another domain (a sport fixture, an election, banking, another therapy's sessions, a
venue's facilities, a disease's symptoms in general) is no aftercare question.
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor, Clinic


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(clinic=Clinic(name="Glow Clinic", contact="020 7946 0000"))


@pytest.mark.parametrize(("text", "topic"), [
    ("little red dots on the pillowcase haha", None),  # not another thing: answered or offered
    ("can i wax my top lip on sunday lol", "waxing_threading"),
    ("booze at the party tonight lmao", "alcohol"),
])
def test_a_laugh_never_makes_an_aftercare_message_everyday(advisor: Advisor, text: str,
                                                           topic: str | None) -> None:
    advice = advisor.ask(text, 2)
    assert advice.extra.get("scope") is None, (text, advice.extra)
    if topic is not None:
        assert advice.kind == "answered" and advice.topic == topic, (text, advice.topic)


@pytest.mark.parametrize("text", ["lush", "mint", "grand", "smashing", "brill thanks",
                                  "spot on"])
def test_short_english_slang_acknowledgements_are_small_talk(advisor: Advisor,
                                                              text: str) -> None:
    advice = advisor.ask(text, 4)
    assert advice.kind == "smalltalk", (text, advice.kind, advice.extra)


@pytest.mark.parametrize(("text", "topic"), [
    ("on accutane atm, can i still book", "isotretinoin"),
    ("finished my roacc course last month", "isotretinoin"),
    ("got a skinpen from ebay, is it ok to use at home", "home_needling"),
])
def test_clipped_and_brand_names_read_as_the_thing(advisor: Advisor, text: str,
                                                   topic: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", [
    "who won the penalties last night",  # a sport fixture
    "when do the polls close for the local elections",
    "whats a good interest rate on a cash isa",  # banking
    "is a course of acupuncture good for stress",  # another therapy's sessions
    "is the pool at the hotel heated",  # a venue's rules for its facilities
    "what are the early signs of meningitis",  # a disease's symptoms in general
])
def test_another_domains_frame_is_out_of_scope(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "abstained" and advice.topic is None, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("can i go in the sauna at the gym on friday", "sauna_heat"),  # the patient's own plan
    ("how many sessions will i need for my scars", "sessions"),
    ("im diabetic, is microneedling ok for me", "other_conditions"),
])
def test_the_aftercare_frame_keeps_the_shared_word(advisor: Advisor, text: str,
                                                   topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("is it normal that my skin isnt firmer yet", 5, "results"),  # the skin improving: results
    ("how long till my face feels plumper", None, "results"),
    ("heading to the pub with the girls tonight", 1, "alcohol"),  # a trip to the pub: a drink
    ("off down the pub later, is that ok", 2, "alcohol"),
])
def test_the_goal_of_the_question_decides_the_near_topic(advisor: Advisor, text: str,
                                                         day: int | None, topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", ["when should i get my next one booked in",
                                  "can the next one be in a month"])
def test_the_next_one_is_the_next_treatment(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "next_booking", (text, advice.kind,
                                                                           advice.topic)
