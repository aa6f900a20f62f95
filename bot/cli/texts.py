"""What the ``aftercare`` command line says: every message, error and confirmation it prints
for a person comes from bot/cli/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, on the
first line printed, so ``aftercare --help`` reads no YAML. The help of commands and options
stays beside their argparse definitions. tests/test_cli_texts.py checks that every key used
in bot/cli/ is in the file and every entry of the file is used.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.catalogue import Catalogue

TEXTS = Path(__file__).with_name("texts.yaml")


@functools.cache
def catalogue() -> Catalogue:
    """bot/cli/texts.yaml as a catalogue (read once)."""
    from knowledge.catalogue import Catalogue

    return Catalogue.load(TEXTS)


def text(key: str, **values: Any) -> str:
    """The entry for `key` (dotted: ``"sessions.moved"``) as plain text, `values` filled in."""
    return catalogue().text(key, **values)
