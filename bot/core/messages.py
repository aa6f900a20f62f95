"""User-facing text of the bot, read from bot/core/messages.yaml and filled in safely.

`Messages.render(key, **values)` looks up a dotted key and formats it; every value is
HTML-escaped first, so user or knowledge-base text can never break Telegram's HTML parse
mode. The clinic's name, contact and emergency number are always available as placeholders.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import yaml

from knowledge.advisor import Clinic

PACKAGED_MESSAGES = Path(__file__).with_name("messages.yaml")


class Messages:
    """The bot's message catalogue for one clinic."""

    def __init__(self, catalogue: dict[str, Any], clinic: Clinic) -> None:
        self.catalogue = catalogue
        self.clinic = clinic

    @classmethod
    def load(cls, clinic: Clinic, path: Path = PACKAGED_MESSAGES) -> Messages:
        """Read the YAML catalogue."""
        with path.open(encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle), clinic)

    def raw(self, key: str) -> Any:
        """The unformatted entry (a string or a nested mapping)."""
        node: Any = self.catalogue
        for part in key.split("."):
            node = node[part]
        return node

    def render(self, key: str, **values: Any) -> str:
        """The entry for `key` as Telegram HTML, with escaped values filled in."""
        contact = f" ({self.clinic.contact})" if self.clinic.contact else ""
        filled = {"clinic": self.clinic.name, "clinic_contact": contact,
                  "emergency": self.clinic.emergency, **values}
        safe = {k: v if isinstance(v, Trusted) else html.escape(str(v), quote=False)
                for k, v in filled.items()}
        return str(self.raw(key)).format(**safe)

    def label(self, key: str) -> str:
        """A button label (plain text, not HTML)."""
        return str(self.raw(f"buttons.{key}"))


class Trusted(str):
    """A value that is already safe Telegram HTML (e.g. a rendered command list)."""
