"""The one message catalogue: user-facing text read from YAML and filled in for one clinic.

A `Catalogue` holds nested mappings (dotted keys: ``"hours.closed"``) and the `Clinic` whose
name, contact and emergency number every entry may name (``{clinic}``, ``{Clinic}`` for the
name at the start of a sentence, ``{clinic_contact}``, ``{emergency}``). The advisor reads its
patient texts from knowledge/messages.yaml through one, the bot its texts from
bot/core/messages.yaml through another; both are built by whoever loads the data files
(bot/compose.py), so this module takes values and reads no environment.

A catalogue of another language's texts (knowledge/languages/<code>.yaml) also has that
language's `Wording`: its templates name the clinic with the language's own noun, in the case
each sentence needs, followed by ``{clinic_named}`` (the configured name in the language's quote
marks, nothing when no name is set), and an unset emergency number is the language's own text,
not the English one.

* `text(key, **values)`: plain text (the advisor's answers, button labels, CLI output);
* `render(key, **values)`: Telegram HTML, every value HTML-escaped first unless it is
  `Trusted`, so user or knowledge-base text can never break the parse mode.
"""

from __future__ import annotations

import html
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.errors import KBError, Problem
from knowledge.yamlfile import LineDict, LineList, data_file_problems, read_yaml

DEFAULT_NAME = "the clinic"
DEFAULT_EMERGENCY = "999 in the UK, 112 in the EU, 911 in the US"


@dataclass(frozen=True)
class Clinic:
    """What the texts say about the clinic; filled from the bot's configuration."""

    name: str = DEFAULT_NAME
    contact: str = ""  # e.g. "020 7946 0000"; shown after "contact the clinic"
    emergency: str = DEFAULT_EMERGENCY

    @property
    def named(self) -> bool:
        """Whether the clinic's name is configured (not the English default)."""
        return self.name != DEFAULT_NAME

    @property
    def own_emergency(self) -> bool:
        """Whether the emergency number is configured (not the English default)."""
        return self.emergency != DEFAULT_EMERGENCY


@dataclass(frozen=True)
class Wording:
    """How another language's texts speak of the clinic (its file's ``clinic`` section): the
    quote marks around the configured name after the language's own noun ("la clínica
    «Rosewood Skin»"), and its text for the emergency number when none is configured."""

    quotes: tuple[str, str]
    emergency: str


class Trusted(str):
    """A value that is already safe Telegram HTML (e.g. a rendered command list)."""


class Catalogue:
    """A message catalogue for one clinic."""

    def __init__(self, entries: Mapping[str, Any], clinic: Clinic | None = None,
                 wording: Wording | None = None) -> None:
        self.entries = entries
        self.clinic = clinic or Clinic()
        self.wording = wording  # None: English (``{clinic_named}`` in plain double quotes)

    @classmethod
    def load(cls, path: Path, clinic: Clinic | None = None) -> Catalogue:
        """Read a YAML catalogue (`DataFileError` naming the line for a broken file)."""
        return cls(read_yaml(path) or {}, clinic)

    def with_clinic(self, clinic: Clinic) -> Catalogue:
        """The same entries, speaking for `clinic`."""
        return Catalogue(self.entries, clinic, self.wording)

    def raw(self, key: str) -> Any:
        """The unformatted entry (a string, a list or a nested mapping); KeyError if absent."""
        node: Any = self.entries
        for part in key.split("."):
            node = node[part]
        return node

    def get(self, key: str, default: object = None) -> Any:
        """The unformatted entry, or `default` when there is none."""
        try:
            return self.raw(key)
        except (KeyError, TypeError):
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def _clinic_values(self) -> dict[str, str]:
        contact = f" ({self.clinic.contact})" if self.clinic.contact else ""
        name = self.clinic.name
        opening, closing = self.wording.quotes if self.wording is not None else ('"', '"')
        emergency = (self.wording.emergency if self.wording is not None
                     and not self.clinic.own_emergency else self.clinic.emergency)
        return {"clinic": name, "Clinic": name[:1].upper() + name[1:],
                "clinic_named": f" {opening}{name}{closing}" if self.clinic.named else "",
                "clinic_contact": contact, "emergency": emergency}

    def fill(self, template: str, **values: Any) -> str:
        """A template from elsewhere (a language pack, a KB entry) filled like an entry, as
        plain text."""
        return template.format(**{**self._clinic_values(), **values})

    def text(self, key: str, **values: Any) -> str:
        """The entry for `key` as plain text, values filled in as they are."""
        return self.fill(str(self.raw(key)), **values)

    def render(self, key: str, **values: Any) -> str:
        """The entry for `key` as Telegram HTML, with escaped values filled in."""
        filled = {**self._clinic_values(), **values}
        safe = {k: v if isinstance(v, Trusted) else html.escape(str(v), quote=False)
                for k, v in filled.items()}
        return str(self.raw(key)).format(**safe)

    def label(self, key: str) -> str:
        """A button label (plain text, not HTML) from the "buttons" section."""
        return str(self.raw(f"buttons.{key}"))


# what every text may name besides the values its caller gives (`Catalogue._clinic_values`)
CLINIC_FIELDS = frozenset({"clinic", "Clinic", "clinic_named", "clinic_contact", "emergency"})
_Leaf = tuple[str, object, int]  # dotted key, value, line


def _leaves(entries: LineDict, prefix: str = "") -> Iterator[_Leaf]:
    for key, value in entries.items():
        dotted, line = f"{prefix}{key}", entries.line_of(str(key))
        if isinstance(value, LineDict):
            yield from _leaves(value, f"{dotted}.")
        else:
            yield dotted, value, line


def _fields(template: str) -> set[str]:
    """The names a template fills in (``{id}``, ``{at:%H:%M}``); ValueError for a broken one
    (a lone ``{`` or ``}``)."""
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template) if name}


def _kind(value: object) -> str:
    if isinstance(value, LineDict):
        return "a section"
    if isinstance(value, LineList):
        return "a list"
    if isinstance(value, str):
        return "a text"
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"


def _texts(value: object) -> list[str] | None:
    """A leaf's texts (a text, or a list of texts); None when it is something else."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, LineList) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


def catalogue_problems(path: Path, reference: Path | None = None) -> list[Problem]:
    """What would make a catalogue fail later, at the first use of one of its texts, each with
    file, line and reason: the file cannot be read or parsed, is not a mapping of keys to
    texts, or has an entry that is not a text (or a list of texts), or a text whose braces do
    not pair (a literal brace is ``{{`` / ``}}``). Against `reference` (the packaged file that
    a clinic's copy replaces): an entry it has that the copy lacks or holds as another kind
    (another number of items for a list), and a ``{name}`` the packaged text does not fill."""
    name = str(path)
    try:
        with data_file_problems():
            entries = read_yaml(path)
    except KBError as exc:
        return list(exc.problems)
    if entries is None:
        entries = LineDict()
        entries.key_lines = {}
    if not isinstance(entries, LineDict):
        return [Problem(name, getattr(entries, "line", 1) or 1,
                        f"the file must map keys to texts, not {_kind(entries)}")]
    problems: list[Problem] = []
    found: dict[str, _Leaf] = {}
    for key, value, line in _leaves(entries):
        found[key] = (key, value, line)
        texts = _texts(value)
        if texts is None:
            problems.append(Problem(name, line, f"{key!r} must be a text or a list of texts, "
                                                f"not {_kind(value)}"))
            continue
        for text in texts:
            try:
                _fields(text)
            except ValueError as exc:
                problems.append(Problem(name, line, f"{key!r}: {exc} (a brace meant as text "
                                                    "is written {{ or }})"))
    if reference is not None and reference.resolve() != path.resolve():
        problems += _against(name, entries, found, reference)
    return problems


def _against(name: str, entries: LineDict, found: dict[str, _Leaf],
             reference: Path) -> list[Problem]:
    """The copy's entries against the packaged file's (`catalogue_problems`)."""
    packaged = read_yaml(reference)
    if not isinstance(packaged, LineDict):
        return []
    problems: list[Problem] = []
    for key, value, _ in _leaves(packaged):
        if key not in found:
            problems.append(Problem(name, _section_line(entries, key),
                                    f"{key!r} is missing (the packaged {reference.name} has "
                                    "it: copy it over)"))
            continue
        _, mine, line = found[key]
        theirs, ours = _texts(value), _texts(mine)
        if theirs is None or ours is None:
            continue  # reported above, or a packaged entry of its own kind
        if isinstance(value, str) != isinstance(mine, str) or len(theirs) != len(ours):
            problems.append(Problem(name, line, f"{key!r} must be {_shape(value)}, as in the "
                                                f"packaged {reference.name}"))
            continue
        for text, given in zip(ours, theirs, strict=True):
            try:
                extra = _fields(text) - _fields(given) - CLINIC_FIELDS
            except ValueError:
                continue  # reported above
            if extra:
                problems.append(Problem(name, line, f"{key!r} names "
                                        f"{', '.join('{' + e + '}' for e in sorted(extra))}, "
                                        "which this text is never given"))
    return problems


def _shape(value: object) -> str:
    return f"a list of {len(value)} texts" if isinstance(value, list) else "a text"


def _section_line(entries: LineDict, dotted: str) -> int:
    """The line of the deepest section of `dotted` the copy has (where the entry belongs)."""
    node, line = entries, entries.line or 1
    for part in dotted.split(".")[:-1]:
        child = node.get(part)
        if not isinstance(child, LineDict):
            break
        line, node = node.line_of(part), child
    return line


__all__ = ["DEFAULT_EMERGENCY", "DEFAULT_NAME", "Catalogue", "Clinic", "Trusted", "Wording",
           "catalogue_problems"]
