"""One text file's lookup, read on first use: the command line (bot/cli/texts.py), start-up
(bot/ops/texts.py), configuration problems (bot/config.py) and the scheduler's setting problems
(scheduler/texts.py) each say their lines through one of these.

The file is a message catalogue (knowledge/catalogue.py), imported and read only when the
first line is needed, so a command or a start-up that prints none of them reads no YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.catalogue import Catalogue


class LazyTexts:
    """`text(key, **values)` over the catalogue at `path`, loaded once, on the first call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._catalogue: Catalogue | None = None

    def catalogue(self) -> Catalogue:
        """The file as a catalogue (read once)."""
        if self._catalogue is None:
            from knowledge.catalogue import Catalogue

            self._catalogue = Catalogue.load(self.path)
        return self._catalogue

    def text(self, key: str, **values: Any) -> str:
        """The entry for `key` (dotted) as plain text, `values` filled in."""
        return self.catalogue().text(key, **values)
