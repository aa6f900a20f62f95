"""Rule-out answers typed instead of tapped (knowledge/followups.yaml, the language files'
``follow_ups``): what counts as a yes or a no, in English and in the question's language, and
how a malformed list is reported (file, line, reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge
from knowledge.advisor import Advisor
from knowledge.errors import KBError
from knowledge.loader import PACKAGED_KB
from knowledge.signdata import load_sign_data
from tests.cli import aftercare
from tests.file_edits import serve_as


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return Advisor.load(PACKAGED_KB)


@pytest.mark.parametrize(("question", "typed", "said"), [
    ("airway", "Yes!!", True), ("airway", "yeah a bit", True), ("airway", "I'm not sure", True),
    ("airway", "idk", True), ("airway", "Nope, none of those", False), ("airway", "no", False),
    ("infection", "not really", False),
    ("airway@es", "Sí", True), ("airway@es", "no sé", True), ("airway@es", "ninguno", False),
    ("airway@fr", "non, rien", False), ("airway@de", "Ja", True), ("airway@pl", "nie", False),
    ("airway@ru", "Нет", False), ("airway@uk", "Так", True), ("airway@tr", "yok", False),
    ("airway@ar", "نعم", True), ("airway@pt", "Não", False), ("airway@it", "sì", True),
    ("airway@es", "yes", True),  # English always counts
])
def test_a_bare_answer_is_read_as_the_tap(advisor: Advisor, question: str, typed: str,
                                          said: bool) -> None:
    assert advisor.typed_answer(question, typed) is said


@pytest.mark.parametrize("typed", [
    "my lips are swelling", "yes but can i wear makeup", "no... maybe", "thanks", "",
])
def test_anything_more_than_an_answer_is_a_message(advisor: Advisor, typed: str) -> None:
    assert advisor.typed_answer("airway", typed) is None


def test_an_unknown_or_forged_question_has_no_typed_answer(advisor: Advisor) -> None:
    assert advisor.typed_answer("nope", "yes") is None
    assert advisor.typed_answer("airway@xx", "yes") is None


def test_an_unquoted_yes_in_the_list_is_reported_with_its_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(str(knowledge.__file__)).parent / "followups.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines().index(next(x for x in text.splitlines() if "yes_words:" in x)) + 1
    broken = text.replace('yes_words: ["yes", ', "yes_words: [yes, ", 1)
    serve_as(monkeypatch, path, broken)
    with pytest.raises(KBError) as failed:
        load_sign_data()
    assert any(p.line == line and "yes_words must be a list of quoted words" in p.reason
               for p in failed.value.problems), failed.value.problems


def test_an_answer_in_both_lists_fails_kb_check(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    path = Path(str(knowledge.__file__)).parent / "languages" / "es.yaml"
    text = path.read_text(encoding="utf-8")
    both = text.replace('no_words: ["nop", ', 'no_words: ["claro", "nop", ', 1)
    serve_as(monkeypatch, path, both)
    result = aftercare(tmp_path, "kb", "check")
    assert result.returncode == 1
    assert "in both yes_words and no_words: claro" in result.stdout, result.stdout
    assert f"{path}:" in result.stdout and "Traceback" not in result.stdout + result.stderr
