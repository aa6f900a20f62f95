"""The answer-quality classes found on blind batch 6, fixed as classes, through ``Advisor.ask``.

Each class has phrasings of our own (never a blind batch's words): the patient's own plan (a
time or an occasion) is their aftercare question, not another thing or another business;
acknowledgements and friendly emoji are small talk; insurance and refunds abstain with the
hand-off while this treatment's prices go to the clinic; "your place" is the clinic; a normal
sting on day 0 is the pain answer, not the "bad smell" red flag one letter away ("stings" /
"stinks").
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor, Clinic
from knowledge.guards import smalltalk_kind


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(clinic=Clinic(name="Glow Clinic", contact="020 7946 0000"))


@pytest.mark.parametrize("text", ["it stings, any tips", "it stings a lot tonight",
                                  "it stings when i put my cream on"])
def test_a_normal_sting_is_not_the_bad_smell_red_flag(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 0)
    assert advice.kind != "escalated", (text, advice.topic)


@pytest.mark.parametrize("text", ["it stinks", "my face stinks, what can i do"])
def test_a_bad_smell_is_still_escalated(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "escalated" and advice.topic == "red_flag.infection_smell", text


@pytest.mark.parametrize(("text", "topic"), [
    ("can i wax this saturday?", "waxing_threading"),  # the object of "wax" is a day
    ("a peel in a fortnight, too soon?", "other_treatments"),
    ("microderm booked for next month, ok?", "other_treatments"),  # chat name of a treatment
    ("glass of bubbly at my birthday dinner tonight?", "alcohol"),  # sparkling wine is alcohol
    ("suncream for my holiday next week, which spf", "sun"),
    ("can i have a facial before my holiday", "other_treatments"),
])
def test_the_patients_own_plan_is_their_aftercare_question(advisor: Advisor, text: str,
                                                           topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", [
    "can i shave my dog this weekend",  # a plan, but the object is the dog
    "bouncy castle hire prices for a kids party",  # another business's price for an occasion
    "is the chippy open on sundays",
    "best workout routine for my abs",  # a routine for another part of the body
])
def test_another_thing_stays_out_of_scope_whatever_the_day(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "abstained" and advice.topic is None, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "kind"), [
    ("okey dokey", "ack"), ("righto", "ack"), ("will do", "ack"), ("no worries", "ack"),
    ("\U0001F44C", "ack"), ("\U0001F44D\U0001F3FD", "ack"), ("\u2705", "ack"),
    ("\U0001F64F\U0001F3FC", "thanks"), ("\u2764\ufe0f", "thanks"), ("\U0001F44B", "bye"),
])
def test_acknowledgements_and_friendly_emoji_are_small_talk(advisor: Advisor, text: str,
                                                            kind: str) -> None:
    assert smalltalk_kind(text) == kind, text
    advice = advisor.ask(text, 2)
    assert advice.kind == "smalltalk", (text, advice.kind)


@pytest.mark.parametrize("text", ["\U0001F62D", "\U0001F912", "\U0001F923\U0001F923", "no",
                                  "\U0001F44D\U0001F62D"])
def test_other_emoji_and_a_bare_no_are_not_small_talk(advisor: Advisor, text: str) -> None:
    assert smalltalk_kind(text) is None, text
    assert advisor.ask(text, 2).kind != "smalltalk", text


@pytest.mark.parametrize("text", ["do you take bupa?", "am i entitled to a refund if i cancel",
                                  "will my insurer pay for a course"])
def test_insurance_and_refunds_abstain_with_the_hand_off(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "abstained" and advice.offer_handoff, (text, advice.kind)
    assert advice.extra.get("scope") == "money_policy", text
    assert "insurance or refunds" in advice.answer and "Glow Clinic" in advice.answer


@pytest.mark.parametrize(("text", "topic"), [
    ("how much is a course of three", "contact_clinic"),  # this treatment's price: the clinic
    ("is doing it at home cheaper", "home_needling"),  # needling at home for less money
])
def test_money_routes_to_the_clinic_or_to_home_needling(advisor: Advisor, text: str,
                                                        topic: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", ["is ur clinic open late on thursdays",
                                  "is your salon open at the weekend",
                                  "are you guys open on bank holidays"])
def test_the_clinic_called_your_place_is_the_clinic(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "opening_hours", (text, advice.kind)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("results by the weekend?", 2, "results"),  # a time word says when, not what
    ("visible results in a fortnight?", 3, "results"),
    ("a glass of white with dinner tonight?", 1, "alcohol"),  # a glass of white is wine
    ("getting my eyebrows done on friday, ok?", 5, "waxing_threading"),  # brows done at a salon
    ("will it hurt later on", None, "pain"),  # hurt past the session is soreness
    ("i cant make it on friday, can we move it", None, "booking"),  # not making it: move it
    ("any free slots on thursday", None, "booking"),  # room in the diary
    ("can i use my niacinamide tonight", 1, "serums"),  # not one of the guidance's actives
])
def test_time_words_and_chat_phrases_find_their_entry(advisor: Advisor, text: str,
                                                      day: int | None, topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", ["how do i get hold of a nurse",
                                  "whats the best way to get in touch with you"])
def test_reaching_the_clinic_is_the_contact_entry(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "contact_clinic", (text, advice.topic)


@pytest.mark.parametrize("text", ["cold sore prone, any tips", "do i have to mention my cold sores",
                                  "i have herpes simplex so is it safe"])
def test_a_cold_sore_history_is_answered_not_escalated(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "cold_sores", (text, advice.kind)


@pytest.mark.parametrize("text", ["i have herpes on my lip", "should i tell you about my cold sore "
                                  "that came up today", "tingling on my lip and a blister"])
def test_a_cold_sore_now_is_still_escalated(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "escalated" and advice.topic == "red_flag.cold_sore", (text, advice.kind)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("ready for round 3, can i book", 30, "next_booking"),  # a numbered session is the next one
    ("would microneedling suit olive skin", None, "skin_types"),  # "skin" says nothing alone
    ("is microneedling fine for brown skin", None, "skin_types"),
    ("padel tonight ok?", 1, "exercise"),  # a sport is exercise
    ("5 a side on monday, ok?", 1, "exercise"),
])
def test_numbered_sessions_skin_types_and_sports_find_their_entry(
        advisor: Advisor, text: str, day: int | None, topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("i often get herpes round my lips, does that matter", None, "cold_sores"),  # lips: where
    ("how long will i look terrible", None, "downtime"),  # looking bad for days is downtime
    ("can i lay out in the garden this weekend", 3, "sun"),  # lying out is sunbathing
])
def test_where_how_bad_and_lying_out_find_their_entry(advisor: Advisor, text: str,
                                                      day: int | None, topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "day", "topic"), [
    ("im in my second trimester, is it safe", None, "pregnancy"),  # pregnancy by its stage
    ("no change at all after a week", 7, "results"),  # a change in the skin is the result
])
def test_a_trimester_and_a_change_find_their_entry(advisor: Advisor, text: str,
                                                   day: int | None, topic: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


def test_a_change_to_a_booking_is_still_the_booking(advisor: Advisor) -> None:
    advice = advisor.ask("any change to my booking?", None)
    assert advice.kind == "answered" and advice.topic == "booking", advice.topic
