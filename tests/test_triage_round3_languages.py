"""Issue 13's round-3 classes in other languages, through ``Advisor.ask``: someone else's past
story is a question, someone else's reaction now keeps its tier, fever in one clause with a
racing heart or confusion in another is the emergency sign, red similes for lasting redness,
the rule-out question and the sign-specific advice in the patient's language. Phrasings are
our own, never a blind batch's."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.advisor import Advisor
from knowledge.signdata import _language_problems, load_sign_data
from knowledge.triage import load_triage


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load()


STORIES = [
    ("es", "a mi prima se le hincharon los labios hace años con la crema, ¿me puede pasar?"),
    ("fr", "ma sœur a eu les lèvres gonflées l'an dernier après sa séance, c'est grave ?"),
    ("de", "meine Kollegin hatte vor Jahren danach geschwollene Lippen, passiert das oft?"),
    ("de", "eine Bekannte hatte vor drei Jahren danach Bläschen"),
    ("pl", "siostra kiedyś po zabiegu miała spuchnięte usta, czy to się zdarza?"),
    ("ru", "у подруги год назад после процедуры опухли губы, так бывает?"),
    ("tr", "kuzenimin geçen yıl dudakları şişmişti, bende de olur mu?"),
]

NOW = [
    ("es", "mi madre tiene los labios hinchados ahora mismo y le cuesta respirar", 0,
     "emergency"),
    ("fr", "ma fille a les lèvres qui gonflent maintenant", 0, "emergency"),
    ("de", "meine Schwester hat gerade geschwollene Lippen und bekommt schlecht Luft", 0,
     "emergency"),
]

SYSTEMIC = [
    ("es", "tengo fiebre de 39. el corazón me va a mil", 3),
    ("de", "Fieber seit heute Nacht. Mein Herz rast", 3),
    ("fr", "j'ai de la fièvre, et je suis toute confuse", 3),
]

SIMILES = [
    ("es", "día 7 y sigo roja como un tomate", 7),
    ("fr", "jour 6, toujours rouge comme une tomate", 6),
    ("de", "Tag 6 und immer noch rot wie eine Tomate", 6),
]


@pytest.mark.parametrize(("code", "text"), STORIES)
def test_someone_elses_past_story_is_not_an_emergency(advisor: Advisor, code: str,
                                                      text: str) -> None:
    advice = advisor.ask(text, None)
    assert advice.urgency is None, advice.triage.reason if advice.triage else ""


@pytest.mark.parametrize(("code", "text", "day", "tier"), NOW)
def test_someone_elses_reaction_now_keeps_its_tier(advisor: Advisor, code: str, text: str,
                                                   day: int, tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier and advice.language == code


@pytest.mark.parametrize(("code", "text", "day"), SYSTEMIC)
def test_fever_with_a_racing_heart_or_confusion_in_another_clause(
        advisor: Advisor, code: str, text: str, day: int) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == "emergency", advice.triage.reason if advice.triage else ""
    assert advice.triage is not None
    signs = {advice.triage.sign, *advice.triage.others}
    assert "fever_with_systemic_signs" in signs


@pytest.mark.parametrize(("code", "text", "day"), SIMILES)
def test_red_similes_are_lasting_redness(advisor: Advisor, code: str, text: str,
                                         day: int) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == "urgent" and advice.language == code


@pytest.mark.parametrize(("code", "text", "question", "words"), [
    ("es", "me siento rara, con náuseas", "airway@es", "Por seguridad"),
    ("fr", "je crois que c'est infecté", "infection@fr", "Par prudence"),
    ("de", "ich fühle mich komisch, der Hals kratzt", "airway@de", "Zur Sicherheit"),
])
def test_unsure_message_gets_the_rule_out_question_in_its_language(
        advisor: Advisor, code: str, text: str, question: str, words: str) -> None:
    advice = advisor.ask(text, 1)
    assert advice.urgency is None and advice.follow_up is not None
    assert advice.follow_up.id == question and advice.follow_up.question.startswith(words)
    yes = advisor.answer_follow_up(question, True, 1)
    assert yes is not None and yes.escalate and yes.language == code
    no = advisor.answer_follow_up(question, False, 1)
    assert no is not None and not no.escalate and no.language == code
    assert advice.to_json()["follow_up"]["id"] == question


def test_a_forged_language_on_a_question_is_refused(advisor: Advisor) -> None:
    assert advisor.follow_up("airway@xx") is None
    assert advisor.answer_follow_up("airway@xx", True, 0) is None
    assert advisor.follow_up("airway") is not None  # English as before


@pytest.mark.parametrize(("code", "text", "day", "words"), [
    ("es", "me sangra y no para aunque aprieto", 0, "gasa limpia"),
    ("fr", "j'ai des cloques sur la joue", 2, "ne percez pas"),
    ("de", "Eiter kommt aus den Pickeln", 3, "Thermometer"),
])
def test_sign_specific_advice_in_the_patients_language(advisor: Advisor, code: str, text: str,
                                                       day: int, words: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.escalate and advice.language == code
    assert words in advice.answer


def test_kb_check_names_a_language_missing_an_advice_group(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import knowledge.multilingual as multilingual

    source = (multilingual.LANGUAGES_DIR / "es.yaml").read_text("utf-8")
    (tmp_path / "es.yaml").write_text(source.replace("  pigment:", "  pigmentos:"), "utf-8")
    monkeypatch.setattr(multilingual, "LANGUAGES_DIR", tmp_path)
    tiers = {sign.id: sign.tier for sign in load_triage().signs}
    problems = [p.reason for p in _language_problems(load_sign_data(), tiers)]
    assert "sign_advice: no text for group 'pigment'" in problems
    assert "sign_advice: unknown group 'pigmentos'" in problems


@pytest.mark.parametrize(("code", "text", "day", "tier"), [
    # a tongue that does not fit, shape similes
    ("fr", "ma langue ne rentre plus dans la bouche", 0, "emergency"),
    ("de", "die Zunge passt kaum noch in den Mund", 0, "emergency"),
    ("es", "tengo los labios como un flotador", 0, "emergency"),
    ("de", "Lippen wie Würste", 0, "emergency"),
    # yellow heads on spots
    ("fr", "des points jaunes sur les boutons", 3, "urgent"),
    ("es", "cabezas amarillas en los granos", 3, "urgent"),
])
def test_indirect_and_figurative_wording_in_other_languages(advisor: Advisor, code: str,
                                                            text: str, day: int,
                                                            tier: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == tier and advice.language == code, (
        advice.triage.reason if advice.triage else advice.answer)


@pytest.mark.parametrize(("text", "escalates"), [
    ("une réaction allergique est-elle possible ?", False),
    ("ist eine allergische Reaktion nach der Behandlung möglich?", False),
    ("¿es posible una reacción alérgica a la crema?", False),
    # the first person or no article: a report, whatever the question word
    ("j'ai une réaction allergique, c'est possible ?", True),
    ("ich habe eine allergische Reaktion, ist das möglich?", True),
    ("mes lèvres gonflent, c'est possible ?", True),
])
def test_a_general_question_is_not_a_report(advisor: Advisor, text: str,
                                            escalates: bool) -> None:
    assert advisor.ask(text, 1).escalate is escalates
