"""The command line's words (bot/cli/texts.yaml): every key the code of bot/cli/ looks up is in
the file, with the values its text names, and every entry of the file is used, so a line can
neither go missing at run time nor be left behind when the code stops printing it."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator

from bot.cli.texts import TEXTS, catalogue, text
from knowledge.catalogue import Catalogue

CLI = TEXTS.parent
CLINIC_VALUES = {"clinic", "Clinic", "clinic_contact", "emergency"}


def _keys(node: ast.expr) -> Iterator[str]:
    """The keys a lookup's first argument can be: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _keys(node.body)
        yield from _keys(node.orelse)
    else:
        raise AssertionError(f"line {node.lineno}: a text key must be written out in the code")


def lookups() -> Iterator[tuple[str, str, set[str] | None]]:
    """(where, key, keyword values given or None for ``**values``) for every ``text(...)`` and
    ``catalogue().raw(...)`` in bot/cli/."""
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "text":
                given = {k.arg for k in node.keywords if k.arg is not None}
                values = None if any(k.arg is None for k in node.keywords) else given
            elif isinstance(func, ast.Attribute) and func.attr == "raw" and isinstance(
                    func.value, ast.Call) and getattr(func.value.func, "id", "") == "catalogue":
                values = None
            else:
                continue
            for key in _keys(node.args[0]):
                yield f"{path.name}:{node.lineno}", key, values


def leaves(entries: object, prefix: str = "") -> Iterator[str]:
    if isinstance(entries, dict):
        for name, value in entries.items():
            yield from leaves(value, f"{prefix}{name}.")
    else:
        yield prefix.rstrip(".")


def fields(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name}


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    texts = catalogue()
    found = list(lookups())
    assert len(found) > 40  # the scan sees the lookups (a rename of `text` would hide them)
    for where, key, values in found:
        assert key in texts, f"{where}: {key!r} is not in {TEXTS.name}"
        entry = texts.raw(key)
        if values is not None:
            assert isinstance(entry, str), f"{where}: {key!r} is not a line of text"
            assert fields(entry) - CLINIC_VALUES == values, (where, key, fields(entry), values)


def test_every_entry_of_the_file_is_used() -> None:
    used = {key for _, key, _ in lookups()}
    unused = [key for key in leaves(catalogue().entries)
              if not any(key == u or key.startswith(u + ".") for u in used)]
    assert unused == []


def test_the_texts_fill_in_as_the_command_line_prints_them() -> None:
    assert text("sessions.moved", id=3, date="2026-11-21", count=2) == (
        "session 3 moved to 2026-11-21; 2 open check-in(s) re-planned")
    assert text("ask.not_object") == 'expected an object like {"text": "...", "day": 2}'
    heading = text("checkins.row", **Catalogue.load(TEXTS).raw("checkins.columns"))
    assert heading.split() == ["id", "patient", "step", "due", "(UTC)", "status", "detail"]
