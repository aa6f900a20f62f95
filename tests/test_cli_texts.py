"""The command line's words (bot/cli/texts.yaml): every key the code of bot/cli/ looks up is in
the file, with the values its text names, and every entry of the file is used, so a line can
neither go missing at run time nor be left behind when the code stops printing it."""

from __future__ import annotations

import ast

from bot.cli.texts import TEXTS, catalogue, text
from knowledge.catalogue import Catalogue
from tests.text_keys import Lookup, missing, unused
from tests.text_keys import lookups as found_in

CLI = TEXTS.parent


def kind(call: ast.Call) -> str | None:
    """``text(key, ...)`` is a lookup; ``catalogue().raw(key)`` looks the entry up raw."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == "text":
        return "text"
    if isinstance(func, ast.Attribute) and func.attr == "raw" and isinstance(
            func.value, ast.Call) and getattr(func.value.func, "id", "") == "catalogue":
        return "raw"
    return None


def lookups() -> list[Lookup]:
    """Every ``text(...)`` and ``catalogue().raw(...)`` in bot/cli/."""
    return list(found_in(sorted(CLI.glob("*.py")), kind))


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    found = lookups()
    assert len(found) > 40  # the scan sees the lookups (a rename of `text` would hide them)
    assert missing(catalogue(), found, TEXTS.name) == []


def test_every_entry_of_the_file_is_used() -> None:
    assert unused(catalogue(), lookups()) == []


def test_the_texts_fill_in_as_the_command_line_prints_them() -> None:
    assert text("sessions.moved", id=3, date="2026-11-21", count=2) == (
        "session 3 moved to 2026-11-21; 2 open check-in(s) re-planned")
    assert text("ask.not_object") == 'expected an object like {"text": "...", "day": 2}'
    heading = text("checkins.row", **Catalogue.load(TEXTS).raw("checkins.columns"))
    assert heading.split() == ["id", "patient", "step", "due", "(UTC)", "status", "detail"]
