"""The answer-quality failure classes found on the blind batches (3 to 8), fixed as classes, checked
through ``Advisor.ask``.

The cases live in ``tests/data/answer_classes.yaml`` (one block per class: where it was found, what
it pins, its cases; the file's header explains the fields). Each class has phrasings of our own
(never a blind batch's words). ``tests/data/answers_dev.yaml`` is the wider development set; it
must stay at its figures. What a table cannot say stays below as ordinary tests: several messages
in one test, a development set's figures, the knowledge base kept apart from the blind batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz, process, utils

from knowledge.advisor import Advice, Advisor, Clinic
from knowledge.guards import smalltalk_kind
from knowledge.loader import load_kb
from tests.advisors import shipped
from tests.class_table import class_cases
from tests.yamldata import load_yaml

# one worker runs the triage tables' modules (tests/conftest.py): it alone compiles the
# triage patterns and the whole regexes, which each worker did for its share of the cases
pytestmark = pytest.mark.xdist_group("triage")

DATA = Path(__file__).parent / "data"
DEV: list[dict[str, Any]] = load_yaml(DATA / "answers_dev.yaml")
BLIND_SIMILARITY = 85.0  # token-sort similarity at which an example copies a blind message
KINDS = {"answered", "abstained", "escalated", "smalltalk"}
CHECKS = ("kind", "not_kind", "topic", "scope", "handoff", "escalate", "smalltalk_kind",
          "answer_contains")


@dataclass(frozen=True)
class Case:
    """One message of a class and what ``Advisor.ask`` must make of it."""

    cls: str
    text: str
    day: int | None
    checks: dict[str, Any]


def _load_cases() -> list[Case]:
    cases: list[Case] = []
    for cls, raw in class_cases(DATA / "answer_classes.yaml", {"text", "day", *CHECKS}):
        assert set(raw) & set(CHECKS), f"no check in {raw}"
        for key in ("kind", "not_kind"):
            assert key not in raw or raw[key] in KINDS, raw
        assert isinstance(raw.get("answer_contains", []), list), raw
        cases.append(Case(cls, raw["text"], raw["day"],
                          {key: raw[key] for key in CHECKS if key in raw}))
    return cases


CASES = _load_cases()


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic", contact="020 7946 0000"))


def test_an_ordinal_session_is_the_next_booking(advisor: Advisor) -> None:
    for text in ("is my third one due yet", "when should the 2nd treatment be"):
        advice = advisor.ask(text, 30)
        assert advice.kind == "answered" and advice.topic == "next_booking", (text, advice.kind)


def test_money_for_somebody_elses_business_is_not_the_clinics(advisor: Advisor) -> None:
    advice = advisor.ask("how much is a haircut round here", None)
    assert advice.kind == "abstained" and advice.extra.get("scope") == "everyday"


def test_a_pleasantry_does_not_hide_a_question(advisor: Advisor) -> None:
    advice = advisor.ask("hope you're well, can i wear makeup yet", 3)
    assert advice.kind == "answered" and advice.topic == "makeup"


def _right(advice: Advice, item: dict[str, Any]) -> bool:
    if item["expect"] == "abstain":
        return advice.kind == "abstained"
    if item["expect"] == "smalltalk":
        return advice.kind == "smalltalk"
    return advice.kind == "answered" and advice.topic == item["expect"]


def test_development_set_figures(advisor: Advisor) -> None:
    """The development set of this round's classes: everyday and out-of-scope messages abstain
    (at least 0.95), on-topic ones are answered with their entry (at least 0.92), nothing is
    escalated."""
    asked = [(item, advisor.ask(item["text"], item.get("day"))) for item in DEV]  # once each
    abstain = [(item, advice) for item, advice in asked if item["expect"] == "abstain"]
    on_topic = [(item, advice) for item, advice in asked
                if item["expect"] not in ("abstain", "smalltalk")]
    abstained = sum(_right(advice, item) for item, advice in abstain) / len(abstain)
    answered = sum(_right(advice, item) for item, advice in on_topic) / len(on_topic)
    escalated = [item["text"] for item, advice in asked if advice.escalate]
    assert abstained >= 0.95 and answered >= 0.92 and not escalated, (abstained, answered,
                                                                      escalated)


def test_no_knowledge_base_example_copies_a_blind_message() -> None:
    """A blind batch measures the product only while its phrasings stay out of the knowledge
    base: an example question with token-sort similarity 85 or more to a message of a blind
    batch must be listed in ``kb_blind_overlap.yaml`` as older than that batch or as one of the
    guidance's own phrasings; any other is tuning on the batch (reword or drop it)."""
    allowed = {(row["entry"], row["question"]): row for row in load_yaml(
        DATA / "kb_blind_overlap.yaml")}
    kb = load_kb()
    copies: list[str] = []
    for path in sorted(DATA.glob("answers_blind_*.yaml")):
        batch = int(path.stem.rsplit("_", 1)[1])
        messages = [item["text"] for item in load_yaml(path)]
        sorted_messages = [_token_sorted(message) for message in messages]  # once per batch
        for entry in kb.entries:
            for question in entry.questions:
                close = process.extractOne(_token_sorted(question), sorted_messages,
                                           scorer=fuzz.ratio, score_cutoff=BLIND_SIMILARITY)
                row = allowed.get((entry.id, question))
                if close is None or (row is not None and (
                        row.get("guidance") or batch in row.get("before", []))):
                    continue
                copies.append(f"{entry.id}: {question!r} ~ batch {batch} "
                              f"{messages[close[2]]!r}")
    assert not copies, "\n".join(copies)


def _token_sorted(text: str) -> str:
    """`text` as token-sort similarity compares it: rapidfuzz's `default_process`, then its
    words sorted. `fuzz.ratio` of two of these is `fuzz.token_sort_ratio` of the texts with
    `processor=utils.default_process` (that is its definition), but each message is prepared
    once per batch instead of once for every question (the check took 3-4 s of CPU)."""
    return " ".join(sorted(utils.default_process(text).split()))


def _got(advice: Advice) -> tuple[str, str | None, Any]:
    return advice.kind, advice.topic, advice.extra.get("scope")


def _check_case(advisor: Advisor, case: Case) -> None:
    checks = case.checks
    if "smalltalk_kind" in checks:
        assert smalltalk_kind(case.text) == checks["smalltalk_kind"], case.text
    advice = advisor.ask(case.text, case.day)
    why = (case.text, *_got(advice))
    if "kind" in checks:
        assert advice.kind == checks["kind"], why
    if "not_kind" in checks:
        assert advice.kind != checks["not_kind"], why
    if "topic" in checks:
        assert advice.topic == checks["topic"], why
    if "scope" in checks:
        assert advice.extra.get("scope") == checks["scope"], why
    if "handoff" in checks:
        assert advice.offer_handoff == checks["handoff"], why
    if "escalate" in checks:
        assert advice.escalate == checks["escalate"], why
    for words in checks.get("answer_contains", []):
        assert words in advice.answer, (why, words)


# One test per class, checking every one of its cases and naming all that fail: a test per
# case cost pytest and pytest-xdist about 2.5 ms each, more than most cases' ``Advisor.ask``.
CLASSES: dict[str, list[Case]] = {}
for _case in CASES:
    CLASSES.setdefault(_case.cls, []).append(_case)


@pytest.mark.parametrize("cls", list(CLASSES))
def test_answer_class(advisor: Advisor, cls: str) -> None:
    failures = []
    for case in CLASSES[cls]:
        try:
            _check_case(advisor, case)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
    assert not failures, f"{len(failures)} of {len(CLASSES[cls])} failed:\n" + "\n".join(failures)


def test_a_change_to_a_booking_is_still_the_booking(advisor: Advisor) -> None:
    advice = advisor.ask("any change to my booking?", None)
    assert advice.kind == "answered" and advice.topic == "booking", advice.topic


def test_skin_hot_and_sore_is_still_escalated(advisor: Advisor) -> None:
    advice = advisor.ask("there's heat coming off my cheeks and they hurt", 3)
    assert advice.kind == "escalated", advice.topic
