"""What start-up says when it cannot go on: every reason `StartupFailed` carries comes from
bot/ops/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, when the
first such line is needed, so a start-up that goes well reads no YAML here. Log lines stay
in the code that logs them. tests/test_ops_texts.py checks that every key used is in the
file with the values it names and every entry of the file is used.
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
    """bot/ops/texts.yaml as a catalogue (read once)."""
    from knowledge.catalogue import Catalogue

    return Catalogue.load(TEXTS)


def text(key: str, **values: Any) -> str:
    """The entry for `key` (dotted: ``"startup.token_refused"``) as plain text, `values`
    filled in."""
    return catalogue().text(key, **values)
