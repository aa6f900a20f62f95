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
        if is_fever(float(number), unit, rules):
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

