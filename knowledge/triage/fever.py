"""Fever readings: temperatures at or above the thresholds of the rules ("38.5", "101f", "temp of
39"), found as hits the signs' ``@fever_reading`` pattern can use."""

from __future__ import annotations

import re
from collections.abc import Iterator

from knowledge.triage.rules import Fever

_READING = re.compile(
    r"(?<![\w.])(\d{2,3}(?:\.\d)?)(\s*(?:°|degrees?|deg)?\s*)"
    r"(c|f|celsius|fahrenheit|centigrade)?(?![a-z0-9])"
)

# where a sentence ends around a reading (not the dot of "38.5")
_SENTENCE_END = re.compile(r"[!?\n]|\.(?!\d)")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence around [start, end)."""
    before = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    after = _SENTENCE_END.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def fever_readings(text: str, rules: Fever) -> Iterator[tuple[int, int]]:
    """Temperatures at or above the fever thresholds: "38.5", "38,5c", "101f", "temp of 39"."""
    for m in _READING.finditer(text):
        number, between, unit = m.group(1), m.group(2), m.group(3)
        marked = bool(unit) or "°" in between or "º" in between or "deg" in between
        if not marked:
            if rules.not_after.match(text, m.end()) or rules.not_before.search(text, 0, m.start()):
                continue
            if ("." not in number and rules.whole_before is not None
                    and rules.whole_before.search(text, 0, m.start())):
                continue
            if "." not in number and not rules.context.search(text):
                continue
        if not is_fever(float(number), unit, rules):
            continue
        start, end = _sentence(text, m.start(), m.end())
        if rules.not_around is not None and rules.not_around.search(text[start:end]):
            continue  # the weather's, a place's or a thing's ("the forecast said 38 degrees")
        yield m.start(), m.end()


def is_fever(value: float, unit: str | None, rules: Fever) -> bool:
    if unit:
        scale = unit[0]
    elif 34 <= value <= 44:
        scale = "c"
    elif 93 <= value <= 110:
        scale = "f"
    else:
        return False
    if scale == "c":
        return rules.celsius <= value <= 45
    return rules.fahrenheit <= value <= 113

