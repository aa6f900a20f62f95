"""What the key tests of the data files of words share (tests/test_*_texts.py): the keys a
module's code looks up, with the values each lookup names, the leaves of a catalogue, and the
fields an entry's template names. A key must be written out in the code (a literal, or either
side of ``a if c else b``), so the test can see it."""

from __future__ import annotations

import ast
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalogue import Catalogue

CLINIC_VALUES = {"clinic", "Clinic", "clinic_contact", "emergency"}  # every catalogue fills these


@dataclass(frozen=True)
class Lookup:
    """One key looked up at `where`; `values` are the keyword values given (None: unknown,
    for ``**values`` or a lookup of the raw entry)."""

    where: str
    key: str
    values: frozenset[str] | None


def keys(node: ast.expr, where: str) -> Iterator[str]:
    """The keys a lookup's first argument can be: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from keys(node.body, where)
        yield from keys(node.orelse, where)
    else:
        raise AssertionError(f"{where}: a text key must be written out in the code")


def lookups(paths: Iterable[Path], kind: Callable[[ast.Call], str | None]) -> Iterator[Lookup]:
    """Every lookup in `paths`: `kind` says of a call whether it looks a text up (``"text"``:
    the keyword values are the values; ``"raw"``: the raw entry) or not (None)."""
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            found = kind(node)
            if found is None:
                continue
            where = f"{path.name}:{node.lineno}"
            values = None
            if found == "text" and all(k.arg is not None for k in node.keywords):
                values = frozenset(k.arg for k in node.keywords if k.arg is not None)
            for key in keys(node.args[0], where):
                yield Lookup(where, key, values)


def leaves(entries: object, prefix: str = "") -> Iterator[str]:
    """The dotted key of every entry (a string or a list) of a catalogue's nested mappings."""
    if isinstance(entries, dict):
        for name, value in entries.items():
            yield from leaves(value, f"{prefix}{name}.")
    else:
        yield prefix.rstrip(".")


def fields(template: str) -> set[str]:
    """The names a template fills in (``{id}``, ``{value!r}``, ``{at:%H:%M}``)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template)
            if name}


def missing(texts: Catalogue, found: Iterable[Lookup], file: str) -> list[str]:
    """What is wrong with the lookups: a key not in the file, a text whose fields are not the
    values the lookup gives."""
    wrong = []
    for lookup in found:
        if lookup.key not in texts:
            wrong.append(f"{lookup.where}: {lookup.key!r} is not in {file}")
            continue
        entry = texts.raw(lookup.key)
        if lookup.values is None:
            continue
        if not isinstance(entry, str):
            wrong.append(f"{lookup.where}: {lookup.key!r} is not a line of text")
        elif fields(entry) - CLINIC_VALUES != lookup.values:
            wrong.append(f"{lookup.where}: {lookup.key!r} names {sorted(fields(entry))}, "
                         f"the code gives {sorted(lookup.values)}")
    return wrong


def unused(texts: Catalogue, found: Iterable[Lookup]) -> list[str]:
    """The entries of the file that no lookup reaches (a lookup of a section uses all of it)."""
    used = {lookup.key for lookup in found}
    return [key for key in leaves(texts.entries)
            if not any(key == u or key.startswith(u + ".") for u in used)]
