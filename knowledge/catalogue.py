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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.yamlfile import read_yaml

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


__all__ = ["DEFAULT_EMERGENCY", "DEFAULT_NAME", "Catalogue", "Clinic", "Trusted", "Wording"]
