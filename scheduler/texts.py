"""What the scheduler says to the clinic's IT person: the problems of settings it reads
(opening hours, closed dates) come from scheduler/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, when the
first problem is found, so settings that are right read no YAML here. Log lines stay in the
code that logs them. tests/test_scheduler_texts.py checks that every key used is in the file
with the values it names and every entry of the file is used.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.lazytexts import LazyTexts

TEXTS = Path(__file__).with_name("texts.yaml")
_TEXTS = LazyTexts(TEXTS)
catalogue = _TEXTS.catalogue  # the file as a catalogue (read once)
text = _TEXTS.text  # text(key, **values): the entry for `key`, values filled in
