"""Red flags in other languages, through ``Advisor.ask``: detection, lexicons, templates.

The development set ``tests/data/languages_dev.yaml`` is written from the clinical guidance by
the lexicons' author and used to build them (it is not a held-out measure: the blind batches
are, scored by ``benchmarks/triage.py``). The tests here check behaviour a patient or staff
member would notice: the tier, the language of the reply, the patient's own words as evidence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from knowledge.advisor import Advisor
from knowledge.errors import KBError
from knowledge.multilingual import Multilingual, fold, load_lexicons
from knowledge.triage import Sign
from tests.advisors import shipped
from tests.cli import aftercare
from tests.yamldata import load_yaml

# one worker runs the triage tables' modules (tests/conftest.py): it alone compiles the
# triage patterns and the whole regexes, which each worker did for its share of the cases
pytestmark = pytest.mark.xdist_group("triage")

ROOT = Path(__file__).resolve().parents[1]
DEV = load_yaml(ROOT / "tests" / "data" / "languages_dev.yaml")
MESSAGES: list[dict[str, Any]] = DEV["messages"]
LANGUAGES = ("es", "pt", "fr", "de", "it", "ru", "uk", "pl", "tr", "ar")

# the first words of each language's emergency and urgent templates
EMERGENCY_START = {
    "es": "⚠️ Esto podría ser una reacción grave", "pt": "⚠️ Isto pode ser uma reação grave",
    "fr": "⚠️ Il pourrait s'agir d'une réaction grave", "de": "⚠️ Das könnte eine schwere",
    "it": "⚠️ Potrebbe trattarsi di una reazione grave", "ru": "⚠️ Это может быть серьёзная",
    "uk": "⚠️ Це може бути серйозна", "pl": "⚠️ To może być poważna",
    "tr": "⚠️ Bu ciddi bir reaksiyon", "ar": "⚠️ قد يكون هذا تفاعلاً خطيراً",
}
URGENT_START = {
    "es": "⚠️ Esto debe revisarse hoy", "pt": "⚠️ Isto precisa ser avaliado hoje",
    "fr": "⚠️ Cela doit être examiné aujourd'hui", "de": "⚠️ Das sollte heute angesehen",
    "it": "⚠️ Questo va controllato oggi", "ru": "⚠️ Это нужно показать врачу сегодня",
    "uk": "⚠️ Це потрібно показати лікарю сьогодні", "pl": "⚠️ To trzeba dziś obejrzeć",
    "tr": "⚠️ Bunun bugün muayene", "ar": "⚠️ يجب أن يُفحص هذا اليوم",
}


def packaged_signs() -> tuple[Sign, ...]:
    """The packaged triage rules' signs: the shared advisor's (``load_triage()``'s, loaded
    once per test process)."""
    return shipped().triage.signs


def tier(advice: Any) -> str:
    if advice.urgency:
        return str(advice.urgency)
    return "review" if advice.routine_review else "normal"


# ----------------------------------------------------------------------------- the failure classes


@pytest.mark.parametrize(("lang", "text", "day", "expect", "words"), [
    # plain sign words
    ("es", "me sale pus de varios puntitos", 3, "urgent", "pus"),
    ("de", "Ich habe Fieber und Schüttelfrost", 2, "urgent", "Fieber"),
    ("ru", "у меня опухают губы", 0, "emergency", "опухают губы"),
    ("ar", "النزيف لا يتوقف", 1, "urgent", "النزيف لا يتوقف"),
    # figurative or indirect wording, words between the body part and the state
    ("es", "tengo la boca como un globo", 0, "emergency", "boca como un globo"),
    ("fr", "j'ai la gorge qui serre", 0, "emergency", "gorge qui serre"),
    ("it", "ho le labbra a canotto", 0, "emergency", "labbra a canotto"),
    ("tr", "boğazım düğümlendi sanki", 0, "emergency", "boğazım düğümlendi"),
    ("pl", "mam gardło jak zaciśnięte", 0, "emergency", "gardło jak zaciśnięte"),
    # typos, missing accents, chat shorthand
    ("es", "no puedo respirrar", 0, "emergency", "no puedo respirrar"),
    ("pt", "nao consigo respirar direito", 0, "emergency", "nao consigo respirar"),
    ("de", "ich bekomme schlecht luft", 0, "emergency", "schlecht luft"),
    ("fr", "jarrive pa a respirer", 0, "emergency", "jarrive pa a respirer"),
    ("ru", "не могу дышатъ", 0, "emergency", "не могу дышатъ"),
    ("tr", "nefes alamiyorum", 0, "emergency", "nefes alamiyorum"),
])
def test_signs_are_escalated_in_the_patients_language(
        advisor: Advisor, lang: str, text: str, day: int, expect: str, words: str) -> None:
    advice = advisor.ask(text, day)
    assert tier(advice) == expect, advice.triage
    start = EMERGENCY_START if expect == "emergency" else URGENT_START
    assert advice.answer.startswith(start[lang])
    assert advice.language == lang and advice.detected is not None
    assert advice.triage is not None and words in advice.triage.evidence  # the patient's words
    assert "Glow Clinic" in advice.answer


@pytest.mark.parametrize(("text", "day"), [
    # negation: the sign is denied
    ("no tengo fiebre ni pus, solo la piel roja", 0),
    ("respiro bien y los labios no están hinchados", 0),
    ("kein Fieber, kein Eiter, nur rot", 0),
    ("die Lippen sind nicht geschwollen", 1),
    ("температуры нет, гноя нет, просто красное", 0),
    ("ateşim yok, iltihap yok, sadece kızarıklık var", 0),
    ("dudaklarım şişmedi", 0),
    ("ما عندي حرارة ولا صديد، بس احمرار", 0),
    ("nie mam gorączki, nie ma ropy", 0),
    # a question about what might happen is not a report
    ("¿qué hago si se me hinchan los labios?", 0),
    ("que faire si mes lèvres gonflent ?", 0),
    ("dudaklarım şişerse ne yapmalıyım?", 0),
    ("что делать, если опухнут губы?", 0),
    # normal healing for the day
    ("tengo la cara roja y tirante como una quemadura de sol", 0),
    ("es schuppt sich und juckt ein bisschen", 3),
    ("todavía está un poco rosada pero mucho mejor", 6),
])
def test_negations_questions_and_normal_healing_are_not_escalated(
        advisor: Advisor, text: str, day: int) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency is None, advice.triage
    # the "I only read English" reply, or an everyday topic's English answer, keeps the safety
    # net in the patient's language
    assert advice.kind in ("foreign", "smalltalk", "answered")
    assert "112" in advice.answer


def test_day_windows_follow_the_english_signs(advisor: Advisor) -> None:
    text = "la mejilla está más caliente, más roja y se está extendiendo"
    assert advisor.ask(text, 4).urgency == "urgent"  # worsening after day 2
    assert advisor.ask("han aparecido manchas oscuras", 10).urgency == "urgent"
    assert advisor.ask("han aparecido manchas oscuras", 1).urgency is None  # too early for PIH
    assert advisor.ask("sigue muy roja", 6).urgency == "urgent"
    assert advisor.ask("sigue un poco roja", 6).urgency is None  # faint: routine


def test_emergency_outranks_urgent_and_staff_see_the_english_sign(advisor: Advisor) -> None:
    advice = advisor.ask("tengo fiebre y los labios hinchados", 2)
    assert advice.urgency == "emergency" and advice.triage is not None
    assert advice.triage.sign == "airway_swelling"
    assert "swelling of lips" in advice.triage.reason  # the English rule text for staff
    assert "fever" in advice.triage.others
    assert advice.extra["language_name"] == "Spanish"


def _check_message(advisor: Advisor, message: dict[str, Any]) -> None:
    advice = advisor.ask(message["text"], message["day"])
    assert tier(advice) == message["expect"], advice.triage
    if message["expect"] != "normal":
        assert advice.language == message["lang"]


# one test per language, checking every one of its messages and naming all that fail: a test
# per message cost pytest and pytest-xdist about 2.5 ms each, more than its ``Advisor.ask``
@pytest.mark.parametrize("lang", sorted({m["lang"] for m in MESSAGES} - {"en"}))
def test_development_set(advisor: Advisor, lang: str) -> None:
    messages = [m for m in MESSAGES if m["lang"] == lang]
    failures = []
    for message in messages:
        try:
            _check_message(advisor, message)
        except AssertionError as exc:
            failures.append(f"{message}: {exc}")
    assert not failures, f"{len(failures)} of {len(messages)} failed:\n" + "\n".join(failures)


# ----------------------------------------------------------------------------- unreadable messages


def test_everyday_question_in_another_language_gets_the_english_answer(
        advisor: Advisor) -> None:
    for text, day, topic in (("¿puedo maquillarme mañana?", 1, "makeup"),
                             ("est-ce que je peux aller à la piscine ?", 3, "swimming"),
                             ("wann darf ich wieder ins Fitnessstudio?", 2, "exercise"),
                             ("posso bere un bicchiere di vino stasera?", 2, "alcohol")):
        advice = advisor.ask(text, day)
        assert advice.kind == "answered" and advice.topic == topic, (text, advice.kind)
        assert advice.detected is not None and advice.offer_handoff
        assert advice.extra["forward_note"]  # the line the bot adds when it passes it on
    advice = advisor.ask("¿puedo maquillarme mañana?", 1)
    assert advice.language == "es"
    assert advice.extra["forward_note"].startswith("Le respondo en inglés; el equipo de")


def test_unreadable_message_is_answered_in_the_patients_language(advisor: Advisor) -> None:
    advice = advisor.ask("¿Cuál es la dirección exacta de la clínica?", 1)
    assert advice.kind == "foreign" and advice.foreign and advice.urgency is None
    assert advice.language == "es" and advice.detected is not None
    assert advice.answer.startswith("Lo siento, solo sé leer mensajes en inglés")
    assert "la clínica «Glow Clinic» (020 7946 0000)" in advice.answer
    assert advisor.language_text("es", "forwarded").startswith("Solo sé leer mensajes en inglés")
    assert advice.to_json()["language"] == "es"


def test_language_without_templates_gets_english(advisor: Advisor) -> None:
    advice = advisor.ask("Mijn lippen zijn een beetje rood na de behandeling", 1)
    assert advice.kind == "foreign" and advice.language == "en"
    assert advice.detected is not None and advice.detected.code == "nl"
    assert advice.extra["language_name"] == "Dutch"
    assert advice.answer.startswith("Sorry, I can only read messages in English")


def test_thanks_in_another_language_is_small_talk(advisor: Advisor) -> None:
    advice = advisor.ask("muchas gracias!", 2)
    assert advice.kind == "smalltalk" and advice.language == "es"
    assert advisor.ask("спасибо большое", 2).kind == "smalltalk"


# ----------------------------------------------------------------------------- detection


def test_english_stays_english_whatever_the_hint(advisor: Advisor) -> None:
    english = [item["text"] for item in load_yaml(
        ROOT / "tests" / "data" / "eval_questions.yaml")]
    read_as_other = [t for t in english if advisor.ask(t, 2).detected is not None]
    assert len(read_as_other) <= len(english) * 0.01, read_as_other
    assert advisor.ask("my lips are swelling", 0, language_hint="es").language == "en"
    assert advisor.ask("ok", 0, language_hint="es").kind != "foreign"


def test_detected_language_on_the_development_set(advisor: Advisor) -> None:
    others = [m for m in MESSAGES if m["lang"] != "en"]
    wrong = [m["text"] for m in others
             if (d := advisor.ask(m["text"], m["day"]).detected) is None or d.code != m["lang"]]
    assert len(wrong) <= len(others) * 0.03, wrong


def test_telegram_hint_adds_a_language_but_never_overrides(advisor: Advisor) -> None:
    # "дякую" is Ukrainian but the model leans Russian; the letters and the hint settle it
    assert advisor.ask("не можу дихати", 0, language_hint="uk").urgency == "emergency"
    advice = advisor.ask("se me hinchan los labios", 0, language_hint="de")
    assert advice.language == "es" and advice.urgency == "emergency"


def test_detector_loads_and_runs_with_no_network() -> None:
    code = textwrap.dedent("""
        import socket
        def refuse(*args, **kwargs):
            raise OSError("network used")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from knowledge.language import LanguageDetector
        detector = LanguageDetector(["es", "ru", "ar"], ["my", "lips"])
        print(detector.detect("los labios hinchados").code, detector.detect("губы").code)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["es", "ru"]


# ----------------------------------------------------------------------------- tolerant matching


def test_folding_accents_scripts_and_repeats() -> None:
    assert fold("HINCHAZÓN") == "hinchazon"
    assert fold("ёж Ёлка") == "еж елка"
    assert fold("Głowa żółć") == "glowa zolc"
    assert fold("ŞİŞTİ ığ") == "sisti ig"
    assert fold("أَلَم إبرة آسف مدرسة") == "الم ابره اسف مدرسه"
    assert fold("noooo") == "noo"
    assert fold("٣٨٫٥") == "38.5"


def test_a_multiple_is_one_word_either_way_round() -> None:
    from knowledge.multilingual.fold import TOKEN, times_word

    words = [times_word(m.group(0)) for m in TOKEN.finditer(fold("labios X2, lengua 3× más"))]
    assert words == ["labios", "2x", "lengua", "3x", "mas"]
    assert [m.group(0) for m in TOKEN.finditer("38,5 max2")] == ["38,5", "max", "2"]


@pytest.mark.parametrize(("text", "expect"), [
    ("SE ME HINCHAN LOS LABIOS", "emergency"),         # capitals
    ("se me hinchan los labioss", "emergency"),        # a doubled letter
    ("se me hicnhan los labios", "emergency"),         # swapped letters
    ("q no puedo respirar", "emergency"),              # chat shorthand
    ("شِفَاهِي مُنْتَفِخَة", "emergency"),                # Arabic with vowel marks
    ("губы опухли, не могу дышать", "emergency"),
])
def test_tolerant_matching(advisor: Advisor, text: str, expect: str) -> None:
    assert tier(advisor.ask(text, 0)) == expect


# ----------------------------------------------------------------------------- data files


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


GOOD = """\
    language: xx
    name: Test
    native: Test
    clinic: {quotes: ["<", ">"], emergency: "112 here"}
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


def test_lexicon_files_are_checked_with_file_and_line(tmp_path: Path) -> None:
    signs = packaged_signs()
    write(tmp_path, "xx.yaml", GOOD)
    lexicons = load_lexicons(signs, tmp_path)
    assert lexicons.assess("gunky", 3, ["xx"]).decision.sign == "infection_pus"
    bad = GOOD.replace("infection_pus", "no_such_sign").replace("[nope]", "[no]")
    bad = bad.replace("told the clinic{clinic_named}", "told the clinic{clinic_named} {oops}")
    write(tmp_path, "xx.yaml", bad)
    with pytest.raises(KBError) as caught:
        load_lexicons(signs, tmp_path)
    text = str(caught.value)
    assert "xx.yaml:6: messages.emergency: bad placeholder" in text
    assert "xx.yaml:11: negations must be a list" in text and "quote" in text
    assert "xx.yaml:13: unknown sign id 'no_such_sign'" in text
    write(tmp_path, "xx.yaml", GOOD.replace("infection_pus", "redness_faint"))
    with pytest.raises(KBError, match="only emergency and urgent"):
        load_lexicons(signs, tmp_path)
    write(tmp_path, "xx.yaml", "language: xx\n  bad: [")
    with pytest.raises(KBError, match="xx.yaml:2: invalid YAML"):
        load_lexicons(signs, tmp_path)


def test_a_language_file_is_parsed_once_per_text_and_signs(tmp_path: Path) -> None:
    """The same file, text and signs (ids and tiers) give the same pack, parsed once per
    process; a changed text, or a sign of another tier, is parsed again; a file with
    problems reports them every time."""
    signs = packaged_signs()
    write(tmp_path, "xx.yaml", GOOD)
    first = load_lexicons(signs, tmp_path).pack("xx")
    assert load_lexicons(signs, tmp_path).pack("xx") is first
    assert Multilingual.load(signs, ["hello"], directory=tmp_path).lexicons.pack("xx") is first
    write(tmp_path, "xx.yaml", GOOD.replace("gunk*", "goo*"))
    changed = load_lexicons(signs, tmp_path)
    assert changed.pack("xx") is not first
    assert changed.assess("gooey", 3, ["xx"]).decision.sign == "infection_pus"
    review = tuple(replace(sign, tier="review") if sign.id == "infection_pus" else sign
                   for sign in signs)
    for _ in range(2):
        with pytest.raises(KBError, match="only emergency and urgent"):
            load_lexicons(review, tmp_path)
    assert load_lexicons(signs, tmp_path).pack("xx") is changed.pack("xx")


def test_a_language_file_is_read_when_its_first_message_comes(tmp_path: Path) -> None:
    """Start-up reads no language file (a process meets few languages): a bad file does not stop
    the advisor's load; the first message in its language fails with file and line, and
    ``load_lexicons`` (``aftercare kb check``) reports it before any start. Threads asking for a
    language at once share one reading of its file."""
    signs = packaged_signs()
    write(tmp_path, "xx.yaml", GOOD)
    write(tmp_path, "yy.yaml", "language: yy\n  bad: [")
    lexicons = Multilingual.load(signs, ["hello"], directory=tmp_path).lexicons
    assert lexicons.codes == ("xx", "yy")
    with ThreadPoolExecutor(max_workers=4) as pool:
        packs = list(pool.map(lambda _: lexicons.pack("xx"), range(8)))
    assert all(pack is packs[0] for pack in packs)
    assert lexicons.assess("gunky", 3, ["xx"]).decision.sign == "infection_pus"
    with pytest.raises(KBError, match="yy.yaml:2: invalid YAML"):
        lexicons.assess("gunky", 3, ["yy"])
    with pytest.raises(KBError, match="yy.yaml:2: invalid YAML"):
        load_lexicons(signs, tmp_path)


def test_words_that_name_something_else_bar_a_sign(tmp_path: Path) -> None:
    """``not_sign``: words in a row that name something else ("gunk spot" is a mole here) are
    no place for the sign, the same word elsewhere still is; an unknown sign id is named with
    its line."""
    signs = packaged_signs()
    write(tmp_path, "xx.yaml", GOOD + "    not_sign:\n      infection_pus: [gunk spot]\n")
    lexicons = load_lexicons(signs, tmp_path)
    assert lexicons.assess("a gunk spot on my cheek", 3, ["xx"]).decision.sign is None
    assert lexicons.assess("gunk spot here and gunky there", 3, ["xx"]).decision.sign == (
        "infection_pus")
    write(tmp_path, "xx.yaml", GOOD + "    not_sign:\n      infection_pus|nope_sign: [gunk]\n")
    with pytest.raises(KBError, match="xx.yaml:16: not_sign: unknown sign 'nope_sign'"):
        load_lexicons(signs, tmp_path)


def test_every_language_has_reviewed_templates() -> None:
    lexicons = load_lexicons(packaged_signs())
    assert set(lexicons.codes) == set(LANGUAGES)
    for code in LANGUAGES:
        texts = lexicons.texts(code)
        assert texts is not None
        emergency = texts.get("messages.emergency", "")
        urgent = texts.get("messages.urgent", "")
        # the clinic named by the language's own word, then {clinic_named} (never English's
        # {clinic}: "the clinic" when no name is set)
        assert "{emergency}" in emergency and "{clinic_named}" in emergency
        assert "{clinic_named}" in urgent and "{clinic_contact}" in urgent
        assert "{emergency}" in urgent
        for key in ("forwarded", "english_only", "review_forwarded"):
            assert "{emergency}" in texts.get(f"messages.{key}", "")  # the safety net
        review = texts.get("messages.review_forwarded", "")  # what to watch for, and whom to tell
        assert "{clinic_named}" in review and "{clinic_contact}" in review
        review.format(clinic_named="", clinic_contact="", emergency="112")
        for key in ("emergency", "urgent", "forwarded", "english_only", "review_forwarded",
                    "smalltalk"):
            assert "{clinic}" not in texts.get(f"messages.{key}", ""), (code, key)


@pytest.mark.parametrize(("text", "day", "expect"), [
    # someone else's voice, now: still an emergency in this chat
    ("mi marido tiene los labios muy hinchados", 0, "emergency"),
    ("ma fille a les lèvres bleues et elle respire mal", 0, "emergency"),
    ("моя дочь задыхается, губы синие", 0, "emergency"),
    # figures of speech and jokes are not symptoms
    ("jajaja me muero de risa con mi cara de tomate", 0, "normal"),
    ("je meurs de rire, j'ai une tête de homard", 0, "normal"),
    ("ahahah sto morendo dal ridere", 0, "normal"),
    # two states joined, intensity, a long comparison
    ("la mejilla está caliente, roja y cada vez más grande", 3, "urgent"),
    ("guancia calda, rossa e si sta allargando", 3, "urgent"),
    ("la cara se me está poniendo como un globo muy rápido", 0, "emergency"),
    ("mein Gesicht sieht schon aus wie ein aufgepumpter Luftballon", 0, "emergency"),
])
def test_failure_classes_in_other_languages(
        advisor: Advisor, text: str, day: int, expect: str) -> None:
    assert tier(advisor.ask(text, day)) == expect


def test_the_clinics_own_knowledge_base_keeps_other_languages(advisor: Advisor) -> None:
    from bot.core.clinic_kb import with_kb

    reloaded = with_kb(advisor, advisor.kb)  # what the bot answers from after a desk edit
    advice = reloaded.ask("se me hinchan los labios", 0)
    assert advice.urgency == "emergency" and advice.language == "es"


def test_ask_command_shows_the_language() -> None:
    result = aftercare(ROOT, "ask", "--json", "--day", "3", "--language", "pt-BR",
                       "está saindo pus das bolinhas")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["urgency"] == "urgent" and data["language"] == "pt"
    assert data["answer"].startswith("⚠️ Isto precisa ser avaliado hoje")


# round forty-seven: misspelt English whose short words look German, Dutch, Italian or Spanish
# ("im", "hart", "bin", "mal", "con", "die"): the language model names another language, whose
# reader finds only the fever; the English rules read the confusion or the racing heart, and the
# more serious tier is the answer, in English
@pytest.mark.parametrize(("text", "day"), [
    ("fevr 39.4 and im confsued, hart racing", 2),
    ("im hot 39.8 fevr, hart bangin, bin confuzed al day", 2),
    ("fevr 39.2 im confusd, mal feeling faint, hart thumping", 3),
    ("fevr 38.9 im so dizy and confsed, hart pounding", 2),
])
def test_misspelt_english_read_as_another_language_keeps_the_english_alarm(
        advisor: Advisor, text: str, day: int) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == "emergency", (text, advice.triage)
    assert advice.language == "en", text


def test_misspelt_english_with_a_spanish_word_is_still_an_emergency(advisor: Advisor) -> None:
    # "con" keeps a Spanish reading (its reader is asked, the reply may be in Spanish), but the
    # English emergency stands
    advice = advisor.ask("fevr 39 con chills, im confsed and hart racin", 3)
    assert advice.urgency == "emergency", advice.triage


@pytest.mark.parametrize(("text", "day", "urgency", "language"), [
    # the language's own reading stands when the message is not English
    ("Ich bin nicht verwirrt, nur müde, Fieber 38.5", 2, "urgent", "de"),
    ("Ich hab Fieber, 38.6, aber sonst geht es mir gut", 2, "urgent", "de"),
    ("ich bin im Bett mit 39 Fieber und Herzrasen", 2, "emergency", "de"),
])
def test_a_foreign_fever_keeps_its_own_reading(
        advisor: Advisor, text: str, day: int, urgency: str, language: str) -> None:
    advice = advisor.ask(text, day)
    assert advice.urgency == urgency, (text, advice.triage)
    assert advice.language == language, text
