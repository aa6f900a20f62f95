"""What start-up says when it cannot go on: every reason `StartupFailed` carries comes from
bot/ops/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, when the
first such line is needed, so a start-up that goes well reads no YAML here. Log lines stay
in the code that logs them. tests/test_ops_texts.py checks that every key used is in the
file with the values it names and every entry of the file is used.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.lazytexts import LazyTexts

TEXTS = Path(__file__).with_name("texts.yaml")
_TEXTS = LazyTexts(TEXTS)
catalogue = _TEXTS.catalogue  # the file as a catalogue (read once)
text = _TEXTS.text  # text(key, **values): the entry for `key`, values filled in
