"""What the scheduler says to the clinic's IT person: the problems of settings it reads
(opening hours, closed dates) come from scheduler/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, when the
first problem is found, so settings that are right read no YAML here. Log lines stay in the
code that logs them. tests/test_scheduler_texts.py checks that every key used is in the file
with the values it names and every entry of the file is used.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from knowledge.catalogue import Catalogue

TEXTS = Path(__file__).with_name("texts.yaml")


@functools.cache
def catalogue() -> Catalogue:
    """scheduler/texts.yaml as a catalogue (read once)."""
    return Catalogue.load(TEXTS)


def text(key: str, **values: Any) -> str:
    """The entry for `key` (dotted: ``"hours.overlap"``) as plain text, `values` filled in."""
    return catalogue().text(key, **values)
