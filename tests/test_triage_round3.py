"""The failure classes found on blind batch 2, fixed as classes, through ``Advisor.ask``.

Each class has phrasings of our own (never the blind batch's words), in English here and in
other languages in ``test_triage_round3_languages``. ``tests/data/triage_dev.yaml`` is the wider
development set written for this round; every message in it must come out at its tier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.advisor import Advisor
from knowledge.text import Speller

DEV = yaml.safe_load((Path(__file__).parent / "data" / "triage_dev.yaml").read_text("utf-8"))

ESCALATE = [
    # figurative airway wording: "gone like a ...", still growing, a mouth that feels full
    ("my upper lip has gone like a pool float", 0, "emergency"),
    ("my lips are still growing", 0, "emergency"),
    ("tongue feels like it won't fit behind my teeth", 0, "emergency"),
    ("my mouth feels packed with cotton", 0, "emergency"),
    ("throat is kind of shrinking", 0, "emergency"),
    # words between, a wide gap for strong swelling words
    ("my lip, and to be honest the whole of my mouth, is sort of blowing up", 0, "emergency"),
    # intensity: breathing that tightens
    ("my breathing is getting tighter", 0, "emergency"),
    # third person now: a progressive verb, a recent "ago"
    ("my son's mouth is swelling, he had the cream on 2 hours ago", 0, "emergency"),
    ("my nan is struggling to get her words out", 0, "emergency"),
    # fever with confusion or fast breathing
    ("temperature 38.9 and I can't remember what day it is", 3, "emergency"),
    ("fever and panting like a dog", 3, "emergency"),
    # shorthand and dropped letters
    ("tung swoln", 0, "emergency"),
    ("thrt tght", 0, "emergency"),
    ("red came bk and sore", 4, "urgent"),
    # urgent signs in indirect wording
    ("day 9, still red as a post box", 9, "urgent"),
    ("sore enough to keep waking me up", 2, "urgent"),
    ("hard little peas under the skin near my ear", 30, "urgent"),
    ("yellowish heads on the bumps", 3, "urgent"),
    ("my eye won't open, it's so puffy", 2, "urgent"),
    ("my eye still stings after rinsing it twice", 0, "urgent"),
    ("red welts keep appearing on my chest", 1, "urgent"),
    ("i held pressure for 12 minutes and it's still going", 0, "urgent"),
    # shape similes, spreading verbs, drowsiness in other words
    ("top lip looks like a hot dog", 0, "emergency"),
    ("my mouth feels too full", 0, "emergency"),
    ("the redness is racing along my jawline", 1, "emergency"),
    ("he keeps nodding off and isn't making any sense", 1, "emergency"),
]

NOT_ESCALATED: list[tuple[str, int | None]] = [
    # everyday forgetting is not confusion
    ("keep forgetting to moisturise before bed", 3),
    ("I keep forgetting to drink water", 2),
    # a compliment
    ("skin is on fire, best it has ever looked", 20),
    # a scare explained away
    ("I was scared my throat was tight but it turned out to be my necklace", 0),
    # general questions
    ("is an infection likely after micro needling?", None),
    ("would a fever mean I need antibiotics?", 2),
    # someone else's past story is a question
    ("my cousin had swollen lips a few years ago after hers, is that rare?", None),
    # a dryness simile, a compliment
    ("my lips feel like a desert", 3),
    ("my lips look like a million dollars", 10),
]


def test_a_bare_body_part_gets_the_rule_out_question(advisor: Advisor) -> None:
    advice = advisor.ask("tongue??", 0)
    assert advice.urgency is None
    assert advice.follow_up is not None and advice.follow_up.id == "airway"


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


@pytest.mark.parametrize(("text", "day", "tier"), ESCALATE)
def test_batch2_classes_escalate_at_their_tier(advisor: Advisor, text: str, day: int | None,
                                              tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier, advice.triage.reason if advice.triage else advice.answer


@pytest.mark.parametrize(("text", "day"), NOT_ESCALATED)
def test_batch2_false_alarm_classes_stay_calm(advisor: Advisor, text: str,
                                              day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, advice.triage.reason if advice.triage else ""


@pytest.mark.parametrize("item", DEV, ids=[m["text"][:40] for m in DEV])
def test_development_set(advisor: Advisor, item: dict[str, Any]) -> None:
    advice = advisor.ask(item["text"], item.get("day"))
    got = advice.urgency or ("review" if advice.routine_review else "normal")
    expect = item["expect"]
    assert got == expect or (expect == "review" and got == "normal"), (
        advice.triage.reason if advice.triage else advice.answer)


def test_a_second_detector_needs_a_clear_margin_to_overrule_an_urgent_reading(
        advisor: Advisor) -> None:
    # the rules read a blurry eye as the urgent eye sign; the phrase bank's closest phrase is
    # the emergency "cant see out of one eye", not close enough to overrule them
    advice = advisor.ask("everything looks smeary out of my left eye", 1)
    assert advice.urgency == "urgent", advice.triage.reason if advice.triage else ""


def test_speller_restores_dropped_letters_with_the_same_first_letter() -> None:
    speller = Speller(["tongue", "swollen", "throat", "swallow"])
    assert speller.correct("tung, thrt swllw") == "tongue, throat swallow"
    assert speller.correct("tang") == "tang"  # an English word is never changed
