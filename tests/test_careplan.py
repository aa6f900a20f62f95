"""The care plan file: the packaged plan follows the guidance, and mistakes are located."""

from __future__ import annotations

import re
import shutil
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from knowledge.errors import KBError
from knowledge.loader import PACKAGED_KB, load_kb
from knowledge.text import content_tokens
from knowledge.yamlfile import read_yaml
from scheduler.careplan import (
    DEFAULT_PATH,
    KB_REFERENCE,
    Action,
    StepKind,
    careplan_problems,
    load_careplan,
)
from tests.advisors import shipped


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


# --- one source per topic and day: check-in texts quote the knowledge base ---------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def read_path_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _raw_steps() -> list[dict[str, Any]]:
    return list(read_yaml(DEFAULT_PATH)["steps"])


def test_every_checkin_quotes_its_advice_from_the_knowledge_base() -> None:
    """No check-in step, enabled or not, gives advice on a day-aware topic in its own words:
    outside the {kb:...} quotes, no statement (the questions it asks aside, and a problem
    answer's red-flag wording, which is triage's) uses a keyword of a knowledge-base entry whose
    answer changes with the day. So "no makeup yet" on day 1 can no longer sit beside the
    knowledge base's "light mineral makeup is fine"."""
    kb = load_kb()
    keywords = {entry.id: frozenset(content_tokens(" ".join(entry.keywords)))
                for entry in kb.entries if entry.answer.day_aware}
    for node in _raw_steps():
        texts = [node["message"]] + [button["reply"] for button in node["buttons"]
                                     if button["action"] != "problem"]
        for text in texts:
            for sentence in _SENTENCE_END.split(" ".join(KB_REFERENCE.sub(" ", text).split())):
                if sentence.endswith("?"):
                    continue
                words = set(content_tokens(sentence))
                topics = sorted(entry for entry, kws in keywords.items() if kws & words)
                assert not topics, (f"step {node['id']!r}: {sentence!r} speaks about "
                                    f"{topics} without quoting the knowledge base")


def test_every_quote_is_the_knowledge_base_advice_for_that_step_and_day() -> None:
    """Each quote in each step becomes the brief of the entry's day window for the step's day,
    and the bot's answer to a question on that topic that day comes from the same window."""
    kb = load_kb()
    plan = load_careplan()
    advisor = shipped()
    quoted = 0
    for node in _raw_steps():
        step = plan.step(node["id"])
        assert step is not None
        raw = " ".join([node["message"], *(button["reply"] for button in node["buttons"])])
        final = " ".join([step.message, *(choice.reply for choice in step.choices)])
        assert "{kb:" not in final
        references = KB_REFERENCE.findall(raw)
        assert list(step.topics) == list(dict.fromkeys(references))
        for entry_id in references:
            entry = kb.by_id(entry_id)
            assert entry is not None
            window = entry.answer.window_for(step.day)
            assert window is not None and window.brief and window.brief in final
            answer = advisor.answer_entry(entry_id, step.day)
            assert answer is not None and answer.answer.endswith(window.text)
            quoted += 1
    assert quoted >= 10
    day1 = plan.step("day1")
    assert day1 is not None and "mineral makeup is fine" in day1.choices[0].reply.lower()


def test_a_changed_knowledge_base_changes_the_checkins(tmp_path: Path) -> None:
    """The check-in follows the knowledge base the bot is configured with: a clinic that
    rewrites its makeup advice changes the day-1 check-in too."""
    folder = tmp_path / "kb"
    shutil.copytree(PACKAGED_KB, folder)
    makeup = folder / "makeup.yaml"
    text = makeup.read_text(encoding="utf-8")
    old = "Light mineral makeup is fine if you need it, with clean brushes; your usual\n"
    assert old in text
    makeup.write_text(text.replace(old, "Our clinic asks you to keep makeup off until day 3;\n"),
                      encoding="utf-8")
    step = load_careplan(kb=load_kb(folder)).step("day1")
    assert step is not None and "keep makeup off until day 3" in step.choices[0].reply


def test_a_quote_of_an_unknown_entry_is_a_located_problem(tmp_path: Path) -> None:
    """An unknown entry is named with its line; an entry without a brief for the day is quoted
    whole (itching's day-1 advice), still from the one source."""
    path = _write(tmp_path, """\
steps:
  - id: day1
    day: 1
    time: "19:00"
    message: "Day 1. {kb:itching} {kb:no_such_topic}"
    buttons:
      - {label: "Fine", action: ok, reply: "Good. {kb:makeup}"}
      - {label: "Bad", action: problem, reply: "Tell me more."}
""")
    text = "\n".join(str(p) for p in careplan_problems(path))
    assert text == f"{path}:5: step 'day1': {{kb:no_such_topic}} names no knowledge-base entry"
    itching = load_kb().by_id("itching")
    assert itching is not None
    window = itching.answer.window_for(1)
    assert window is not None and not window.brief
    step = load_careplan(_write(tmp_path, read_path_text(path).replace(" {kb:no_such_topic}", "")
                                )).step("day1")
    assert step is not None and window.text in step.message
