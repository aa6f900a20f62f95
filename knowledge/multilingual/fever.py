"""Temperature readings in other languages: 38 C / 100.4 F or more, alone with a decimal or near
one of the language's temperature words or a degree sign, not negated."""

from __future__ import annotations

import re

from knowledge.multilingual.message import Message

_READING = re.compile(r"(?<![\d.,])(\d{2,3})(?:[.,](\d))?(?![\d])")


def fever_reading(message: Message) -> tuple[int, int] | None:
    """A temperature of 38 C / 100.4 F or more: "38,5" alone, or a whole number near a
    temperature word ("temperatura 39") or with a degree sign."""
    pack = message.pack
    context = [i for i, words in enumerate(message.words) if words & pack.fever_context]
    degrees = "°" in message.raw
    for i, token in enumerate(message.tokens):
        m = _READING.fullmatch(token.text)
        if not m:
            continue
        value = float(f"{m.group(1)}.{m.group(2) or 0}")
        celsius = 38.0 <= value <= 43.0
        if not (celsius or 100.4 <= value <= 108.0):
            continue
        near = any(abs(i - c) <= 4 for c in context)
        if not (near or degrees or (celsius and m.group(2) is not None)):
            continue
        if any(message.negation[j] for j in range(max(0, i - 3), i)):
            continue
        return i, i
    return None
