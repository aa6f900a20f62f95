"""The clinic and the emergency number in other languages' advice, through ``Advisor.ask``.

Each language file names the clinic with its own word, in the form each sentence needs ("He
avisado a la clínica", "свяжитесь с клиникой"), followed by ``{clinic_named}``: the configured
name in the language's quote marks, or nothing when no name is set. An emergency number that
is not configured is the language's own text, not the English "999 in the UK, ...". A broken or
missing ``clinic`` section, or a template naming the clinic the English way, is reported with
file, line and reason.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from knowledge.advisor import Advisor
from knowledge.catalogue import Catalogue, Clinic, Wording
from knowledge.errors import KBError
from knowledge.language_topics import load_language_topics
from knowledge.multilingual import load_lexicons
from tests.advisors import shipped
from tests.yamldata import load_yaml

pytestmark = pytest.mark.xdist_group("triage")

ROOT = Path(__file__).resolve().parents[1]
MESSAGES: list[dict[str, Any]] = load_yaml(ROOT / "tests" / "data" / "languages_dev.yaml")[
    "messages"]
LANGUAGES = ("es", "pt", "fr", "de", "it", "ru", "uk", "pl", "tr", "ar")
ROSEWOOD = Clinic(name="Rosewood Skin", contact="020 7946 0000", emergency="999")
# English's defaults, which must never show inside another language's advice
ENGLISH = ("the clinic", "in the uk", "in the eu", "in the us")

# the words just before the clinic's name in each language's emergency and urgent template
EMERGENCY_NOUN = {
    "es": "He avisado a la clínica", "pt": "Já avisei a clínica",
    "fr": "J'ai prévenu la clinique", "de": "Ich habe die Klinik",
    "it": "Ho avvisato la clinica", "ru": "Я сообщил(а) в клинику",
    "uk": "Я повідомив(ла) клініку", "pl": "Powiadomiłem/am klinikę",
    "tr": "Kliniğin", "ar": "لقد أبلغتُ العيادة",
}
URGENT_NOUN = {
    "es": "Contacte ahora con la clínica", "pt": "Entre em contato agora com a clínica",
    "fr": "Contactez la clinique", "de": "Bitte melden Sie sich jetzt bei der Klinik",
    "it": "Contatti subito la clinica", "ru": "Свяжитесь сейчас с клиникой",
    "uk": "Зв'яжіться зараз із клінікою", "pl": "skontaktować się z kliniką",
    "tr": "Lütfen hemen klinikle", "ar": "تواصل مع العيادة",
}


def first(lang: str, tier: str) -> dict[str, Any]:
    """The language's first development message of that tier."""
    return next(m for m in MESSAGES if m["lang"] == lang and m["expect"] == tier)


def ask(advisor: Advisor, lang: str, tier: str) -> str:
    message = first(lang, tier)
    advice = advisor.ask(message["text"], message["day"], language_hint=lang)
    assert advice.urgency == tier and advice.language == lang, (message, advice)
    return advice.answer


def wording(lang: str) -> Wording:
    pack = load_lexicons(shipped().triage.signs).pack(lang)
    assert pack is not None and pack.wording is not None
    return pack.wording


# ------------------------------------------------------------- Spanish, Russian, German in full
def test_spanish_without_a_clinic_name_or_number_is_all_spanish() -> None:
    advisor = shipped(Clinic())
    emergency = ask(advisor, "es", "emergency")
    assert "He avisado a la clínica." in emergency
    assert "(112 en la UE, 999 en el Reino Unido, 911 en Estados Unidos)" in emergency
    urgent = ask(advisor, "es", "urgent")
    assert "Contacte ahora con la clínica; si no puede localizarles" in urgent
    assert "(112 en la UE, 999 en el Reino Unido, 911 en Estados Unidos)" in urgent
    for answer in (emergency, urgent):
        assert not any(english in answer.lower() for english in ENGLISH), answer


def test_spanish_names_the_configured_clinic_in_spanish_quotes() -> None:
    advisor = shipped(ROSEWOOD)
    emergency = ask(advisor, "es", "emergency")
    assert "He avisado a la clínica «Rosewood Skin»." in emergency
    assert "número de emergencias (999)" in emergency and "en la UE" not in emergency
    urgent = ask(advisor, "es", "urgent")
    assert "Contacte ahora con la clínica «Rosewood Skin» (020 7946 0000);" in urgent
    assert "número de emergencias (999)" in urgent


def test_russian_puts_the_clinic_in_the_case_each_sentence_needs() -> None:
    advisor = shipped(Clinic())
    emergency, urgent = ask(advisor, "ru", "emergency"), ask(advisor, "ru", "urgent")
    assert "Я сообщил(а) в клинику." in emergency  # accusative
    assert "Свяжитесь сейчас с клиникой;" in urgent  # instrumental
    for answer in (emergency, urgent):
        assert "(112 в ЕС, 999 в Великобритании, 911 в США)" in answer
        assert not any(english in answer.lower() for english in ENGLISH), answer
    named = shipped(ROSEWOOD)
    assert "Я сообщил(а) в клинику «Rosewood Skin»." in ask(named, "ru", "emergency")
    urgent = ask(named, "ru", "urgent")
    assert "Свяжитесь сейчас с клиникой «Rosewood Skin» (020 7946 0000);" in urgent
    assert "экстренной помощи (999)" in urgent and "в ЕС" not in urgent


def test_german_names_the_clinic_in_german() -> None:
    advisor = shipped(Clinic())
    emergency, urgent = ask(advisor, "de", "emergency"), ask(advisor, "de", "urgent")
    assert "Ich habe die Klinik informiert." in emergency  # accusative
    assert "Bitte melden Sie sich jetzt bei der Klinik;" in urgent  # dative
    for answer in (emergency, urgent):
        assert "Notruf (112 in der EU, 999 im Vereinigten Königreich, 911 in den USA)" in answer
        assert not any(english in answer.lower() for english in ENGLISH), answer
    named = shipped(ROSEWOOD)
    assert "Ich habe die Klinik „Rosewood Skin“ informiert." in ask(named, "de", "emergency")
    urgent = ask(named, "de", "urgent")
    assert "bei der Klinik „Rosewood Skin“ (020 7946 0000);" in urgent
    assert "Notruf (999)" in urgent and "in der EU" not in urgent


# ------------------------------------------------------------------------------ every language
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_english_default_in_any_language(lang: str) -> None:
    """No clinic configured: the language's own word for the clinic, nothing after it, and its
    own emergency text; a configured name in its quote marks and the configured number."""
    own = wording(lang)
    assert not any(english in own.emergency.lower() for english in ENGLISH)
    advisor = shipped(Clinic())
    for tier, noun in (("emergency", EMERGENCY_NOUN[lang]), ("urgent", URGENT_NOUN[lang])):
        answer = ask(advisor, lang, tier)
        assert not any(english in answer.lower() for english in ENGLISH), (tier, answer)
        assert noun in answer and f"{noun}{own.quotes[0]}" not in answer, (tier, answer)
        assert f"{noun} {own.quotes[0]}" not in answer, (tier, answer)
        assert own.emergency in answer, (tier, answer)
    named = shipped(ROSEWOOD)
    opening, closing = own.quotes
    for tier, noun in (("emergency", EMERGENCY_NOUN[lang]), ("urgent", URGENT_NOUN[lang])):
        answer = ask(named, lang, tier)
        assert f"{noun} {opening}Rosewood Skin{closing}" in answer, (tier, answer)
        assert "(999)" in answer and own.emergency not in answer, (tier, answer)
        assert not any(english in answer.lower() for english in ENGLISH), (tier, answer)


def test_the_language_lines_under_an_english_answer_name_the_clinic_too() -> None:
    """The one-line note and the safety line under an everyday answer (language_topics.yaml)
    are filled like the language's own templates."""
    advice = shipped(Clinic()).ask("¿Puedo ir a la piscina este fin de semana?", 2)
    assert advice.language == "es"
    assert "el equipo de la clínica también tiene su mensaje" in advice.extra["forward_note"]
    assert "llame al 112 en la UE, 999 en el Reino Unido, 911 en Estados Unidos." in (
        advice.answer)
    named = shipped(ROSEWOOD).ask("¿Puedo ir a la piscina este fin de semana?", 2)
    assert "el equipo de la clínica «Rosewood Skin» también" in named.extra["forward_note"]
    assert "llame al 999." in named.answer


def test_english_keeps_its_own_name_and_numbers() -> None:
    english = shipped(Clinic()).ask("my lips are swelling up and I can't breathe", 0)
    assert "the clinic" in english.answer and "999 in the UK" in english.answer
    catalogue = Catalogue({"a": "{clinic}{clinic_named}"}, ROSEWOOD)
    assert catalogue.text("a") == 'Rosewood Skin "Rosewood Skin"'
    spanish = Catalogue({"a": "la clínica{clinic_named} ({emergency})"},
                        wording=Wording(("«", "»"), "112"))
    assert spanish.text("a") == "la clínica (112)"
    assert spanish.with_clinic(ROSEWOOD).text("a") == "la clínica «Rosewood Skin» (999)"


# ------------------------------------------------------------------------------------ the loader
GOOD = """\
    language: xx
    name: Test
    native: Test
    clinic:
      quotes: ["<", ">"]
      emergency: "112 here"
    messages:
      emergency: "call {emergency} now, told the clinic{clinic_named}"
      urgent: "contact the clinic{clinic_named}{clinic_contact}"
      forwarded: "passed to the clinic{clinic_named}"
      english_only: "english only, the clinic{clinic_named}"
      smalltalk: "hello"
    negations: [nope]
    signs:
      infection_pus:
        - gunk*
"""


def problems(tmp_path: Path, text: str) -> str:
    (tmp_path / "xx.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(KBError) as caught:
        load_lexicons(shipped().triage.signs, tmp_path)
    return str(caught.value)


@pytest.mark.parametrize(("old", "new", "expect"), [
    ("    clinic:\n      quotes: [\"<\", \">\"]\n      emergency: \"112 here\"\n", "",
     "xx.yaml:1: missing 'clinic' (quotes:"),
    ('quotes: ["<", ">"]', 'quotes: "<>"', "xx.yaml:5: clinic.quotes must be two marks"),
    ('quotes: ["<", ">"]', 'quotes: ["<", "{x}"]', "xx.yaml:5: clinic.quotes must be two marks"),
    ('quotes: ["<", ">"]', "colour: red", "xx.yaml:5: clinic: unknown key 'colour'"),
    ('quotes: ["<", ">"]', "colour: red", "xx.yaml:4: clinic: missing 'quotes'"),
    ('emergency: "112 here"', 'emergency: "call someone"',
     "xx.yaml:6: clinic.emergency must be text naming the emergency numbers"),
    ('emergency: "112 here"', "other: 1", "xx.yaml:4: clinic: missing 'emergency'"),
    ('clinic:\n      quotes: ["<", ">"]\n      emergency: "112 here"', "clinic: [a, b]",
     "xx.yaml:4: clinic must map 'quotes' and 'emergency'"),
    ("told the clinic{clinic_named}", "told {clinic}",
     "xx.yaml:8: messages.emergency: name the clinic with this language's own word, then "
     "{clinic_named}"),
    ("contact the clinic{clinic_named}{clinic_contact}", "contact {Clinic}{clinic_contact}",
     "xx.yaml:9: messages.urgent must name the clinic: this language's word for it, then "
     "{clinic_named}"),
])
def test_the_clinic_section_and_names_are_checked(tmp_path: Path, old: str, new: str,
                                                  expect: str) -> None:
    (tmp_path / "xx.yaml").write_text(textwrap.dedent(GOOD), encoding="utf-8")
    assert load_lexicons(shipped().triage.signs, tmp_path).pack("xx") is not None
    assert old in GOOD
    assert expect in problems(tmp_path, GOOD.replace(old, new))


def test_sign_advice_and_questions_may_not_name_the_clinic_the_english_way(
        tmp_path: Path) -> None:
    text = GOOD + ('    sign_advice:\n      infection: "ring {clinic}"\n'
                   '    follow_ups:\n      yes_label: "Y"\n      no_label: "N"\n'
                   '      airway: {text: "ok?", no_reply: "tell {Clinic}"}\n')
    found = problems(tmp_path, text)
    assert "xx.yaml:18: sign_advice.infection: name the clinic with this language's" in found
    assert "xx.yaml:22: follow_ups.airway.no_reply: name the clinic with" in found


def test_the_language_topics_lines_may_not_name_the_clinic_the_english_way(
        tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(textwrap.dedent("""\
        languages:
          es:
            note: "el equipo de {clinic} lo tiene"
            safety: "llame al {emergency}"
            topics:
              makeup: [maquillaje]
        """), encoding="utf-8")
    with pytest.raises(KBError, match="topics.yaml:3: es.note: name the clinic with"):
        load_language_topics(["makeup"], path)
