"""The failure classes found on blind batch 3, fixed as classes, through ``Advisor.ask``.

One test per class, in English and in two other languages. Every phrasing is our own: batch 3
was read only for the names of its classes, never for its wording. ``tests/data/triage_dev.yaml``
holds the wider development set of this round (checked by ``test_triage_round3``).
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
    # pain that painkillers do not relieve, or that jumps on the scale -> urgent (guidance 2.13)
    ("pain", "en", "co-codamol hasn't even dented the ache in my cheeks", 2, "urgent"),
    ("pain", "en", "went from a 1 to an 8 in the space of an evening", 3, "urgent"),
    ("pain", "es", "el ibuprofeno no me está haciendo nada, sigue doliendo", 2, "urgent"),
    ("pain", "pt", "o remedio nao ta resolvendo a dor", 2, "urgent"),  # typed without accents
    # burning hard on the skin is severe pain, in the patient's language
    ("burning", "en", "it's burning like acid on my chin", 1, "urgent"),
    ("burning", "fr", "ça me brûle énormément", 2, "urgent"),
    ("burning", "ru", "очень сильно жжёт лицо", 2, "urgent"),
    # spreading redness with shaking, a pounding heart or confusion -> emergency (sepsis-like)
    ("systemic", "en", "the redness is creeping down my neck and my pulse is banging", 3,
     "emergency"),
    ("systemic", "es", "la rojez se extiende por el cuello y tengo temblores y el corazón a mil",
     3, "emergency"),
    ("systemic", "de", "die Rötung breitet sich am Hals aus und ich zittere und mein Herz rast",
     3, "emergency"),
    # fast growth said as a time: "in about an hour", "an hour ago ... now covers"
    ("fast", "en", "the red bit went across my whole cheek in about an hour", 2, "emergency"),
    # collapse: limp, floppy, not answering, a grey or blue-grey colour -> emergency
    ("collapse", "en", "my sister has gone all floppy on the bed and isn't answering me", 0,
     "emergency"),
    ("collapse", "en", "his lips have a dusky blue grey look", 0, "emergency"),
    ("collapse", "es", "se ha puesto gris y no contesta", 0, "emergency"),
    ("collapse", "de", "er ist ganz schlaff und reagiert nicht", 0, "emergency"),
    # an eye swollen shut, red streaks travelling from the area -> urgent
    ("eye_or_streaks", "en", "woke up and my eye had swelled completely shut", 1, "urgent"),
    ("eye_or_streaks", "en", "thin red lines snaking up from the treated patch", 3, "urgent"),
    ("eye_or_streaks", "pt", "o olho inchou e fechou", 1, "urgent"),
    ("eye_or_streaks", "es", "rayas rojas que bajan por el cuello", 3, "urgent"),
    # someone else's reaction NOW stays an emergency
    ("now", "en", "my husband's lips are swelling up as we speak", 0, "emergency"),
]

# (class, language, text, day): a message that must not raise an alarm
CALM = [
    # figures of speech built on airway, death or pain words
    ("figure", "en", "nearly choked on my coffee when i saw the quote", 4),
    ("figure", "en", "waiting for my next session is killing me", 10),
    ("figure", "en", "dying to try my new foundation", 8),
    ("figure", "es", "me muero por ver los resultados", 4),
    ("figure", "pt", "estou morrendo de vontade de ver o resultado", 4),
    ("figure", "es", "me ahogo de calor en la oficina, ¿puedo usar un ventilador?", 5),
    ("figure", "fr", "j'étouffe avec cette chaleur", 5),
    ("figure", "ru", "задыхаюсь от жары", 5),
    # someone else's past story, without a "said" frame
    ("story", "en", "my stepdad ended up in A&E with a puffy face when we were teenagers", None),
    ("story", "en", "my bestie had a reaction to a peel, could that happen with this?", None),
    ("story", "fr", "ma grand-mère a fait une réaction allergique quand on était petits", None),
    ("story", "pl", "mój dziadek miał uczulenie jak byliśmy mali, czy mi też grozi?", None),
    # hypothetical and general questions
    ("question", "en", "if the bleeding kept going would that mean something's wrong?", 0),
    ("question", "en", "is a fever ever expected after this?", None),
    ("question", "en", "how swollen is too swollen?", 1),
    ("question", "es", "si me sale pus, ¿sería grave?", None),
    ("question", "fr", "et si j'ai de la fièvre, c'est grave ?", None),
    # denied lists: one denial for the whole list
    ("negation", "en", "nothing crusty, nothing smelly, skin just tight", 2),
    ("negation", "en", "there's no heat, oozing or swelling", 4),
    ("negation", "es", "sin fiebre, sin pus, solo un poco rosa", 3),
    ("negation", "pt", "sem febre, sem pus, só um pouco vermelho", 3),
]


@pytest.mark.parametrize(("cls", "code", "text", "day", "tier"), RAISED,
                         ids=[f"{c}-{lang}-{t[:24]}" for c, lang, t, _, _ in RAISED])
def test_batch3_red_flag_classes_are_raised_at_their_tier(
        advisor: Advisor, cls: str, code: str, text: str, day: int | None, tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier, _reason(advice)
    assert advice.language == code


@pytest.mark.parametrize(("cls", "code", "text", "day"), CALM,
                         ids=[f"{c}-{lang}-{t[:24]}" for c, lang, t, _ in CALM])
def test_batch3_false_alarm_classes_stay_calm(advisor: Advisor, cls: str, code: str, text: str,
                                             day: int | None) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, _reason(advice)


@pytest.mark.parametrize(("text", "day"), [
    ("me ahogo, no puedo respirar", 0),
    ("j'étouffe, je n'arrive plus à respirer", 0),
])
def test_the_same_symptom_word_without_its_figure_stays_an_emergency(
        advisor: Advisor, text: str, day: int) -> None:
    assert advisor.ask(text, day).urgency == "emergency"


def test_a_list_that_does_not_deny_keeps_its_sign(advisor: Advisor) -> None:
    # "no fever, lips swollen": the second clause is not an item of a denied list
    assert advisor.ask("no fever, tongue swollen", 0).urgency == "emergency"


def test_pain_jump_is_severe_pain_and_says_why(advisor: Advisor) -> None:
    advice = advisor.ask("the ache jumped from a 2 to a 9 since lunch", 3)
    assert advice.triage is not None and advice.triage.sign == "pain_severe"
    assert "from a 2 to a 9" in advice.triage.evidence


def test_spreading_redness_with_a_racing_heart_gets_the_spreading_infection_advice(
        advisor: Advisor) -> None:
    advice = advisor.ask("red patch spreading up my neck and my heart is racing", 3)
    assert advice.urgency == "emergency"
    assert advice.triage is not None and advice.triage.sign == "spreading_redness_systemic"
    assert "mark the edge of the redness" in advice.answer


def test_english_with_a_foreign_negation_yields_to_the_language_reader(advisor: Advisor) -> None:
    # the English rules see "pus"; the Spanish reader sees "sin pus"
    assert advisor.ask("sin pus y sin fiebre", 3).urgency is None


def test_unaccented_foreign_text_is_answered_in_its_language(advisor: Advisor) -> None:
    advice = advisor.ask("a dor so aumenta", 2)
    assert advice.urgency == "urgent" and advice.language == "pt"
    assert advice.answer.startswith("⚠️ Isto precisa ser avaliado hoje")


def test_english_slang_is_not_read_as_another_language(advisor: Advisor) -> None:
    advice = advisor.ask("ngl lowkey loving the glow", 5)
    assert advice.urgency is None and advice.language == "en"


@pytest.mark.parametrize(("text", "day", "question"), [
    ("is it ever normal to get pus after needling?", None, "infection"),
    ("what if my tongue swelled up in the night?", 0, "airway"),
    ("what are the signs of an allergic reaction?", None, "airway"),
])
def test_a_red_flag_only_asked_about_gets_the_rule_out_question(
        advisor: Advisor, text: str, day: int | None, question: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None
    assert advice.follow_up is not None and advice.follow_up.id == question


def test_a_question_about_a_red_flag_keeps_its_own_answer(advisor: Advisor) -> None:
    # the rule-out question is added; the answer is not swapped for the day's guidance
    plain = Advisor.load(second_detector=None).ask("how much does a session cost?", 3)
    asked = advisor.ask("what if i get a fever, how much does a session cost?", 3)
    assert asked.follow_up is not None and asked.follow_up.id == "infection"
    assert asked.kind == plain.kind and asked.topic == plain.topic
