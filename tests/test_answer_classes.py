"""The answer-quality failure classes found on blind batch 3, fixed as classes, through
``Advisor.ask``.

Each class has phrasings of our own (never a blind batch's words): everyday questions that share
one word with a clinic topic abstain because they are about somebody or something else; the same
words about the patient's own treated skin are still answered; chat spellings are read as the
knowledge base's words; money goes to the clinic; pleasantries are small talk.
``tests/data/answers_dev.yaml`` is the wider development set; it must stay at its figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rapidfuzz import fuzz, process, utils

from knowledge.advisor import Advisor, Clinic
from knowledge.guards import smalltalk_kind
from knowledge.loader import load_kb

DATA = Path(__file__).parent / "data"
DEV: list[dict[str, Any]] = yaml.safe_load((DATA / "answers_dev.yaml").read_text("utf-8"))
BLIND_SIMILARITY = 85.0  # token-sort similarity at which an example copies a blind message


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(clinic=Clinic(name="Glow Clinic", contact="020 7946 0000"))


@pytest.mark.parametrize("text", [
    # another business's hours or bookings, whatever its name
    "what time does the bakery on the corner shut",
    "is the dry cleaners open on a sunday",
    "when does lidl open tomorrow",
    "can i book a pedicure for next week",
    "how do i book a taxi to the airport",
    # another person or animal
    "my nephew has really dry skin, what should he use",
    "how do i get my daughter to wear sunscreen",
    "which sun cream is best for toddlers",
    "my friend is thinking of giving up vaping, any advice",
    "best flea treatment for my cat",
    # another thing
    "how do i clean the kitchen floor",
    "what is the best way to wash my trainers",
    "do i need to moisturise my suede jacket",
    # a part of the body that was not treated, an ailment that is not the treatment's
    "my heels are cracked, what cream should i use",
    "my feet get sweaty at the gym",
    "what helps with hay fever",
    "best thing for a toothache",
    # the world at large
    "will it be hot on saturday",
    "is there a good sauna round here",
    "where can i buy cheap sunglasses",
    "best face wash on the market",
    # drinks that are not alcohol, health in general
    "can i have a cup of tea",
    "how much water should i drink when it is hot",
    "is black coffee good for your heart",
    # more of the same classes: somebody else does or gets something, stains, the forecast
    "can my sister borrow my cleanser",
    "my rabbit keeps chewing the cables",
    "what should i give my toddler for teething",
    "what cream do i put on my baby for eczema",
    "how do i get foundation out of a cream jumper",
    "do you reckon it will be sunny in devon on friday",
    # things that are never the patient's skin, the calendar, pregnancy and something else
    "how do i stop the paint flaking on my fence",
    "can you eat bread that has gone dry",
    "is it ok to drink coffee when expecting",
    "what time do the clocks go forward",
    "how much is a train ticket to leeds",
    "what does the weather say, are we getting any sun on sunday",
    "the sun is supposed to come out this afternoon",
    "which makeup is ok for a 6 year old's disco",
    "my little boy wants his face painted for halloween",
    # another treatment in its own right, a diagnosis, supplements
    "is profhilo worth the money",
    "how long do skin boosters last",
    "whats the difference between hifu and microneedling",
    "could you say whether this patch is eczema",
    "are collagen supplements any good",
])
def test_everyday_questions_about_something_else_abstain(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "abstained" and advice.topic is None and advice.offer_handoff, (
        text, advice.kind, advice.topic)
    assert not advice.escalate


@pytest.mark.parametrize(("text", "topic"), [
    ("my wife is asking if she can go to the gym tomorrow after her treatment", "exercise"),
    ("my sister says i look sunburnt, is that normal", "redness"),
    ("can i wear foundation to my friends party tonight", "makeup"),
    ("what time do you open tomorrow", "opening_hours"),
    ("can i take ibuprofen for a headache", "painkillers"),
    ("is it ok to walk the dog today", "exercise"),
    ("its sunny, should i stay indoors", "sun"),
    ("can i wash my face with my usual cleanser", "washing"),
    ("when can i go back to having microdermabrasion", "other_treatments"),
    ("my brother reckons i look really red, is that normal", "redness"),
    ("can my boyfriend kiss my cheek", "touching_face"),
    ("my husband had it done yesterday, when can he shave", "shaving"),
    ("can i drink wine at my nephews christening", "alcohol"),
    ("can i wear foundation for my sisters hen weekend", "makeup"),  # an occasion, two words on
    ("my mum wants to come swimming with me on saturday, can i go", "swimming"),
    ("when do the little needle holes close, i want to wear makeup", "makeup"),  # skin, not a shop
    ("is it too early to sit out in the sun", "sun"),  # the sun on the patient, not the forecast
    ("will it matter if i catch a bit of sun at the park", "sun"),
    ("is ipl a problem so soon after microneedling", "other_treatments"),  # timing is aftercare
    ("is botox ok this week", "botox_fillers"),
])
def test_the_same_words_about_the_patients_own_skin_are_answered(advisor: Advisor, text: str,
                                                                 topic: str) -> None:
    advice = advisor.ask(text, 2)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("cn i hv a glass of cider", "alcohol"),  # chat shorthand, plural of a keyword
    ("swimmin ok now", "swimming"),  # dropped final g
    ("cncealer ok?", "makeup"),  # dropped vowel
    ("sprtan tmrw", "self_tan"),  # vowels dropped
    ("ciggies after dinner ok", "smoking"),
    ("wen can i go bk to the gym", "exercise"),
    ("itchier than yesterday", "itching"),  # a comparative of a keyword
    ("can i slp on my back", "sleeping"),  # a short word typed without vowels
    ("couple of tiny blemishes near my nose", "spots_milia"),  # where and how big describe
    ("cheeks hurtin a bit tonight", "pain"),  # a dropped g on an -ing form
    ("how many seshs do people usually need", "sessions"),
])
def test_chat_spellings_are_read_as_the_knowledge_bases_words(advisor: Advisor, text: str,
                                                              topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("is an elf bar as bad as smoking", "smoking"),  # vape brands (slang.yaml)
    ("chest day at the gym on friday ok?", "exercise"),  # gym slang
    ("water aerobics class this week, fine?", "swimming"),  # exercise in water
    ("face feels parched, what should i use", "moisturiser"),  # skin wanting moisture
    ("i had a vampire facial, when can i wash", "prp"),  # the brand name of PRP facials
    ("any brusing to expect", "bruising"),  # a slip in an inflection of a keyword
    ("how long does the sweling last", "swelling"),
    ("ok to peel away the loose skin on my chin?", "exfoliation"),  # peel the verb is picking
    ("my skin is peeling off in sheets", "dryness_flaking"),  # peeling on its own is flaking
    ("when can i have a peel", "other_treatments"),  # a peel the treatment
    ("will my skin tone matter", "skin_types"),  # the singular of a keyword ("tones")
])
def test_brands_activities_and_slips_are_read_as_the_knowledge_bases_words(
        advisor: Advisor, text: str, topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", [
    "how much extra would it be to add the neck",
    "could you email me an invoice",
    "what do you charge for three sessions",
    "is there a cancellation fee",
    "got any offers on at the minute",
    "can i pay with mastercard",
])
def test_money_questions_are_routed_to_the_clinic(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "contact_clinic", (text, advice.kind)
    assert advice.offer_handoff


@pytest.mark.parametrize(("text", "topic"), [
    ("felt a bit of blood on my cheek when i woke up, it stopped on its own", "pinpoint_bleeding"),
    ("my cheeks feel hot to the touch tonight", "redness"),
])
def test_scene_setting_phrases_do_not_choose_the_topic(advisor: Advisor, text: str,
                                                       topic: str) -> None:
    advice = advisor.ask(text, 0)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


def test_an_ordinal_session_is_the_next_booking(advisor: Advisor) -> None:
    for text in ("is my third one due yet", "when should the 2nd treatment be"):
        advice = advisor.ask(text, 30)
        assert advice.kind == "answered" and advice.topic == "next_booking", (text, advice.kind)


@pytest.mark.parametrize(("text", "topic"), [
    ("still breastfeeding, can i book my next session", "pregnancy"),
    ("on roaccutane at the moment, when can i have another treatment", "isotretinoin"),
    ("prone to cold sores, anything to do before my next session", "cold_sores"),
])
def test_a_condition_named_with_a_session_is_answered_first(advisor: Advisor, text: str,
                                                             topic: str) -> None:
    advice = advisor.ask(text, 25)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


def test_money_for_somebody_elses_business_is_not_the_clinics(advisor: Advisor) -> None:
    advice = advisor.ask("how much is a haircut round here", None)
    assert advice.kind == "abstained" and advice.extra.get("scope") == "everyday"


@pytest.mark.parametrize("text", ["hope you're keeping well", "morning! hope all's good",
                                  "great one, ta", "hi hope ur ok"])
def test_pleasantries_are_small_talk(advisor: Advisor, text: str) -> None:
    assert advisor.ask(text, 1).kind == "smalltalk", text


def test_a_pleasantry_does_not_hide_a_question(advisor: Advisor) -> None:
    advice = advisor.ask("hope you're well, can i wear makeup yet", 3)
    assert advice.kind == "answered" and advice.topic == "makeup"


def _right(advisor: Advisor, item: dict[str, Any]) -> bool:
    advice = advisor.ask(item["text"], item.get("day"))
    if item["expect"] == "abstain":
        return advice.kind == "abstained"
    if item["expect"] == "smalltalk":
        return advice.kind == "smalltalk"
    return advice.kind == "answered" and advice.topic == item["expect"]


def test_development_set_figures(advisor: Advisor) -> None:
    """The development set of this round's classes: everyday and out-of-scope messages abstain
    (at least 0.95), on-topic ones are answered with their entry (at least 0.92), nothing is
    escalated."""
    abstain = [item for item in DEV if item["expect"] == "abstain"]
    on_topic = [item for item in DEV if item["expect"] not in ("abstain", "smalltalk")]
    abstained = sum(_right(advisor, item) for item in abstain) / len(abstain)
    answered = sum(_right(advisor, item) for item in on_topic) / len(on_topic)
    escalated = [item["text"] for item in DEV
                 if advisor.ask(item["text"], item.get("day")).escalate]
    assert abstained >= 0.95 and answered >= 0.92 and not escalated, (abstained, answered,
                                                                      escalated)


def test_no_knowledge_base_example_copies_a_blind_message() -> None:
    """A blind batch measures the product only while its phrasings stay out of the knowledge
    base: an example question with token-sort similarity 85 or more to a message of a blind
    batch must be listed in ``kb_blind_overlap.yaml`` as older than that batch or as one of the
    guidance's own phrasings; any other is tuning on the batch (reword or drop it)."""
    allowed = {(row["entry"], row["question"]): row for row in yaml.safe_load(
        (DATA / "kb_blind_overlap.yaml").read_text("utf-8"))}
    kb = load_kb()
    copies: list[str] = []
    for path in sorted(DATA.glob("answers_blind_*.yaml")):
        batch = int(path.stem.rsplit("_", 1)[1])
        messages = [item["text"] for item in yaml.safe_load(path.read_text("utf-8"))]
        for entry in kb.entries:
            for question in entry.questions:
                close = process.extractOne(question, messages, scorer=fuzz.token_sort_ratio,
                                           processor=utils.default_process,
                                           score_cutoff=BLIND_SIMILARITY)
                row = allowed.get((entry.id, question))
                if close is None or (row is not None and (
                        row.get("guidance") or batch in row.get("before", []))):
                    continue
                copies.append(f"{entry.id}: {question!r} ~ batch {batch} {close[0]!r}")
    assert not copies, "\n".join(copies)


@pytest.mark.parametrize(("text", "kind"), [("lol okay", "ack"), ("haha cool", "ack"),
                                            ("ur a legend", "thanks"),
                                            ("you're an absolute gem", "thanks")])
def test_laughter_and_praise_are_small_talk(advisor: Advisor, text: str, kind: str) -> None:
    assert smalltalk_kind(text) == kind
    advice = advisor.ask(text, None)
    assert advice.kind == "smalltalk", (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", [
    "what time does the chinese place by the station close tonight",  # a named place's hours
    "how many days off should i take after a half marathon",  # rest after a race
    "how much for a bottle of wine at the offy",  # the price of a drink
    "my new tattoo is peeling, is that ok",  # a tattoo healing
])
def test_other_places_races_drinks_and_tattoos_are_not_aftercare(advisor: Advisor,
                                                                 text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "abstained" and advice.extra.get("scope") == "everyday", (
        text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "kind"), [
    ("what do you charge for fillers", "abstained"),  # another treatment's price (guidance §4)
    ("price of anti wrinkle injections?", "abstained"),
    ("how much is a course of microneedling", "answered"),  # this treatment's: the clinic (2.19)
])
def test_only_this_treatments_money_is_routed_to_the_clinic(advisor: Advisor, text: str,
                                                            kind: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == kind and advice.offer_handoff, (text, advice.kind, advice.topic)
    assert kind == "abstained" or advice.topic == "contact_clinic"


@pytest.mark.parametrize("text", ["what is it for exactly", "what's microneedling used for"])
def test_what_the_treatment_is_for_is_the_procedure(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "answered" and advice.topic == "about_microneedling", (
        text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("is a budget moisturiser ok or do i need a pricey one", "moisturiser"),  # a product's price
    # a time word asks when
    ("microdermabrasion in a few weeks, would that be fine?", "other_treatments"),
])
def test_a_products_price_and_another_treatments_timing_are_answered(advisor: Advisor, text: str,
                                                                    topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize("text", [
    "best moisturiser for patent leather shoes",  # the clinic noun's object is a thing
    "should i shave my horse for the show",  # the clinic verb's object is an animal
    "easiest way to peel a boiled potato",
    "my rose bush has white spots on the leaves",  # (dark spots: triage's word)
    "how much does a dog walking session cost",  # a compound names another kind of session
    "bouncy castle hire prices",
    "are there any pillowcases on sale",
    "what's the clinic wifi password",
])
def test_a_clinic_word_about_another_thing_abstains(advisor: Advisor, text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.kind == "abstained" and advice.topic is None, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("can i moisturise my face tonight", "moisturiser"),  # the object is the patient's face
    ("should i peel the flakes off", "exfoliation"),
    ("when can i shave my beard", "shaving"),
    ("salicylic spot treatment on a pimple, allowed yet?", "actives"),
    ("do acne scars need more sessions", "sessions"),
    ("my daughter keeps touching my face", "touching_face"),  # a third person, my own face
])
def test_a_clinic_word_about_the_patients_own_skin_is_answered(advisor: Advisor, text: str,
                                                               topic: str) -> None:
    advice = advisor.ask(text, 5)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)


@pytest.mark.parametrize(("text", "topic"), [
    ("can i have it done if im prego", "pregnancy"),  # chat slang for pregnant
    ("filler appt next week ok?", "botox_fillers"),  # an injectable's appointment
])
def test_pregnancy_and_injectable_slang_find_their_entry(advisor: Advisor, text: str,
                                                         topic: str) -> None:
    advice = advisor.ask(text, 3)
    assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind, advice.topic)
