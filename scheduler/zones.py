"""Patient time zones: turn what a patient types ("Madrid", "new york", "Asia/Kolkata") into
an IANA zone name, and the short list of zones offered as buttons.

`resolve_zone(text)` accepts an exact IANA name (any letter case) or a city that is the last
part of an IANA name ("Los Angeles" -> America/Los_Angeles); it returns None otherwise, so the
caller can ask again. Only the zone database shipped with Python/tzdata is used.
"""

from __future__ import annotations

import functools
import re
from zoneinfo import ZoneInfo, available_timezones

# Offered as buttons besides the clinic's own zone (one per region most patients come from).
COMMON_ZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Dubai",
                "Australia/Sydney")
_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
            "Indian", "Pacific")


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


@functools.lru_cache(maxsize=1)
def _index() -> tuple[dict[str, str], dict[str, str]]:
    """({lower-case full name: name}, {city key: preferred name})."""
    names = sorted(available_timezones())
    full = {name.lower(): name for name in names}
    cities: dict[str, str] = {}
    for name in sorted((n for n in names if n.split("/")[0] in _REGIONS),
                       key=lambda n: (-n.count("/"), n)):  # canonical (deeper) names first
        cities.setdefault(_key(name.rsplit("/", 1)[-1]), name)
    return full, cities


def resolve_zone(text: str) -> str | None:
    """The IANA zone name for an IANA name or a city name, or None if nothing matches."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 64:
        return None
    full, cities = _index()
    name = full.get(cleaned.lower()) or cities.get(_key(cleaned))
    if name is None:
        return None
    ZoneInfo(name)  # present in the zone database: cannot fail for a listed name
    return name


def city_label(zone: str) -> str:
    """A short button label for a zone: "New York" for America/New_York."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def offered_zones(current: str) -> list[str]:
    """The zones to offer as buttons, the current one excluded."""
    return [zone for zone in COMMON_ZONES if zone != current]
