"""The triage failure classes found on the blind batches and in issue 13, fixed as classes, checked
through ``Advisor.ask`` (the path a patient message takes).

The cases live in ``tests/data/triage_classes.yaml`` (one block per class: where it was found, what
it pins, its cases; the file's header explains the fields) and ``tests/data/triage_dev.yaml`` (the
wider development set: every message at its tier). What a table cannot say stays below as ordinary
tests: the speller and normaliser, a rule-out question answered in the patient's language, a forged
question language, ``kb check`` on a language file, an answer kept beside a rule-out question.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from knowledge.advisor import Advice, Advisor
from knowledge.signdata import _language_problems, load_sign_data
from knowledge.text import Speller, clean, fold, possessives
from tests.advisors import shipped
from tests.class_table import class_cases
from tests.yamldata import load_yaml

# one worker runs the triage tables' modules (tests/conftest.py): it alone compiles the
# triage patterns and the whole regexes, which each worker did for its share of the cases
pytestmark = pytest.mark.xdist_group("triage")

DATA = Path(__file__).parent / "data"
T = TypeVar("T")
TIERS = {"emergency", "urgent", "none", "raised"}
OPTIONAL = ("sign", "signs_include", "follow_up", "answer_contains", "answer_starts",
            "evidence_contains", "review")


@dataclass(frozen=True)
class Case:
    """One message of a class and what ``Advisor.ask`` must make of it."""

    cls: str
    text: str
    day: int | None
    lang: str
    tier: str
    checks: dict[str, str]


def _load_cases() -> list[Case]:
    cases: list[Case] = []
    fields = {"text", "day", "lang", "tier", *OPTIONAL}
    for cls, raw in class_cases(DATA / "triage_classes.yaml", fields):
        assert raw["tier"] in TIERS, raw
        cases.append(Case(cls, raw["text"], raw["day"], raw["lang"], raw["tier"],
                          {key: raw[key] for key in OPTIONAL if key in raw}))
    return cases


DEV: list[dict[str, Any]] = load_yaml(DATA / "triage_dev.yaml")


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped()


def _why(advice: Advice) -> str:
    return advice.triage.reason if advice.triage is not None else advice.answer


def _check_case(advisor: Advisor, case: Case) -> None:
    advice = advisor.ask(case.text, case.day)
    if case.tier == "none":
        assert advice.urgency is None, _why(advice)
    elif case.tier == "raised":
        assert advice.urgency is not None, _why(advice)
    else:
        assert advice.urgency == case.tier, _why(advice)
    if advice.urgency is not None:
        assert advice.triage is not None
        assert advice.triage.reason.startswith(advice.urgency.upper())
    if case.lang != "any":
        assert advice.language == case.lang, _why(advice)
    checks = case.checks
    if "sign" in checks:
        assert advice.triage is not None and advice.triage.sign == checks["sign"]
    if "signs_include" in checks:
        assert advice.triage is not None
        assert checks["signs_include"] in {advice.triage.sign, *advice.triage.others}
    if "evidence_contains" in checks:
        assert advice.triage is not None
        assert checks["evidence_contains"] in advice.triage.evidence
    if "follow_up" in checks:
        assert advice.follow_up is not None and advice.follow_up.id == checks["follow_up"]
    if "answer_contains" in checks:
        assert checks["answer_contains"] in advice.answer
    if "answer_starts" in checks:
        assert advice.answer.startswith(checks["answer_starts"])
    if "review" in checks:
        assert advice.routine_review == (checks["review"] == "yes"), _why(advice)


def _check_dev(advisor: Advisor, item: dict[str, Any]) -> None:
    advice = advisor.ask(item["text"], item.get("day"))
    got = advice.urgency or ("review" if advice.routine_review else "normal")
    expect = item["expect"]
    assert got == expect or (expect == "review" and got == "normal"), _why(advice)


def _all_pass(check: Callable[[T], None], items: Sequence[T]) -> None:
    """Every item checked; the failures, each with its case and why, reported together."""
    failures = []
    for item in items:
        try:
            check(item)
        except AssertionError as exc:
            failures.append(f"{item}: {exc}")
    assert not failures, f"{len(failures)} of {len(items)} failed:\n" + "\n".join(failures)


# One test per class (and per slice of the development set), each checking every one of its
# cases and naming all that fail: a test per case cost pytest and pytest-xdist about 2.5 ms
# each, more than most cases' own ``Advisor.ask``.
#
# Collecting the tests needs the classes' names only, read from the table's ``- class:`` lines;
# the table is parsed when its first class is tested, by the one worker that runs them (the
# group's), not at collection by every pytest-xdist worker (about 0.3 s of CPU each). Parsed,
# its classes must be the names read, in the same order (a class met again adds its cases
# to the first), or every class test fails.
CLASS_NAMES = list(dict.fromkeys(re.findall(
    r"^- class: (\S+)$", (DATA / "triage_classes.yaml").read_text("utf-8"), re.MULTILINE)))


@functools.cache
def _classes() -> dict[str, list[Case]]:
    classes: dict[str, list[Case]] = {}
    for case in _load_cases():
        classes.setdefault(case.cls, []).append(case)
    assert list(classes) == CLASS_NAMES, "the classes parsed are not the names collected"
    return classes


_DEV_SLICE = 25
DEV_SLICES = [DEV[start:start + _DEV_SLICE] for start in range(0, len(DEV), _DEV_SLICE)]


@pytest.mark.parametrize("cls", CLASS_NAMES)
def test_triage_class(advisor: Advisor, cls: str) -> None:
    _all_pass(lambda case: _check_case(advisor, case), _classes()[cls])


@pytest.mark.parametrize("items", DEV_SLICES,
                         ids=[f"dev{start}" for start in range(0, len(DEV), _DEV_SLICE)])
def test_development_set(advisor: Advisor, items: list[dict[str, Any]]) -> None:
    _all_pass(lambda item: _check_dev(advisor, item), items)


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


def test_a_question_about_a_red_flag_keeps_its_own_answer(advisor: Advisor) -> None:
    # the rule-out question is added; the answer is not swapped for the day's guidance
    plain = shipped(second_detector=None).ask("how much does a session cost?", 3)
    asked = advisor.ask("what if i get a fever, how much does a session cost?", 3)
    assert asked.follow_up is not None and asked.follow_up.id == "infection"
    assert asked.kind == plain.kind and asked.topic == plain.topic


def test_kb_check_names_a_language_missing_an_advice_group(advisor: Advisor, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import knowledge.multilingual as multilingual

    source = (multilingual.LANGUAGES_DIR / "es.yaml").read_text("utf-8")
    (tmp_path / "es.yaml").write_text(source.replace("  pigment:", "  pigmentos:"), "utf-8")
    monkeypatch.setattr(multilingual, "LANGUAGES_DIR", tmp_path)
    tiers = {sign.id: sign.tier for sign in advisor.triage.signs}  # the packaged rules'
    problems = [p.reason for p in _language_problems(load_sign_data(), tiers)]
    assert "sign_advice: no text for group 'pigment'" in problems
    assert "sign_advice: unknown group 'pigmentos'" in problems


def test_one_normaliser_serves_triage_and_matcher() -> None:
    assert clean("My LIPS r swellin!!! 😱 38,5º", punctuation=True) == \
        "my lips are swelling!!! 38.5°"
    assert fold("Can I wear make-up 2moro??") == "can i wear makeup tomorrow"
    assert clean("Губы опухли") == "губы опухли"  # other scripts are kept for the language side
    # a person's possessive stays one (the words for people are the triage rules' vocab
    # ``kin``), someone's is split, as a thing's 's is; a laughing emoji is laughter
    kin = load_yaml(DATA.parent.parent / "knowledge" / "triage.yaml")["vocab"]["kin"]
    people = possessives(kin)
    assert clean("My friend's lips, the throat's tight 😂", punctuation=True,
                 possessive=people) == "my friends lips, the throat s tight lol"
    assert clean("my husband's cheek, someone's been", punctuation=True, possessive=people) == \
        "my husbands cheek, someone s been"
    assert clean("My friend's lips", punctuation=True) == "my friend s lips"  # no people given


def test_speller_corrects_toward_vocabulary_but_never_a_real_word() -> None:
    speller = Speller(["throat", "swollen", "tight", "fever", "lips"])
    assert speller.correct("my thraot is swolen and tght, lipps too") == \
        "my throat is swollen and tight, lips too"
    assert speller.correct("fewer tips") == "fewer tips"


def test_speller_restores_dropped_letters_with_the_same_first_letter() -> None:
    speller = Speller(["tongue", "swollen", "throat", "swallow"])
    assert speller.correct("tung, thrt swllw") == "tongue, throat swallow"
    assert speller.correct("tang") == "tang"  # an English word is never changed
