"""Red-flag triage: each §3 red flag, negation, hedging, day rules, normal symptoms, questions,
the staff reason line, and errors for a malformed rules file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge.triage import Triage, TriageDecision, TriageFileError, load_triage
from knowledge.triage.prepare import prepare
from tests.advisors import packaged_rules

# one worker runs the triage tables' modules (tests/conftest.py): it alone compiles the
# triage patterns and the whole regexes, which each worker did for its share of the cases
pytestmark = pytest.mark.xdist_group("triage")

EMERGENCY, URGENT = "emergency", "urgent"


@pytest.fixture(scope="module")
def triage() -> Triage:
    return packaged_rules()


# ------------------------------------------------------------------ EMERGENCY (§3)
EMERGENCY_CASES = [
    # the guidance's "Patients say" lines
    ("lips swelling and throat feels tight", 0, "airway_swelling"),
    ("cant breathe properly", None, "breathing_difficulty"),
    ("tongue feels huge", 1, "airway_swelling"),
    ("wheezy since the numbing cream", 0, "breathing_difficulty"),
    ("hives everywhere and i feel faint", 1, "collapse_or_confusion"),
    ("she's gasping, lips look blue", 0, "breathing_difficulty"),
    # own phrasings, sloppy typing included
    ("my lip is swelling up", 2, "airway_swelling"),
    ("swollen lips and tongue 😳", None, "airway_swelling"),
    ("my throat is closing up", 0, "airway_swelling"),
    ("Throat feels tight", 1, "airway_swelling"),
    ("its really hard to swallow", 0, "airway_swelling"),
    ("having trouble speaking", None, "airway_swelling"),
    ("my voice has gone hoarse", 1, "airway_swelling"),
    ("my tounge is swolen", 0, "airway_swelling"),
    ("I can't breathe", 0, "breathing_difficulty"),
    ("i cant breath", None, "breathing_difficulty"),
    ("struggling to catch my breath", 1, "breathing_difficulty"),
    ("short of breath and chest feels tight", 0, "breathing_difficulty"),
    ("he is choking", None, "breathing_difficulty"),
    ("her lips are turning blue", 0, "blue_or_grey_skin"),
    ("skin has gone grey", None, "blue_or_grey_skin"),
    ("i fainted in the bathroom", 1, "collapse_or_confusion"),
    ("my mum collapsed", 2, "collapse_or_confusion"),
    ("he passed out", None, "collapse_or_confusion"),
    ("she seems confused and really drowsy", 1, "collapse_or_confusion"),
    ("fever of 39 and my heart is racing", 3, "fever_with_systemic_signs"),
    ("feverish, cold and clammy", None, "fever_with_systemic_signs"),
    ("the redness is spreading really fast", 4, "redness_spreading_fast"),
    ("redness spreading by the hour", 1, "redness_spreading_fast"),
    ("i suddenly cant see out of my left eye", 0, "vision_loss"),
    ("lost my vision in one eye", None, "vision_loss"),
]


@pytest.mark.parametrize(("text", "day", "sign"), EMERGENCY_CASES)
def test_emergency_signs(triage: Triage, text: str, day: int | None, sign: str) -> None:
    decision = triage.assess(text, day)
    assert decision.urgency == EMERGENCY, decision.reason
    assert decision.sign == sign
    assert decision.escalate
    assert not decision.routine_review


# ------------------------------------------------------------------ URGENT (§3 table)
URGENT_CASES = [
    # the guidance's "Patients say" lines
    ("yellow crusty stuff on my cheek", 3, "infection_crust"),
    ("pus from a few spots", 4, "infection_pus"),
    ("hotter and more swollen than yesterday", 4, "swelling_increasing"),
    ("redness went away but it's back and throbbing", 4, "redness_returned"),
    ("red streaks down my neck", None, "red_streaks"),
    ("38.5 and shivery", 2, "fever"),
    ("blisters on my lip that tingle", 2, "cold_sore"),
    ("still bright red on day 6", 6, "redness_lasting"),
    ("bleeding won't stop", 0, "bleeding_not_stopping"),
    ("eye red and blurry", 1, "eye_problem"),
    ("dark patches where they needled", None, "dark_patches"),
    ("raised lines on my forehead", None, "scarring"),
    # infection
    ("theres puss coming out of one spot", 3, "infection_pus"),
    ("honey coloured crusts on my chin", 2, "infection_crust"),
    ("crusts look yellow", None, "infection_crust"),
    ("its oozing clear stuff", 3, "infection_oozing"),
    ("still weeping on day 2", 2, "infection_oozing"),
    ("it smells really bad", 3, "infection_smell"),
    ("red lines spreading up my neck", 3, "red_streaks"),
    ("i have a fever", 1, "fever"),
    ("temp of 39", None, "fever"),
    ("38,5c this morning", 2, "fever"),
    ("101F", None, "fever"),
    ("thermometer says 102 degrees", 3, "fever"),
    ("got the chills tonight", 1, "fever"),
    ("the redness is spreading to my neck", 3, "redness_worsening"),
    ("its getting worse not better", None, "redness_worsening"),
    ("redder than yesterday", 4, "redness_worsening"),
    ("swelling went down but now its come back", 3, "redness_returned"),
    ("hot and painful", None, "heat_and_pain"),
    ("it feels hot to the touch and sore", 3, "heat_and_pain"),
    # lasting redness or swelling
    ("my face is still really red", 5, "redness_lasting"),
    ("still swollen", 6, "swelling_lasting"),
    ("swelling is getting worse", 3, "swelling_increasing"),
    ("my eye is swollen shut", 1, "eye_swollen_shut"),
    ("i cant open my right eye", 2, "eye_swollen_shut"),
    # pain
    ("the pain is unbearable", 1, "pain_severe"),
    ("pain is 8/10", 0, "pain_severe"),
    ("it hurts more than yesterday", 2, "pain_increasing"),
    ("more painful today", 3, "pain_increasing"),
    ("paracetamol isn't helping the pain", 1, "pain_not_helped"),
    ("painkillers dont do anything", None, "pain_not_helped"),
    # blisters and cold sores
    ("there are blisters on my cheek", 1, "blisters"),
    ("little blistery bumps", None, "blisters"),
    ("tingling on my upper lip", 2, "cold_sore"),
    ("i think i have a cold sore coming", 1, "cold_sore"),
    ("blisters on my eyelid", 2, "eyelid_blisters"),
    # rashes and reactions
    ("hives spreading on my neck", 1, "rash_or_hives"),
    ("raised itchy rash on my cheeks", 2, "rash_or_hives"),
    ("my skin is raw and burning after the vitamin c serum", 2, "product_reaction"),
    ("i think im having an allergic reaction", None, "rash_or_hives"),
    # bleeding and bruising
    ("still bleeding after 10 minutes of pressure", 0, "bleeding_not_stopping"),
    ("it keeps bleeding", 0, "bleeding_not_stopping"),
    ("started bleeding again today", 4, "bleeding_new"),
    ("the bruise keeps growing", 3, "bruise_growing"),
    # eyes
    ("my eye hurts", 1, "eye_problem"),
    ("got serum in my eye and it still stings", 0, "eye_problem"),
    ("discharge coming from my eye", 2, "eye_problem"),
    ("my eyes are streaming", 1, "eye_problem"),
    ("blurred vision since this morning", 2, "eye_problem"),
    # healing, pigment, scars
    ("there are still raw open areas", 8, "raw_not_healing"),
    ("one patch hasn't healed", 10, "raw_not_healing"),
    ("hard lumps under the skin", 21, "hard_lumps"),
    ("brown patches on my cheeks", 14, "dark_patches"),
    ("i can see a grid pattern on my forehead", 10, "scarring"),
    ("tram track lines on my cheek", None, "scarring"),
]


@pytest.mark.parametrize(("text", "day", "sign"), URGENT_CASES)
def test_urgent_signs(triage: Triage, text: str, day: int | None, sign: str) -> None:
    decision = triage.assess(text, day)
    assert decision.urgency == URGENT, decision.reason
    assert decision.sign == sign
    assert decision.escalate
    assert not decision.routine_review


def test_emergency_outranks_urgent(triage: Triage) -> None:
    decision = triage.assess("pus on my cheek and my lips are swelling", 4)
    assert decision.urgency == EMERGENCY
    assert decision.sign == "airway_swelling"
    assert "infection_pus" in decision.others


# ------------------------------------------------------------------ negation
NEGATED = [
    ("no pus", 3),
    ("no fever", 2),
    ("breathing is fine", 1),
    ("not swollen", 5),
    ("without any blisters", 2),
    ("no pus, no fever, just a bit red", 1),
    ("my lips aren't swollen", 0),
    ("no trouble breathing", 0),
    ("i don't have a temperature", 3),
    ("it isn't oozing", 3),
    ("it doesnt smell", 4),
    ("no longer bleeding", 0),
    ("hasn't got any yellow crust", 4),
    ("never had a fever", 2),
    ("neither pus nor fever", 3),
    ("not hot or painful", 4),
    ("the swelling has gone down", 6),
    ("redness has completely faded", 5),
    ("no redness spreading", 4),
    ("my throat isnt tight", 0),
    ("the bleeding has stopped", 0),
    ("temp is 37.2", None),
]


@pytest.mark.parametrize(("text", "day"), NEGATED)
def test_negated_signs_are_cancelled(triage: Triage, text: str, day: int | None) -> None:
    decision = triage.assess(text, day)
    assert decision.urgency is None, decision.reason
    assert not decision.routine_review


def test_negation_does_not_reach_the_next_clause(triage: Triage) -> None:
    decision = triage.assess("no fever but there's pus coming out", 3)
    assert decision.sign == "infection_pus"


def test_negation_does_not_cross_and_with_a_new_subject(triage: Triage) -> None:
    decision = triage.assess("not itchy and my lip is swelling", 1)
    assert decision.urgency == EMERGENCY


# ------------------------------------------------------------------ hedging never cancels
HEDGED = [
    (
        "I don't think it's infected but there's yellow crust spreading",
        None,
        URGENT,
        "infection_crust",
    ),
    ("probably nothing but my lip is swelling", None, EMERGENCY, "airway_swelling"),
    ("not sure if this is pus", 3, URGENT, "infection_pus"),
    ("i dont want to bother you but there's pus", 3, URGENT, "infection_pus"),
    ("it's probably nothing, just some red streaks", 2, URGENT, "red_streaks"),
    ("not sure if it's normal but I can't breathe properly", 0, EMERGENCY, "breathing_difficulty"),
    ("I don't know if it's related but my tongue feels huge", 1, EMERGENCY, "airway_swelling"),
    ("not a big deal but I've got a fever of 38.6", 2, URGENT, "fever"),
    ("no idea why but i feel faint", 1, EMERGENCY, "collapse_or_confusion"),
    ("no its worse than yesterday", 4, URGENT, "redness_worsening"),
]


@pytest.mark.parametrize(("text", "day", "urgency", "sign"), HEDGED)
def test_hedging_does_not_cancel(
    triage: Triage, text: str, day: int | None, urgency: str, sign: str
) -> None:
    decision = triage.assess(text, day)
    assert (decision.urgency, decision.sign) == (urgency, sign), decision.reason


def test_infected_alone_is_not_a_red_flag(triage: Triage) -> None:
    assert triage.assess("i don't think it's infected", None).urgency is None


# ------------------------------------------------------------------ day rules (§3, §2.11)
# (text, day, urgency, routine_review)
DAY_RULES = [
    # strong redness: normal days 0-2, routine review days 3-4, urgent day 5+, not a flag on its own
    ("really red", 1, None, False),
    ("really red", 3, None, True),
    ("really red", 4, None, True),
    ("really red", 5, URGENT, False),
    ("really red", 6, URGENT, False),
    ("really red", None, None, False),
    ("still red and not improving", 3, None, True),
    # worse / spreading redness: urgent from day 3 and when the day is unknown
    ("the redness is worse and spreading", 1, None, False),
    ("the redness is worse and spreading", 3, URGENT, False),
    ("the redness is worse and spreading", 4, URGENT, False),
    ("the redness is worse and spreading", 5, URGENT, False),
    ("the redness is worse and spreading", 6, URGENT, False),
    ("the redness is worse and spreading", None, URGENT, False),
    # swelling still there
    ("still swollen", 1, None, False),
    ("still swollen", 3, None, True),
    ("still swollen", 4, None, True),
    ("still swollen", 5, URGENT, False),
    ("still swollen", 6, URGENT, False),
    ("still swollen", None, None, False),
    # swelling increasing
    ("swelling is getting worse", 1, None, False),
    ("swelling is getting worse", 3, URGENT, False),
    ("swelling is getting worse", 4, URGENT, False),
    ("swelling is getting worse", 6, URGENT, False),
    ("swelling is getting worse", None, URGENT, False),
    # hot and painful
    ("hot and painful", 1, None, False),
    ("hot and painful", 4, URGENT, False),
    # oozing only counts after day 1
    ("its oozing", 1, None, False),
    ("its oozing", 2, URGENT, False),
    # faint pinkness late is a routine review, early it is normal
    ("still a bit pink", 6, None, True),
    ("still a bit pink", 1, None, False),
    ("a bit red", 3, None, False),
]


@pytest.mark.parametrize(("text", "day", "urgency", "review"), DAY_RULES)
def test_day_rules(
    triage: Triage, text: str, day: int | None, urgency: str | None, review: bool
) -> None:
    decision = triage.assess(text, day)
    assert decision.urgency == urgency, decision.reason
    assert decision.routine_review is review, decision.reason
    assert decision.escalate is (urgency is not None)


def test_routine_review_names_the_sign_but_does_not_escalate(triage: Triage) -> None:
    decision = triage.assess("still really red", 4)
    assert decision.sign == "redness_not_improving"
    assert decision.routine_review and not decision.escalate


# ------------------------------------------------------------------ normal things do not escalate
NORMAL = [
    ("a bit red and tight", 0),
    ("a bit red and tight", 2),
    ("flaky and itchy", 3),
    ("tiny dots of blood", 0),
    ("small spots on my chin", 4),
    ("puffy eyes this morning", 1),
    ("stings a bit", 0),
    ("can i wear makeup", 1),
    ("when can i go to the gym", 2),
    ("is it normal to be red", 1),
    ("really red is that normal", 1),
    ("i look sunburnt", 0),
    ("skin feels tight", 1),
    ("so dry", 3),
    ("peeling round my nose", 4),
    ("feels like sandpaper", 3),
    ("little scabs on my forehead", 2),
    ("bruise under my eye", 2),
    ("a few white bumps", 5),
    ("my face is sore", 0),
    ("can i take ibuprofen", 1),
    ("can i have a glass of red wine tonight", 6),
    ("is a hot shower ok", 3),
    ("still pink", 3),
    ("feels warm", 0),
    ("i'm a bit confused about when to use sunscreen", 2),
    ("can i use my retinol again", 8),
    ("no difference yet", 14),
    ("thanks, all good 👍", 3),
    ("spreading moisturiser on it now", 4),
    ("my back is sore from the gym", 5),
    ("should i come back for another session in 4 weeks", 20),
    ("will it help my dark spots", None),
    ("I get cold sores sometimes, should I take something before?", None),
    ("swelling is going down nicely", 5),
    ("its 38 years since my last facial", None),
]


@pytest.mark.parametrize(("text", "day"), NORMAL)
def test_normal_symptoms_do_not_escalate(triage: Triage, text: str, day: int | None) -> None:
    decision = triage.assess(text, day)
    assert not decision.escalate, decision.reason
    assert decision.urgency is None


# ------------------------------------------------------------------ hypothetical questions
HYPOTHETICAL = [
    ("what should i do if i get a fever?", 1),
    ("what if my lips swell?", 0),
    ("what are the signs of infection", None),
    ("how do i know if it's infected", 3),
    ("if i get blisters should i call you", 2),
    ("can microneedling cause scarring?", None),
    ("what does an infection look like", 4),
    ("how long does the swelling last", 5),
    ("what happens if it starts bleeding again", 3),
    ("signs of infection to look out for: pus, fever, spreading redness?", None),
]


@pytest.mark.parametrize(("text", "day"), HYPOTHETICAL)
def test_hypothetical_questions_do_not_escalate(triage: Triage, text: str, day: int | None) -> None:
    decision = triage.assess(text, day)
    assert not decision.escalate, decision.reason


def test_report_after_a_hypothetical_sentence_still_counts(triage: Triage) -> None:
    decision = triage.assess("what are the signs of infection? there's pus on my chin", 3)
    assert decision.sign == "infection_pus"


def test_report_phrased_as_a_question_still_counts(triage: Triage) -> None:
    assert triage.assess("is it normal to have pus?", 3).urgency == URGENT


# ------------------------------------------------------------------ reason, evidence, API
def test_reason_names_sign_rule_day_and_words(triage: Triage) -> None:
    decision = triage.assess("the redness is spreading to my neck", 4)
    assert decision.rule.endswith("(day 4)")
    assert "redness_worsening" in decision.reason
    assert "day 4" in decision.reason
    assert "spreading" in decision.evidence
    assert decision.evidence in decision.reason


def test_reason_with_unknown_day(triage: Triage) -> None:
    decision = triage.assess("pus from a few spots", None)
    assert "infection_pus" in decision.reason
    assert "day unknown" in decision.reason


def test_evidence_quotes_the_patient(triage: Triage) -> None:
    decision = triage.assess("I don't think it's infected but there's yellow crust spreading", 3)
    assert "yellow crust spreading" in decision.evidence


def test_no_flag_decision(triage: Triage) -> None:
    decision = triage.assess("can i wear makeup", 2)
    assert decision == TriageDecision(day=2)
    assert decision.sign is None and decision.rule == "" and decision.evidence == ""
    assert decision.reason == "no red flag (day 2)"


def test_decision_is_frozen(triage: Triage) -> None:
    decision = triage.assess("pus", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.urgency = None  # type: ignore[misc]


def test_empty_message(triage: Triage) -> None:
    assert not triage.assess("", 1).escalate


# ------------------------------------------------------------------ malformed rules file
VALID_HEAD = """\
version: 1
fever: {celsius: 38.0, fahrenheit: 100.4, context: 'temp', not_after: 'x', not_before: 'y'}
language:
  vocabulary: [pus]
  jokes: {markers: ['haha'], hyperbole: ['dying']}
  story: {present: ['now'], others: ['friend'], past: ['ago'], first_person: ['\\bi\\b']}
  hedges: ['probably nothing']
  negations: ['\\bno\\b']
  clause_breaks: [',']
  sentence_breaks: ['[.?!]']
  hypothetical: ['what if']
  hypothetical_ends: ['but']
  cancelled_after: '\\s*gone'
vocab:
  pus: 'pus'
signs:
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(VALID_HEAD + body, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_minimal_valid_file_loads_and_works(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - {id: pus, tier: urgent, rule: pus, patterns: ['\\b<pus>\\b']}\n")
    rules = load_triage(path)
    assert rules.sign_ids == ("pus",)
    assert rules.assess("puss on my chin", 2).sign == "pus"
    assert rules.assess("no puss", 2).sign is None


def test_register_reads_regional_words_as_plain_ones(tmp_path: Path) -> None:
    """``language.register`` (round sixty-one): a regional or older word or phrase is read as
    the plain words it stands for before the rules run ("thrapple" throat, "out cold" passed
    out); a whole word only ("amazed" is not "mazed"); a phrase that is not lowercase words
    fails naming its line."""
    head = VALID_HEAD.replace(
        "  cancelled_after: '\\s*gone'\n",
        "  cancelled_after: '\\s*gone'\n"
        "  register: {thrapple: throat, out cold: passed out, mazed: confused}\n")
    path = tmp_path / "rules.yaml"
    body = ("  - {id: airway, tier: emergency, rule: airway, patterns: ['\\bthroat\\s+tight']}\n"
            "  - {id: faint, tier: emergency, rule: faint, patterns: ['\\bpassed\\s+out']}\n"
            "  - {id: muddled, tier: emergency, rule: muddled, patterns: ['\\bconfused']}\n")
    path.write_text(head + body, encoding="utf-8")
    rules = load_triage(path)
    assert rules.assess("my thrapple tight", 0).sign == "airway"
    assert rules.assess("went out cold in the yard", 1).sign == "faint"
    assert rules.assess("i was amazed", 1).sign is None
    assert rules.assess("no thrapple tight", 0).sign is None
    path.write_text(head.replace("mazed: confused", "Mazed: confused") + body, encoding="utf-8")
    with pytest.raises(TriageFileError) as info:
        load_triage(path)
    assert info.value.line == _line_of(path, "Mazed")
    assert "lowercase words" in info.value.reason


MALFORMED = [
    ("  - {id: pus, tier: serious, rule: pus, patterns: [pus]}\n", "tier: serious", "unknown tier"),
    (
        "  - {id: pus, tier: urgent, rule: pus, patterns: ['(pus']}\n",
        "(pus",
        "bad regular expression",
    ),
    ("  - {id: pus, tier: urgent, patterns: [pus]}\n", "id: pus", "missing 'rule'"),
    ("  - {id: pus, tier: urgent, rule: pus, patterns: ['<nope>']}\n", "<nope>", "unknown vocab"),
    (
        "  - {id: pus, tier: urgent, rule: pus, patterns: ['@reading:nope']}\n",
        "@reading:nope",
        "unknown reading",
    ),
    (
        "  - {id: pus, tier: urgent, rule: pus, colour: red, patterns: [pus]}\n",
        "colour",
        "unknown key",
    ),
    (
        (
            "  - {id: pus, tier: urgent, rule: a, patterns: [pus]}\n"
            "  - {id: pus, tier: urgent, rule: b, patterns: [pus]}\n"
        ),
        "rule: b",
        "duplicate sign id",
    ),
    (
        "  - id: pus\n    tier: urgent\n    rule: pus\n    days: {from: 5, to: 2}\n"
        "    patterns: [pus]\n",
        "days:",
        "before days.from",
    ),
    ("  - {id: pus, tier: urgent, rule: pus, patterns: [pus]\n", "", "invalid YAML"),
]


@pytest.mark.parametrize(("body", "needle", "reason"), MALFORMED)
def test_malformed_file_names_file_line_and_reason(
    tmp_path: Path, body: str, needle: str, reason: str
) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(TriageFileError) as info:
        load_triage(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == str(path)
    assert reason in error.reason
    assert error.line is not None
    if needle:
        assert error.line == _line_of(path, needle)
    assert str(error).startswith(f"{path}:{error.line}: ")


def test_patterns_left_to_the_first_message_are_checked_then(tmp_path: Path) -> None:
    """``compile_now=False`` (the advisor's start-up) compiles a sign's patterns when a message
    first needs them: the same decisions; a bad pattern fails then, naming the file and the
    line of its list; the whole file is still checked at once by default (``kb check``)."""
    body = ("  - id: pus\n    tier: urgent\n    rule: pus\n    patterns: ['\\b<pus>\\b']\n"
            "    unless: ['pus free']\n")
    rules = load_triage(_write(tmp_path, body), compile_now=False)
    assert rules.assess("puss on my chin", 2).sign == "pus"
    assert rules.assess("no puss", 2).sign is None
    assert rules.assess("pus free now", 2).sign is None
    path = _write(tmp_path, body.replace("'pus free'", "'(pus free'"))
    lazy = load_triage(path, compile_now=False)
    assert lazy.assess("a cold sore", 2).sign is None  # no pattern of the sign matched
    with pytest.raises(TriageFileError) as info:
        lazy.assess("pus on my chin", 2)
    assert info.value.path == str(path)
    assert info.value.line == _line_of(path, "unless:")  # the line of its list
    assert "bad regular expression" in info.value.reason
    with pytest.raises(TriageFileError) as info:
        load_triage(path)
    assert info.value.line == _line_of(path, "(pus free")
    # a bad pattern of the sign's own, searched alone by the pre-filter: the same error
    path = _write(tmp_path, body.replace("patterns: ['\\b<pus>\\b']",
                                         "patterns: ['\\b<pus>\\b', '(pus now']"))
    with pytest.raises(TriageFileError) as info:
        load_triage(path, compile_now=False).assess("pus on my chin", 2)
    assert info.value.line == _line_of(path, "patterns:")
    assert "bad regular expression" in info.value.reason


WORD_LISTS_MALFORMED = [
    ("  filler: ['honestly', '(tbh']\n", "(tbh", "bad regular expression"),
    ("  filler: 'honestly'\n", "filler:", "must be a list"),
    ("  intensifiers: []\n", "intensifiers:", "at least one pattern"),
    ("  arrows: {worse: ['↑'], better: ['->']}\n", "->", "single character"),
    ("  arrows: {worse: ['↑']}\n", "arrows:", "missing 'better'"),
    ("  inability: ['cant', 'Can Not']\n", "Can Not", "lowercase words"),
    ("  degree_words: [almost, 3]\n", "degree_words:", "non-empty text"),
    # the pronoun reading's lists (round 37: data, no longer regexes in prepare.py)
    ("  pronouns: {things: ['serums?', '(cream'], played_down: [fine], compounds: [liner]}\n",
     "(cream", "bad regular expression"),
    ("  pronouns: {things: [serum], played_down: ['fine', '\\w*'], compounds: [liner]}\n",
     "pronouns:", "matches an empty word"),
    ("  pronouns: {things: [serum], played_down: [fine]}\n", "pronouns:", "missing 'compounds'"),
    ("  pronouns: {things: [serum], played_down: [], compounds: [liner]}\n", "pronouns:",
     "at least one pattern"),
    # the readings' lists (data, no longer regexes in prepare.py)
    ("  readings: {concessive: ['even', '(though'], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]}}\n",
     "(though", "bad regular expression"),
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading]}}\n", "owned:", "missing 'at'"),
    ("  readings: {concessive: [even], owned: {pointing: [thats], what: [x], at: [y]}}\n",
     "readings:", "missing 'state_start'"),
    # the bridged reading's frame (round 43: data, no longer regexes in prepare.py)
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             bridge: {parts: ['tongue', '(lips'], adverbs: [just], verbs: [is]}}\n",
     "(lips", "bad regular expression"),
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             bridge: {parts: [tongue], verbs: [is]}}\n", "bridge:", "missing 'adverbs'"),
    # the frames of the other readings (round 43: data, no longer regexes in prepare.py): a
    # list missing, an item that is no text, a bad pattern, a shared list left out
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             label: {owners: [my], also_owners: [are], also: [pain]}}\n",
     "label:", "missing 'not_after'"),
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             comparing: {words: [more, [less]]}}\n",
     "comparing:", "readings.comparing.words must be non-empty text"),
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             relative: {pronouns: [which,\n"
     "                        '(who'], places: [where], after: [is]}}\n", "(who",
     "bad regular expression"),
    ("  readings: {concessive: [even], state_start: [is],\n"
     "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
     "             appositive: {also: [cheek], which: [the], ones: [one], after: [is]}}\n",
     "appositive:", "readings.appositive needs readings.parts"),
]


@pytest.mark.parametrize(("lines", "needle", "reason"), WORD_LISTS_MALFORMED)
def test_malformed_word_list_names_file_line_and_reason(
    tmp_path: Path, lines: str, needle: str, reason: str
) -> None:
    """The word lists of the language section (filler, intensifiers, arrows, inability, degree
    words) are checked like the rest of the file: file, line and reason."""
    head = VALID_HEAD.replace("vocab:\n", lines + "vocab:\n", 1)
    path = tmp_path / "rules.yaml"
    path.write_text(head + "  - {id: pus, tier: urgent, rule: pus, patterns: [pus]}\n", "utf-8")
    with pytest.raises(TriageFileError) as info:
        load_triage(path)
    assert reason in info.value.reason
    assert info.value.line == _line_of(path, needle)


def test_word_lists_of_the_file_prepare_the_message(tmp_path: Path) -> None:
    """Filler between commas, stacked intensifiers and arrows come from the rules file."""
    lists = ("  filler: ['honestly']\n  intensifiers: ['really']\n"
             "  arrows: {worse: ['↑'], better: ['↓']}\n")
    path = tmp_path / "rules.yaml"
    path.write_text(VALID_HEAD.replace("vocab:\n", lists + "vocab:\n", 1)
                    + "  - {id: pus, tier: urgent, rule: pus, patterns: ['more pus', 'pus worse',"
                      " 'really sore']}\n", "utf-8")
    rules = load_triage(path)
    assert rules.assess("more, honestly, pus", 2).sign == "pus"
    assert rules.assess("pus ↑↑", 2).sign == "pus"
    assert rules.assess("pus ↓", 2).sign is None
    assert rules.assess("really, really sore", 2).sign == "pus"


def _oozing_rules(tmp_path: Path, readings: str) -> Path:
    """A rules file whose ``readings`` end with `readings` (after the required lists) and whose
    one sign is oozing of the tongue or the gum."""
    lists = ("  readings: {concessive: [even], state_start: [is],\n"
             "             owned: {pointing: [thats], what: [reading], at: [mine]},\n"
             f"             {readings}\n")
    path = tmp_path / "rules.yaml"
    path.write_text(VALID_HEAD.replace("vocab:\n", lists + "vocab:\n", 1)
                    + "  - {id: pus, tier: urgent, rule: pus, patterns: ['(?:tongue|gum) is"
                      " oozing']}\n", "utf-8")
    return path


def test_bridged_reading_words_come_from_the_file(tmp_path: Path) -> None:
    """An insertion between a part the file's ``readings.bridge`` names and its predicate is
    read out of the way; a subject the file does not name keeps its insertion in place."""
    path = _oozing_rules(tmp_path, "bridge: {parts: [tongue], adverbs: [just], verbs: [is]}}")
    rules = load_triage(path)
    # the insertion names a sign word, so only the bridged reading moves it
    assert rules.assess("my tongue, mostly where the pus was, is oozing", 2).sign == "pus"
    assert rules.assess("my gum, mostly where the pus was, is oozing", 2).sign is None
    path.write_text(path.read_text("utf-8").replace(
        ",\n             bridge: {parts: [tongue], adverbs: [just], verbs: [is]}}", "}"), "utf-8")
    assert load_triage(path).assess("my tongue, mostly where the pus was, is oozing",
                                    2).sign is None


def test_reading_frames_words_come_from_the_file(tmp_path: Path) -> None:
    """A part written as a label is read with its state when the file's ``readings.parts``
    names it (``readings.label``); a part the file does not name, or a file without the
    label's lists, keeps the label as written."""
    path = _oozing_rules(tmp_path, "parts: [tongue],\n"
                         "             label: {owners: [my], also_owners: [are], also: [pain],"
                         " not_after: [is]}}")
    rules = load_triage(path)
    assert rules.assess("my tongue: oozing", 2).sign == "pus"
    assert rules.assess("my gum: oozing", 2).sign is None
    path.write_text(path.read_text("utf-8").replace(
        ",\n             label: {owners: [my], also_owners: [are], also: [pain],"
        " not_after: [is]}}", "}"), "utf-8")
    assert load_triage(path).assess("my tongue: oozing", 2).sign is None


def test_owned_reading_words_come_from_the_file(tmp_path: Path) -> None:
    """A temperature asked about and then owned as the writer's reading is read again as
    theirs with the words of the file's ``readings.owned``; without them it is not."""
    sign = "  - {id: temp, tier: urgent, rule: temp, patterns: ['temperature is 38']}\n"
    lists = ("  readings: {concessive: [even], state_start: [is],\n"
             "             owned: {pointing: [thats], what: ['my\\s+reading\\b'], at: [mine]}}\n")
    path = tmp_path / "rules.yaml"
    path.write_text(VALID_HEAD.replace("vocab:\n", lists + "vocab:\n", 1) + sign, "utf-8")
    rules = load_triage(path)
    assert rules.assess("would 38.6 be bad? thats my reading", 2).sign == "temp"
    assert rules.assess("would 38.6 be bad? thats not my reading", 2).sign is None
    assert rules.assess("would 38.6 be bad? thats what the leaflet says", 2).sign is None
    path.write_text(VALID_HEAD + sign, "utf-8")
    assert load_triage(path).assess("would 38.6 be bad? thats my reading", 2).sign is None


def test_readings_are_named_and_staff_see_one(triage: Triage) -> None:
    """A message is prepared as said plus each reading made again by name; the rules search
    them all, and what staff are shown comes from one reading, never the readings run together."""
    lang = triage._lang
    raw = "the swelling, and i dont mean the puffy bit, i mean my lips, is getting worse"
    readings = prepare(raw, lang)
    assert readings.corrected is not None and readings.resolved is None
    assert any("the swelling of my lips is getting worse" in piece
               for piece in readings.corrected)
    assert readings.text.startswith(readings.said)
    at = readings.text.index("of my lips")
    assert readings.reading_at(at) == "corrected" and readings.reading_at(0) == "said"
    assert prepare("my lips look odd", lang).text == "my lips look odd"
    resolved = prepare("my lips look odd, theyre swelling", lang)
    assert resolved.resolved == "my lips look odd, my lips are swelling"
    assert resolved.reading_at(resolved.text.index("my lips are")) == "resolved"
    owned = prepare("would 38.6 be a fever? thats my reading right now", lang)
    assert owned.owned == "my temperature is 38.6 now"
    for message in (raw, "my tongue - sorry, typing one handed - is swelling up",
                    "my throat, even though i slept propped up, feels tight"):
        decision = triage.assess(message, 1)
        assert decision.escalate
        assert " . " not in decision.evidence and decision.evidence in prepare(message, lang).text
        assert decision.reason.count(decision.evidence) == 1


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(TriageFileError) as info:
        load_triage(missing)
    assert str(missing) in str(info.value)


def test_packaged_rules_cover_every_tier(triage: Triage) -> None:
    tiers = {sign.tier for sign in triage.signs}
    assert tiers == {"emergency", "urgent", "review", "check"}
    assert triage.path.endswith("triage.yaml")


# ------------------------------------------------------------------ questions the KB answers
KB_NOT_TRIAGE = [
    ("i have a cold sore can i still come in", None),
    ("cold sore on my lip before my appointment", None),
    ("i get fever blisters", None),
    ("keloid scars", None),
    ("dark mark under eye after needling", None),
    ("will i be red for my meeting tomorrow", 6),
    ("when can i have a chemical peel", 10),
]


@pytest.mark.parametrize(("text", "day"), KB_NOT_TRIAGE)
def test_faq_questions_are_left_to_the_kb(triage: Triage, text: str, day: int | None) -> None:
    decision = triage.assess(text, day)
    assert decision.sign is None, decision.reason


# ------------------------------------------------------------------ clause edge cases
CLAUSE_EDGES = [
    ("nothing like pus", 3, None),
    ("what if it's infected, there's yellow crust", 3, "infection_crust"),
    ("she's not eating and has a fever", 2, "fever"),
    ("my lips are fine but throat feels tight", 0, "airway_swelling"),
    ("is 37.8 a fever?", None, None),
    ("my temp is 39, is that a fever?", None, "fever"),
    ("I'm 38 and this is my first treatment", None, None),
    ("i have a cold sore", 2, "cold_sore"),
]


@pytest.mark.parametrize(("text", "day", "sign"), CLAUSE_EDGES)
def test_clause_edge_cases(triage: Triage, text: str, day: int | None, sign: str | None) -> None:
    assert triage.assess(text, day).sign == sign
