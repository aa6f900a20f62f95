"""The "concepts" second detector (knowledge/concepts.py): a body part or function near an
abnormal state word raises the sign group's tier, as classes, with controls that stay normal.

The class cases live in ``tests/data/concept_classes.yaml`` and go through ``Advisor.ask`` with
the rules and ``ngram+concepts``; below them, the detector on its own (typos and shorthand as a
class, day windows, the reason staff see), ``kb check`` on a malformed concepts file, and
``aftercare ask --json`` naming the concepts detector's reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from knowledge.advisor import Advisor
from knowledge.concepts import ConceptDetector, ConceptsError, load_concepts
from knowledge.detectors import DEFAULT_DETECTOR, DETECTORS, load_detector, load_detectors
from knowledge.signdata import concept_problems
from tests.advisors import packaged_rules, shipped
from tests.cli import aftercare
from tests.yamldata import load_yaml

pytestmark = pytest.mark.xdist_group("triage")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def _cases() -> list[Any]:
    cases = []
    for block in load_yaml(DATA / "concept_classes.yaml"):
        for case in block["cases"]:
            cases.append(pytest.param(case, id=f"{block['class']}: {case['text'][:40]}"))
    return cases


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(second_detector="ngram+concepts")


@pytest.fixture(scope="module")
def concepts() -> ConceptDetector:
    detector = load_detector("concepts")
    assert isinstance(detector, ConceptDetector)
    return detector


@pytest.mark.parametrize("case", _cases())
def test_concept_class(advisor: Advisor, case: dict[str, Any]) -> None:
    advice = advisor.ask(case["text"], case["day"])
    assert (advice.urgency or "none") == case["tier"], advice.triage and advice.triage.reason
    if "sign" in case:
        assert advice.triage is not None and advice.triage.sign == case["sign"]


@pytest.mark.parametrize(("clause", "day", "sign", "reason"), [
    # a state nobody listed for the part, on either side of it, with words between
    ("she is on the floor breathing badly", 0, "breathing_difficulty", "breathing + badly"),
    ("my breathing has gone all wrong", 0, "breathing_difficulty", "breathing + wrong"),
    ("my sight is just lost on the left", 2, "vision_loss", "sight + lost"),
    ("throat feels weird and tight", 0, "airway_swelling", "throat + weird and tight"),
    ("my lips are massive", 0, "airway_swelling", "lips + massive"),
    ("my chin is twice the size today", 4, "swelling_increasing", "chin + twice"),
    # typos of the anchor or the state (swapped, dropped, doubled letters), corrected toward
    # the concept words by the project's speller
    ("my breathng feels hevy", 0, "breathing_difficulty", "breath + heavy"),
    ("my tounge is enormus", 0, "airway_swelling", "tongue + enormous"),
    ("my lipps look masive", 0, "airway_swelling", "lips + massive"),
])
def test_anchor_near_state_raises_the_group(concepts: ConceptDetector, clause: str, day: int,
                                            sign: str, reason: str) -> None:
    finding = concepts.detect([clause], day)
    assert finding is not None and finding.sign == sign
    assert finding.reason == f"close to: {reason} (concepts)"


@pytest.mark.parametrize(("clause", "day"), [
    ("my chin is twice the size today", 1),  # days 0-2: swelling is the normal course
    ("breathing hard after a run up the stairs", 0),  # an exertion the group lists
    ("i have bad breath from the numbing cream", 0),
    ("i cant see any difference yet", 14),
    ("my lips look massive haha but i love them", 1),
    ("how fast does redness normally spread", None),
    ("my breathing is slow and calm", 0),  # no abnormal state
    ("my lips are dry", 0),
])
def test_controls_stay_quiet(concepts: ConceptDetector, clause: str, day: int | None) -> None:
    assert concepts.detect([clause], day) is None


def test_the_parts_must_be_near(concepts: ConceptDetector) -> None:
    near = "my breathing feels so very badly off"
    far = "my breathing was fine at the clinic and then later at home the dog was acting badly"
    assert concepts.detect([near], 0) is not None
    assert concepts.detect([far], 0) is None


def test_shorthand_through_the_advisor(advisor: Advisor) -> None:
    advice = advisor.ask("throats gone tight n weird rn", 0)
    assert advice.urgency == "emergency"


def test_concepts_is_offered_alone_and_with_ngram() -> None:
    assert "concepts" in DETECTORS and "ngram+concepts" in DETECTORS
    assert [d.name for d in load_detectors("ngram+concepts")] == ["ngram", "concepts"]


def test_the_rules_miss_what_concepts_catches() -> None:
    text = "my lungs feel all wrong right now"
    assert not packaged_rules().assess(text, 0).escalate
    decision = packaged_rules().with_detectors(load_detectors("concepts")).assess(text, 0)
    assert decision.urgency == "emergency" and decision.detector == "concepts"
    assert "close to: lungs + wrong (concepts)" in decision.reason


def test_packaged_concepts_agree_with_the_rules() -> None:
    assert concept_problems(packaged_rules()) == []


@pytest.mark.parametrize(("text", "line", "words"), [
    ("version: 1\nwindow: 3\ngroups:\n  - id: x\n    sign: fever\n    tier: serious\n"
     "    anchors: [fever]\n    states: [high]\n", 6, "emergency or urgent"),
    ("version: 1\nwindow: 3\ngroups:\n  - id: x\n    sign: fever\n    tier: urgent\n"
     "    anchors: [fever]\n    states: [high, Very-High]\n", 8, "lowercase words"),
    ("version: 1\nwindow: 3\ngroups:\n  - id: x\n    sign: fever\n    tier: urgent\n"
     "    anchors: [fever]\n    states: [high]\n    colour: red\n", 9, "unknown field"),
    ("version: 1\nwindow: 3\ngroups:\n  - id: x\n    sign: fever\n    tier: urgent\n"
     "    anchors: [fever\n", 8, "invalid YAML"),
])
def test_malformed_concepts_file_names_file_line_and_reason(
        tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "concepts.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConceptsError) as error:
        load_concepts(path)
    assert error.value.path == str(path) and error.value.line == line
    assert words in error.value.reason
    [problem] = concept_problems(packaged_rules(), path)
    assert (problem.path, problem.line) == (str(path), line) and words in problem.reason


def test_kb_check_names_a_group_that_disagrees_with_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "concepts.yaml"
    path.write_text("version: 1\nwindow: 3\ngroups:\n"
                    "  - id: a\n    sign: no_such_sign\n    tier: urgent\n"
                    "    anchors: [fever]\n    states: [high]\n"
                    "  - id: b\n    sign: fever\n    tier: emergency\n"
                    "    anchors: [fever]\n    states: [high]\n"
                    "  - id: c\n    sign: swelling_increasing\n    tier: urgent\n"
                    "    anchors: [cheek]\n    states: [bigger]\n", encoding="utf-8")
    problems = concept_problems(packaged_rules(), path)
    assert [(p.line, p.reason.split(":")[0]) for p in problems] == [(4, "a"), (9, "b"), (14, "c")]
    assert "unknown sign" in problems[0].reason and "urgent in the rules" in problems[1].reason
    assert "days" in problems[2].reason


def test_kb_check_is_ok_with_the_packaged_concepts() -> None:
    out = aftercare(ROOT, "kb", "check")
    assert out.returncode == 0 and out.stdout.startswith("OK"), out.stdout + out.stderr


def test_ask_json_shows_the_concepts_reason() -> None:
    assert DEFAULT_DETECTOR == "ngram"  # concepts is an option (README: it is not the default)
    out = aftercare(ROOT, "ask", "--json", "--detector", "ngram+concepts", "--day", "0",
                    "my breathin has gone rly strange n effortful")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["escalate"] is True and answer["urgency"] == "emergency"
    assert answer["triage"] == {"sign": "breathing_difficulty", "detector": "concepts",
                                "close_to": "close to: breathing + strange (concepts)"}
