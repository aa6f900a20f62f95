"""What the ``aftercare`` command line says: every message, error and confirmation it prints
for a person comes from bot/cli/texts.yaml through `text(key, **values)`.

The file is read through the one message catalogue (knowledge/catalogue.py), once, on the
first line printed, so ``aftercare --help`` reads no YAML. The help of commands and options
stays beside their argparse definitions. tests/test_cli_texts.py checks that every key used
in bot/cli/ is in the file and every entry of the file is used.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.lazytexts import LazyTexts

TEXTS = Path(__file__).with_name("texts.yaml")
# the one line not in the file: said (before the located problems) when the file itself is broken
BROKEN_TEXTS = "problems in the data files (fix them, then run `aftercare kb check`):"
_TEXTS = LazyTexts(TEXTS)
catalogue = _TEXTS.catalogue  # the file as a catalogue (read once)
text = _TEXTS.text  # text(key, **values): the entry for `key`, values filled in
