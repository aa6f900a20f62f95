"""The failure classes found on blind batch 4, fixed as classes, through ``Advisor.ask``.

Every phrasing is our own: batch 4 was read only for the names of its classes, never for its
wording. ``tests/data/triage_dev.yaml`` holds the wider development set (checked by
``test_triage_round3``). Other languages are tested for breathing by simile, sudden loss of
sight and redness gone and back and hot; the other English classes are English-only here.
"""

from __future__ import annotations

import pytest

from knowledge.advisor import Advisor


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


def _reason(advice: object) -> str:
    triage = getattr(advice, "triage", None)
    return triage.reason if triage is not None else getattr(advice, "answer", "")


# (class, language, text, day, tier): a red flag that must be raised at its tier
RAISED = [
    ("breath_simile", "en", "breathing is like sucking air through a drinking straw", 0,
     "emergency"),
    ("breath_simile", "en", "feels like i'm drowning when i try to get air in", 0, "emergency"),
    ("breath_mid_sentence", "en", "i'm pausing between sentences to catch my breath", 0,
     "emergency"),
    ("full_stops", "en", "can't. breathe. right.", 0, "emergency"),
    ("relative_clause", "en", "my top lip, which was fine at lunch, is swelling fast", 0,
     "emergency"),
    ("relative_clause", "en", "the soreness, which had calmed down by day one, is now much worse",
     3, "urgent"),
    ("pain_worse", "en", "the pain is miles worse than yesterday", 2, "urgent"),
    ("patch_grown", "en", "the warm red area near my ear has doubled since yesterday", 3, "urgent"),
    ("new_bleeding", "en", "random bleeding on my forehead this morning", 4, "urgent"),
    ("cold_sore", "en", "little clump of clear fluid blisters under my nostril", 2, "urgent"),
    ("dark_blotches", "en", "my chin is going brown and blotchy", 20, "urgent"),
    ("antihistamine", "en",
     "the allergy tablets aren't stopping the itchy welts, they keep spreading", 1, "urgent"),
    ("wet_raw", "en", "skin is weepy and raw since the glycolic last night", 2, "urgent"),
    ("full_stops", "de", "ich. kann. nicht. atmen.", 0, "emergency"),
    ("full_stops", "fr", "je. peux. pas. respirer.", 0, "emergency"),
    ("airway_spread", "en", "the puffy bit crept from my chin into my bottom lip", 0, "emergency"),
    ("new_bleeding", "es", "de repente sangra un poco la frente", 4, "urgent"),
    # breathing by simile in other languages -> emergency
    ("breath_simile", "es", "siento que respiro por un popote", 0, "emergency"),
    ("breath_simile", "de", "ich atme wie durch ein dünnes Röhrchen", 0, "emergency"),
    ("breath_simile", "it", "sto respirando come da una cannuccia", 0, "emergency"),
    # sudden loss of sight in other languages -> emergency
    ("vision", "de", "plötzlich ist das rechte Auge ganz dunkel, ich sehe da nichts mehr", 1,
     "emergency"),
    ("vision", "es", "de repente no veo nada con el ojo derecho", 1, "emergency"),
    ("vision", "tr", "birden sağ gözümle hiçbir şey göremiyorum", 1, "emergency"),
    # redness gone, then back and hot -> urgent
    ("returned_hot", "pl", "zaczerwienienie zeszło, ale teraz znów jest i parzy", 5, "urgent"),
    ("returned_hot", "tr", "kızarıklık geçmişti, şimdi geri geldi ve sıcak", 5, "urgent"),
    ("returned_hot", "ar", "الاحمرار كان راح والحين رجع وسخن", 5, "urgent"),
]

# (class, language, text, day): a message that must not raise an alarm
CALM = [
    ("pride", "en", "my partner is glowing with pride at my results", 10),
    ("thank_you", "en", "thanks all, it was pink for a day, then a bit dry, now it's perfect", 8),
    ("answered_denial", "en", "swollen? nope. hot? nah", 3),
    ("story_once", "en", "dad once passed out at the blood bank, will i faint too?", 0),
    ("read_about", "en", "i read about someone whose lips swelled after a peel", None),
    ("how_it_starts", "en", "how does an infection usually start after this?", None),
    ("hypothetically", "en", "hypothetically, if it got infected what would happen?", 1),
    # drowning in work is a figure, not the breath
    ("figure", "fr", "je me noie dans le travail au bureau", 4),
    ("figure", "pt", "estou me afogando em trabalho hoje", 4),
]


@pytest.mark.parametrize(("cls", "code", "text", "day", "tier"), RAISED,
                         ids=[f"{c}-{lang}-{t[:24]}" for c, lang, t, _, _ in RAISED])
def test_batch4_red_flag_classes_are_raised_at_their_tier(
        advisor: Advisor, cls: str, code: str, text: str, day: int | None, tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier, _reason(advice)
    assert advice.language == code


@pytest.mark.parametrize(("cls", "code", "text", "day"), CALM,
                         ids=[f"{c}-{lang}-{t[:24]}" for c, lang, t, _ in CALM])
def test_batch4_false_alarm_classes_stay_calm(advisor: Advisor, cls: str, code: str, text: str,
                                             day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, _reason(advice)


def test_a_relative_clause_does_not_hide_a_denial(advisor: Advisor) -> None:
    # the clause is read again without the relative clause; its own denial still holds
    assert advisor.ask("my lips, which i was worried about, are not swollen at all", 0).urgency \
        is None


def test_a_denied_answer_does_not_deny_the_next_report(advisor: Advisor) -> None:
    assert advisor.ask("fever? no. but my lips are swelling up", 0).urgency == "emergency"
