"""The care plan file: the packaged plan follows the guidance, and mistakes are located."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from knowledge.errors import KBError
from scheduler.careplan import Action, StepKind, careplan_problems, load_careplan


def test_packaged_plan_is_valid_and_follows_the_guidance() -> None:
    plan = load_careplan()
    assert careplan_problems() == []
    days = [s.day for s in plan.active_steps]
    assert days == [1, 2, 3, 7, 14, 28, 42]
    day1 = plan.step("day1")
    assert day1 is not None and day1.time == time(19, 0)
    assert [c.label for c in day1.choices] == ["Fine", "Red and tight", "Something's wrong"]
    assert day1.choices[2].action is Action.PROBLEM
    rebook = plan.step("rebook")
    assert rebook is not None and rebook.kind is StepKind.REBOOK
    assert {c.action for c in rebook.choices} == {Action.BOOK, Action.LATER, Action.DONE}
    assert plan.quiet_hours.start == time(21, 0) and plan.quiet_hours.end == time(8, 0)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "careplan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BAD = """\
quiet_hours: {start: "21:00", end: "08:00"}
steps:
  - id: day1
    day: 1
    time: "23:30"
    message: "How are you?"
    buttons:
      - {label: "Fine", action: ok, reply: "Good"}
      - {label: "Bad", action: panic, reply: "Oh"}
  - id: day1
    day: -2
    time: "7pm"
    colour: red
    message: ""
    buttons: []
"""


def test_problems_name_file_line_and_reason(tmp_path: Path) -> None:
    path = _write(tmp_path, BAD)
    problems = careplan_problems(path)
    text = "\n".join(str(p) for p in problems)
    assert all(p.path == str(path) for p in problems)
    assert f"{path}:5: step 'day1': 23:30 falls in quiet hours" in text
    assert f"{path}:9:" in text and "unknown action 'panic'" in text
    assert f"{path}:11:" in text and "'day' must be a whole number" in text
    assert f"{path}:12:" in text and "expected a quoted local time" in text
    assert f"{path}:13:" in text and "unknown key 'colour'" in text
    with pytest.raises(KBError) as raised:
        load_careplan(path)
    assert len(raised.value.problems) == len(problems)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = _write(tmp_path, "steps:\n  - id: day1\n    day: [1\n")
    problems = careplan_problems(path)
    assert len(problems) == 1 and problems[0].line >= 3
    assert "invalid YAML" in problems[0].reason
