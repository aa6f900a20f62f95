"""What the scheduler says about settings it cannot read (scheduler/texts.yaml): every key the
code of scheduler/ looks up is in the file, with the values its text names, and every entry of
the file is used; the problems read as the IT person has always read them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scheduler.clinic_hours import HoursError, parse_closed_dates, parse_week
from scheduler.texts import TEXTS, catalogue
from tests.text_keys import Lookup, lookups, missing, unused

SCHEDULER = TEXTS.parent


def kind(call: ast.Call) -> str | None:
    """``texts.text(key, ...)`` (``from scheduler import texts``) or ``text(key, ...)``."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "text" \
            and isinstance(func.value, ast.Name) and func.value.id == "texts":
        return "text"
    if isinstance(func, ast.Name) and func.id == "text":
        return "text"
    return None


def scheduler_lookups() -> list[Lookup]:
    """The lookups of every module of scheduler/ that imports scheduler/texts.py."""
    def uses_texts(path: Path) -> bool:
        source = path.read_text(encoding="utf-8")
        return "from scheduler.texts import" in source or "from scheduler import texts" in source

    return list(lookups([p for p in sorted(SCHEDULER.glob("*.py")) if uses_texts(p)], kind))


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    found = scheduler_lookups()
    assert len(found) >= 8  # the scan sees the lookups (a rename would hide them)
    assert missing(catalogue(), found, TEXTS.name) == []


def test_every_entry_of_the_file_is_used() -> None:
    assert unused(catalogue(), scheduler_lookups()) == []


def test_the_problems_read_as_they_always_have() -> None:
    with pytest.raises(HoursError) as caught:
        parse_week("sat; mon-fri 09:00-13:00, 12:00-17:00; mon {x}9-17")
    assert caught.value.problems == [
        '"sat": no opening times (example: sat 09:00-17:30)',
        '"mon {x}9-17": "mon {x}" is not a weekday (use mon, tue, wed, thu, fri, sat, sun, or a '
        "range like mon-fri)",
        '"mon {x}9-17": "9-17" is not an interval (use HH:MM-HH:MM, 24-hour clock, '
        "e.g. 09:00-17:30)",
        "mon-fri 09:00-13:00 and 12:00-17:00 overlap (each day's intervals must not overlap; "
        "join them into one, e.g. 09:00-17:00)"]
    with pytest.raises(HoursError) as caught:
        parse_closed_dates("2026-12-25,25/12/2026")
    assert caught.value.problems == [
        '"25/12/2026" is not a date (use YYYY-MM-DD, e.g. 2026-12-25)']
