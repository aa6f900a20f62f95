"""The second detector (phrase bank, clause by clause), the one-tap rule-out question, the
sign-specific advice and the data checks that keep rules, bank, advice and questions in step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.advisor import Advisor
from knowledge.detectors import (
    DETECTORS,
    PhraseBankError,
    load_detector,
    load_detectors,
    load_phrase_bank,
)
from knowledge.signdata import sign_data_problems
from tests.advisors import packaged_rules, shipped
from tests.cli import aftercare

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rules_only() -> Advisor:
    return shipped(second_detector=None)


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_each_detector_finds_an_unforeseen_wording_per_clause(name: str) -> None:
    detectors = load_detectors(name)
    assert [detector.name for detector in detectors] == name.split("+")
    for detector in detectors:
        finding = detector.detect(["my face looks like a sunburn", "cant get enough air"], 0)
        assert finding is not None and finding.tier == "emergency"
        assert finding.sign == "breathing_difficulty" and finding.clause == "cant get enough air"
        assert finding.reason.startswith("close to: ") and f"({detector.name})" in finding.reason


def test_a_clause_of_function_words_only_is_close_to_no_red_flag() -> None:
    # token-set similarity scored "what is it" 1.0 against a phrase holding those words: an
    # abstract question about scarring was raised to an emergency by the fuzz detector
    fuzz_only = load_detector("fuzz")
    assert fuzz_only is not None
    assert fuzz_only.detect(["what is it"], 5) is None
    assert fuzz_only.detect(["is it ok", "what is it"], 5) is None
    assert shipped(second_detector="fuzz").ask(
        "tram track scars, are those real? what is it?", 5).urgency is None


def test_second_detector_raises_what_the_rules_missed_and_says_why() -> None:
    triage = packaged_rules()
    text = "my mouth feels like its stuffed with cotton, and my bottom lip is sticking out loads"
    assert not triage.assess(text, 0).escalate  # the rules alone miss this wording
    decision = triage.with_detectors((load_detector("ngram"),)).assess(text, 0)  # type: ignore[arg-type]
    assert decision.urgency == "emergency" and decision.detector == "ngram"
    assert "close to:" in decision.reason and "bottom lip is sticking out loads" in decision.reason


def test_a_normal_clause_never_cancels_a_red_flag_clause(advisor: Advisor) -> None:
    text = "looks like a normal sunburn, a bit dry and flaky, skin feels tight. gasping for air"
    assert advisor.ask(text, 0).urgency == "emergency"


@pytest.mark.parametrize("text", [
    "no trouble breathing and no swelling of my lips",
    "what should i do if my throat gets tight?",
    "my friend said her tongue swelled up last year",
])
def test_negated_hypothetical_and_story_clauses_are_dropped_for_the_detector(
        advisor: Advisor, text: str) -> None:
    assert advisor.ask(text, 0).urgency is None


def test_unsure_symptom_gets_day_guidance_and_a_rule_out_question(advisor: Advisor) -> None:
    advice = advisor.ask("I feel sick and dizzy", 0)
    assert advice.urgency is None and advice.follow_up is not None
    assert advice.follow_up.tier == "emergency" and "treatment day" in advice.answer
    assert advice.to_json()["follow_up"]["buttons"] == ["Yes", "No"]
    yes = advisor.answer_follow_up(advice.follow_up.id, True, 0)
    assert yes is not None and yes.urgency == "emergency" and yes.triage is not None
    no = advisor.answer_follow_up(advice.follow_up.id, False, 0)
    assert no is not None and not no.escalate
    assert advisor.answer_follow_up("no_such_question", True, 0) is None
    assert advisor.ask("can i wear makeup", 1).follow_up is None


def test_ask_json_shows_the_follow_up_field() -> None:
    out = aftercare(ROOT, "ask", "--json", "--day", "2", "my face has blown up like a balloon")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["escalate"] is False and answer["follow_up"]["id"] == "airway"
    assert answer["follow_up"]["tier_if_yes"] == "emergency"


def test_sign_specific_advice(advisor: Advisor) -> None:
    pigment = advisor.ask("new dark patches on my cheek", 10).answer
    infection = advisor.ask("pus coming out of a spot", 3).answer
    assert "SPF" in pigment and "SPF" not in infection
    assert "temperature" in infection and "temperature" not in pigment


def test_packaged_rules_bank_advice_and_questions_agree() -> None:
    assert sign_data_problems(packaged_rules()) == []  # the rules as ``load_triage()`` reads them


def test_malformed_phrase_bank_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "phrases.yaml"
    path.write_text("version: 1\nsigns:\n  - id: x\n    tier: serious\n    phrases: [a b]\n"
                    "normal: [fine]\nunsure: [hmm]\n", encoding="utf-8")
    with pytest.raises(PhraseBankError) as error:
        load_phrase_bank(path)
    assert error.value.line == 4 and "emergency or urgent" in error.value.reason
