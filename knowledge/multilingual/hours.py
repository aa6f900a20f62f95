"""The optional ``hours`` section of a language file: the sentences for when the clinic is
closed and the words to name the next opening ("Monday 30 November at 09:00 (your time)")."""

from __future__ import annotations

from typing import Any

from knowledge.errors import ProblemCollector
from knowledge.yamlfile import LineDict

HOURS_TEXTS = ("urgent_closed", "urgent_closed_oncall", "handoff_closed", "fallback_contact",
               "fallback_default", "when", "zone_yours", "zone_clinic")
HOURS_LISTS = {"weekdays": 7, "months": 12}
_HOURS_VALUES = {"opening": "o", "fallback": "f", "contact": "c", "weekday": "w", "day": 1,
                 "month": "m", "time": "09:00", "zone": "z"}


def parse_hours(raw: LineDict, out: ProblemCollector) -> dict[str, Any]:
    """The optional ``hours`` section: every sentence of `HOURS_TEXTS` (placeholders checked)
    and the seven weekday and twelve month names; all or nothing."""
    if "hours" not in raw:
        return {}
    section = raw["hours"]
    if not isinstance(section, LineDict):
        out.add(raw.line_of("hours"), "hours must be a mapping")
        return {}
    hours: dict[str, Any] = {}
    for key in HOURS_TEXTS:
        text = section.get(key)
        if not isinstance(text, str) or not text.strip():
            out.add(section.line, f"hours: missing sentence {key!r}")
            continue
        try:
            text.format(**_HOURS_VALUES)
        except (KeyError, IndexError, ValueError) as exc:
            out.add(section.line_of(key), f"hours.{key}: bad placeholder ({exc})")
        hours[key] = " ".join(text.split())
    for key, count in HOURS_LISTS.items():
        names = section.get(key)
        if not isinstance(names, list) or len(names) != count or not all(
                isinstance(n, str) and n.strip() for n in names):
            out.add(section.line_of(key) if key in section else section.line,
                    f"hours.{key} must list {count} names")
            continue
        hours[key] = [str(n) for n in names]
    for key in sorted(set(section) - set(HOURS_TEXTS) - set(HOURS_LISTS)):
        out.add(section.line_of(key), f"hours: unknown key {key!r}")
    return hours
