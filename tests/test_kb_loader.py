"""The knowledge-base loader: the shipped KB is valid, and every kind of mistake is reported
with its file, line and reason (what a clinic editing its own copy would see)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from knowledge.errors import KBError
from knowledge.loader import PACKAGED_KB, check_kb, load_kb
from tests.cli import aftercare

GOOD_ENTRY = """\
entries:
  - id: makeup
    title: Wearing makeup
    questions: [can i wear makeup yet, foundation ok today]
    answer:
      unknown: It depends on the day.
      days:
        - {from: 0, to: 0, text: Not today.}
        - {from: 1, to: 2, text: Mineral makeup only.}
        - {from: 3, text: Yes.}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_for(tmp_path: Path, text: str, extra: str | None = None) -> list[str]:
    write(tmp_path, "a.yaml", text)
    if extra is not None:
        write(tmp_path, "b.yaml", extra)
    _, problems = check_kb(tmp_path)
    return [str(problem) for problem in problems]


def test_packaged_knowledge_base_is_valid_and_covers_every_guidance_area() -> None:
    kb = load_kb(PACKAGED_KB)
    ids = {entry.id for entry in kb.entries}
    # One entry (at least) per topic of the clinical guidance, sections 1 and 2.1-2.19.
    expected = {"makeup", "sun", "washing", "moisturiser", "actives", "exfoliation", "exercise",
                "swimming", "alcohol", "shaving", "redness", "swelling", "pinpoint_bleeding",
                "bruising", "spots_milia", "painkillers", "sleeping", "results", "sessions",
                "prp", "pregnancy", "cold_sores", "about_microneedling", "booking"}
    assert expected <= ids, expected - ids
    assert all(len(entry.questions) >= 8 for entry in kb.entries)


def test_day_windows_select_by_recovery_day() -> None:
    entry = load_kb(PACKAGED_KB).by_id("makeup")
    assert entry is not None
    day0, used0 = entry.answer.for_day(0)
    day3, used3 = entry.answer.for_day(3)
    unknown, used_unknown = entry.answer.for_day(None)
    assert used0 and used3 and not used_unknown
    assert day0 != day3 != unknown
    assert entry.answer.for_day(400)[0] == day3  # open-ended last window


def test_good_file_loads(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD_ENTRY)
    kb = load_kb(tmp_path)
    assert [e.id for e in kb.entries] == ["makeup"]
    assert kb.entries[0].answer.for_day(1)[0] == "Mineral makeup only."


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, GOOD_ENTRY, GOOD_ENTRY.replace(
        "can i wear makeup yet, foundation ok today", "totally different words here"))
    assert any("b.yaml:2: duplicate id 'makeup'" in p and "a.yaml:2" in p for p in problems)


def test_empty_answer(tmp_path: Path) -> None:
    text = GOOD_ENTRY.replace("{from: 1, to: 2, text: Mineral makeup only.}",
                              "{from: 1, to: 2, text: ''}")
    assert any("a.yaml:9:" in p and "empty answer" in p for p in problems_for(tmp_path, text))


def test_plain_empty_answer(tmp_path: Path) -> None:
    text = """\
    entries:
      - id: x
        title: X
        questions: [what is x]
        answer: "  "
    """
    assert any("a.yaml:5: empty answer" in p for p in problems_for(tmp_path, text))


@pytest.mark.parametrize(("windows", "reason"), [
    ("{from: 0, to: 1, text: a}\n        - {from: 1, text: b}", "overlap"),
    ("{from: 0, to: 1, text: a}\n        - {from: 4, text: b}",
     "gap between day windows: days 2-3"),
    ("{from: 1, text: a}", "must start at day 0"),
    ("{from: 0, to: 5, text: a}", "must be open-ended"),
    ("{from: 0, to: -1, text: a}", "'to' must be a whole number"),
])
def test_day_window_problems(tmp_path: Path, windows: str, reason: str) -> None:
    text = f"""\
entries:
  - id: x
    title: X
    questions: [what is x]
    answer:
      unknown: depends
      days:
        - {windows}
"""
    problems = problems_for(tmp_path, text)
    assert any(reason in p and p.startswith(str(tmp_path / "a.yaml") + ":") for p in problems), \
        problems


def test_colliding_questions_between_entries(tmp_path: Path) -> None:
    other = """\
    entries:
      - id: cosmetics
        title: Cosmetics
        questions: ["Can I wear make-up yet?"]
        answer: Something else.
    """
    problems = problems_for(tmp_path, GOOD_ENTRY, other)
    assert any("b.yaml:4:" in p and "too close to 'can i wear makeup yet'" in p
               for p in problems), problems


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "entries:\n  - id: x\n    title: [unclosed\n")
    assert len(problems) == 1 and "a.yaml:" in problems[0] and "invalid YAML" in problems[0]


def test_a_key_written_twice_is_reported_at_its_second_line(tmp_path: Path) -> None:
    # A clinic pastes a second `answer:` under the same entry: YAML alone would keep the
    # later one without a word, and the first answer would vanish from the bot.
    text = GOOD_ENTRY + "    answer: Pasted again by mistake.\n"
    problems = problems_for(tmp_path, text)
    assert len(problems) == 1, problems
    assert "a.yaml:11:" in problems[0] and "duplicate key 'answer' (first at line 5)" in problems[0]


def test_kb_check_refuses_a_knowledge_base_with_a_duplicated_key(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    write(kb, "a.yaml", GOOD_ENTRY.replace("    title: Wearing makeup\n",
                                           "    title: Wearing makeup\n    title: Makeup\n"))
    result = aftercare(tmp_path, "kb", "check", AFTERCARE_KB_PATH=str(kb))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{kb / 'a.yaml'}:4: invalid YAML: duplicate key 'title' (first at line 3)" in (
        result.stdout), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_unknown_keys_and_missing_fields(tmp_path: Path) -> None:
    text = """\
    entries:
      - id: Bad-Id
        title: X
      - id: ok
        titel: typo
        questions: []
        answer: fine
    """
    problems = problems_for(tmp_path, text)
    assert any("a.yaml:2:" in p and "must be lowercase" in p for p in problems)
    assert any("a.yaml:5: unknown key 'titel'" in p for p in problems)
    assert any("has no example questions" in p for p in problems)
    assert any("has no title" in p for p in problems)


def test_condition_flag_must_be_a_boolean(tmp_path: Path) -> None:
    text = """\
    entries:
      - id: pregnancy
        title: Pregnancy
        condition: yes please
        questions: [can i have it while pregnant]
        answer: Not while pregnant.
    """
    problems = problems_for(tmp_path, text)
    assert any("a.yaml:4: condition must be true or false" in p for p in problems), problems


def test_load_kb_raises_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "entries: 3\n")
    with pytest.raises(KBError) as info:
        load_kb(tmp_path)
    assert "a.yaml:1: file must be a mapping with an 'entries' list" in str(info.value)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    _, problems = check_kb(tmp_path / "nowhere")
    assert problems and "no such file or folder" in problems[0].reason


def test_kb_check_command_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    write(good, "a.yaml", GOOD_ENTRY)
    ok = aftercare(None, "kb", "check", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 1 entries" in ok.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    write(bad, "a.yaml", GOOD_ENTRY.replace("{from: 3, text: Yes.}", "{from: 4, text: Yes.}"))
    failed = aftercare(None, "kb", "check", str(bad))
    assert failed.returncode == 1
    assert f"{bad / 'a.yaml'}:10: gap between day windows: days 3-3" in failed.stdout


def test_kb_path_environment_variable(tmp_path: Path) -> None:
    """AFTERCARE_KB_PATH (read by bot/config.py, handed to the loader) is what kb check checks."""
    write(tmp_path, "a.yaml", GOOD_ENTRY)
    result = aftercare(tmp_path, "kb", "check", AFTERCARE_KB_PATH=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK: 1 entries, 2 example questions in {tmp_path}" in result.stdout


def test_kb_check_names_a_broken_triage_rule_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed packaged triage file (here a bad pattern in a word list the preparation
    reads) is one located problem line from `kb check` and exit 1, never a traceback."""
    import knowledge.triage.parser as parser

    packaged = Path(parser.__file__).parents[1] / parser.PACKAGED_FILE
    lines = packaged.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("state_start:"))
    lines[at] = lines[at].replace("'is'", "'is('", 1)
    broken = tmp_path / "triage.yaml"
    broken.write_text("".join(lines), encoding="utf-8")
    from knowledge.yamlfile import data_text as real

    def broken_rules(name: str, path: str | Path | None) -> tuple[str, str]:
        if name == parser.PACKAGED_FILE and path is None:
            return str(broken), broken.read_text(encoding="utf-8")
        return real(name, path)

    monkeypatch.setattr(parser, "data_text", broken_rules)
    result = aftercare(None, "kb", "check")
    assert result.returncode == 1
    assert f"{broken}:{at + 1}: readings.state_start: bad regular expression" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


BROKEN_WARNING_QUESTIONS = """\
version: 1
lexicons:
  sign: [swelling, redness]
  it: [it, this]
frames:
  - id: fine
    pattern: 'what (kind|sort) of {sign} is not normal'
  - id: no_concept
    pattern: 'when (should|do) i call you'
  - id: bad_regex
    pattern: 'signs of ({sign}'
  - pattern: 'no id here {sign}'
  - id: unknown_lexicon
    pattern: '{sign} or {weather}'
"""


def test_warning_question_problems_name_file_line_and_reason(tmp_path: Path) -> None:
    """Each malformed frame of warning_questions.yaml is one problem at its own line: a frame
    that names no warning-sign concept, a bad regular expression, a frame without an id, an
    unknown lexicon; the good frame is not reported."""
    from knowledge.warning_questions import load_warning_questions

    path = write(tmp_path, "warning_questions.yaml", BROKEN_WARNING_QUESTIONS)
    with pytest.raises(KBError) as raised:
        load_warning_questions(path)
    got = [str(problem) for problem in raised.value.problems]
    assert len(got) == 4, got
    assert got[0] == (f"{path}:9: frame 'no_concept' names no warning-sign concept "
                      "({sign}, {sign_or_it}, {signs} or {sign_worse})")
    assert got[1].startswith(f"{path}:11: frame 'bad_regex': bad regular expression: missing )")
    assert got[2] == f"{path}:12: a frame needs an 'id' and a 'pattern'"
    assert got[3] == f"{path}:14: frame 'unknown_lexicon': unknown lexicon 'weather'"


def test_kb_check_names_a_malformed_warning_question(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`aftercare kb check` reports a malformed packaged warning-questions file with file, line
    and reason, exit 1, no traceback."""
    import knowledge.warning_questions as questions

    path = write(tmp_path, "warning_questions.yaml", BROKEN_WARNING_QUESTIONS)
    monkeypatch.setattr(questions, "PACKAGED_WARNING_QUESTIONS", path)
    result = aftercare(None, "kb", "check")
    assert result.returncode == 1
    assert (f"{path}:9: frame 'no_concept' names no warning-sign concept "
            "({sign}, {sign_or_it}, {signs} or {sign_worse})") in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_packaged_warning_questions_compose_a_frame_with_a_concept() -> None:
    """The packaged frames read a frame put together with a warning-sign concept, and not the
    same frame with an everyday word in the concept's place."""
    from knowledge.text import fold
    from knowledge.warning_questions import load_warning_questions

    questions = load_warning_questions()
    assert questions.frame(fold("which sort of bleeding would count as not normal?")) == (
        "not_normal_kind")
    assert questions.frame(fold("which sort of moisturiser would count as not normal?")) is None
    assert questions.frame(fold("what do i do if the redness gets worse, not better")) == (
        "worse_what_to_do")
    assert questions.frame(fold("what do i do if the traffic gets worse")) is None
