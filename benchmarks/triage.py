"""Triage benchmark: the product's real red-flag triage scored on the blind batches.

Every message of each batch (``tests/data/triage_blind_*.yaml``: text, day, expect in
emergency|urgent|review|normal, lang, kind) goes through ``Advisor.ask``, the same path a patient
message takes, once per configuration:

  rules      the explainable rules alone (``knowledge/triage.yaml``)
  rules+X    the rules plus a second detector X (each candidate the product ships:
             ngram, fuzz, embed, concepts, and ngram+embed and ngram+concepts, where either
             of the two raises the alarm)

Each configuration runs in its own child process, so start-up time and resident memory are its
own. Printed per batch, side by side: recall per tier, exact tier, false escalation on normal
healing, red flags escalated at all, other-language red flags, a confusion matrix, misses grouped
by the batch's ``kind``, time per message through the whole advisor, start-up and resident
memory. Time per message (p50/p95) is measured two ways:

  warm   each message's best of 3 runs in a row (other processes share the machine), the later
         runs reading the caches the first one filled: optimistic
  cold   then one more run with the process's caches of message texts and words emptied first
         (``knowledge.text.forget_texts``): what a new message costs, the honest figure. The
         rules the message needs were compiled by its warm runs, as in a bot that has been
         running (a rule is compiled once per process, when a message first needs it); in wall
         time and in the process's CPU time (on a shared machine the wall time also counts
         the other jobs: the CPU time is the one to compare at load)

Run: ``.venv/bin/python benchmarks/triage.py [BATCH.yaml ...] [--misses] [--configs A,B]``
(``--configs rules+ngram,rules+ngram+concepts``: only those configurations, side by side).
Prints figures; it never fails on them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TIERS = ("emergency", "urgent", "review", "normal")
RED = ("emergency", "urgent")
REPEATS = 3


# ----------------------------------------------------------------------------- configurations


def _configurations() -> list[str]:
    """"rules" and one "rules+NAME" per second detector the product offers (a detector whose
    package is not installed, such as embed without wordllama, prints "failed" and is left
    out of the table)."""
    sys.path.insert(0, str(ROOT))
    try:  # imported by name: the module may not exist in this version of the product
        detectors = importlib.import_module("knowledge.detectors").DETECTORS
    except ImportError:  # no second detector in this version of the product
        return ["rules"]
    return ["rules", *(f"rules+{name}" for name in detectors)]


def _build(config: str) -> Any:
    """The advisor for one configuration, loaded the way the product loads it."""
    sys.path.insert(0, str(ROOT))
    from knowledge.advisor import Advisor

    load: Callable[..., Any] = Advisor.load  # its options differ between versions
    if config == "rules":
        try:
            return load(second_detector=None)
        except TypeError:  # a version of the product without a second detector
            return load()
    return load(second_detector=config.split("+", 1)[1])


def predicted_tier(advice: Any) -> str:
    if advice.urgency in RED:
        return str(advice.urgency)
    return "review" if advice.routine_review else "normal"


def _forget() -> Callable[[], None]:
    """The product's way to empty its caches of message texts (a no-op in versions without)."""
    try:
        forget: Callable[[], None] = importlib.import_module("knowledge.text").forget_texts
    except (ImportError, AttributeError):
        return lambda: None
    return forget


def run_child(config: str, batches: list[Path]) -> dict[str, Any]:
    """In the child: load, then answer every message of every batch; timings and memory."""
    started = time.perf_counter()
    advisor = _build(config)
    startup = time.perf_counter() - started
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    forget = _forget()
    advisor.ask("warm up", 0)
    out: dict[str, Any] = {"config": config, "startup_s": startup, "batches": {}}
    for batch in batches:
        items = yaml.safe_load(batch.read_text(encoding="utf-8"))
        predictions, times, cold, cold_cpu = [], [], [], []
        for item in items:
            best = float("inf")
            for _ in range(REPEATS):  # best of 3: other processes share this machine's 2 cores
                t0 = time.perf_counter()
                advice = advisor.ask(item["text"], item.get("day"))
                best = min(best, (time.perf_counter() - t0) * 1000)
            times.append(best)
            forget()  # nothing of this message (or any other) cached
            t0, cpu0 = time.perf_counter(), time.process_time()
            advisor.ask(item["text"], item.get("day"))
            cold.append((time.perf_counter() - t0) * 1000)
            cold_cpu.append((time.process_time() - cpu0) * 1000)
            follow_up = getattr(advice, "follow_up", None)
            predictions.append({"tier": predicted_tier(advice), "follow_up": follow_up is not None})
        out["batches"][batch.name] = {"predictions": predictions, "ms": times, "ms_cold": cold,
                                      "ms_cold_cpu": cold_cpu}
    out["rss_loaded_mb"] = rss_loaded
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# ----------------------------------------------------------------------------- scoring


def _ratio(hit: int, total: int) -> str:
    return f"{hit / total:.2f} ({hit}/{total})" if total else "n/a"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def score(items: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = [(item, pred["tier"]) for item, pred in zip(items, predictions, strict=True)]
    by_tier: dict[str, list[str]] = defaultdict(list)
    for item, tier in pairs:
        by_tier[item["expect"]].append(tier)
    red = [(item, tier) for item, tier in pairs if item["expect"] in RED]
    other = [(item, tier) for item, tier in red if item.get("lang", "en") != "en"]
    normal = by_tier["normal"]
    rows: dict[str, str] = {}
    rows["emergency recall (at emergency)"] = _ratio(
        sum(t == "emergency" for t in by_tier["emergency"]), len(by_tier["emergency"]))
    rows["urgent recall (urgent or higher)"] = _ratio(
        sum(t in RED for t in by_tier["urgent"]), len(by_tier["urgent"]))
    rows["urgent exact"] = _ratio(sum(t == "urgent" for t in by_tier["urgent"]),
                                  len(by_tier["urgent"]))
    rows["review recall (review exact)"] = _ratio(
        sum(t == "review" for t in by_tier["review"]), len(by_tier["review"]))
    rows["review escalated"] = _ratio(sum(t in RED for t in by_tier["review"]),
                                      len(by_tier["review"]))
    rows["normal kept normal"] = _ratio(sum(t == "normal" for t in normal), len(normal))
    rows["exact tier (all)"] = _ratio(sum(item["expect"] == t for item, t in pairs), len(pairs))
    rows["red flags escalated at all"] = _ratio(sum(t in RED for _, t in red), len(red))
    rows["red flags escalated, English"] = _ratio(
        sum(t in RED for item, t in red if item.get("lang", "en") == "en"),
        sum(item.get("lang", "en") == "en" for item, _ in red))
    rows["other-language red flags"] = _ratio(sum(t in RED for _, t in other), len(other))
    rows["false escalation on normal"] = _ratio(sum(t in RED for t in normal), len(normal))
    rows["rule-out question asked"] = _ratio(sum(p["follow_up"] for p in predictions),
                                             len(predictions))
    confusion = Counter((item["expect"], tier) for item, tier in pairs)
    misses: dict[str, list[str]] = defaultdict(list)
    for item, tier in pairs:
        expect = item["expect"]
        missed = (
            (expect in RED and tier not in RED)
            or (expect == "emergency" and tier != "emergency")
            or (expect in ("normal", "review") and tier in RED)
        )
        if missed:
            misses[item.get("kind", "?")].append(
                f"[{expect}->{tier}, day {item.get('day')}, {item.get('lang', 'en')}] "
                f"{item['text']}")
    return {"rows": rows, "confusion": confusion, "misses": misses}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = ["  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    for row in rows:
        lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)))
    return "\n".join(lines)


def report(results: list[dict[str, Any]], batches: list[Path], show_misses: bool,
           configs: list[str]) -> None:
    wanted = configs if len(configs) > 1 else [*configs, "rules + second detector"]
    by_config = {r["config"]: r for r in results}
    for batch in batches:
        items = yaml.safe_load(batch.read_text(encoding="utf-8"))
        counts = Counter(item["expect"] for item in items)
        print(f"\n=== {batch.name}: {len(items)} messages "
              f"({', '.join(f'{counts[t]} {t}' for t in TIERS)}; "
              f"{sum(i.get('lang', 'en') != 'en' for i in items)} not in English)")
        scored = {c: score(items, by_config[c]["batches"][batch.name]["predictions"])
                  for c in wanted if c in by_config}
        names = list(next(iter(scored.values()))["rows"])
        rows = [[name, *(scored[c]["rows"][name] if c in scored else "n/a" for c in wanted)]
                for name in names]
        for label, series, key in (
                ("time per message, cold: p50 (ms)", "ms_cold", 0.5),
                ("time per message, cold: p95 (ms)", "ms_cold", 0.95),
                ("time per message, cold, CPU: p50 (ms)", "ms_cold_cpu", 0.5),
                ("time per message, cold, CPU: p95 (ms)", "ms_cold_cpu", 0.95),
                ("time per message, warm best of 3: p50 (ms)", "ms", 0.5),
                ("time per message, warm best of 3: p95 (ms)", "ms", 0.95)):
            rows.append([label, *(
                f"{_percentile(by_config[c]['batches'][batch.name][series], key):.2f}"
                if c in by_config else "n/a" for c in wanted)])
        rows.append(["start-up (s)", *(f"{by_config[c]['startup_s']:.2f}" if c in by_config
                                       else "n/a" for c in wanted)])
        rows.append(["RSS after load (MB)", *(f"{by_config[c]['rss_loaded_mb']:.0f}"
                                              if c in by_config else "n/a" for c in wanted)])
        rows.append(["RSS peak (MB)", *(f"{by_config[c]['rss_peak_mb']:.0f}" if c in by_config
                                        else "n/a" for c in wanted)])
        print(_table(["measure", *wanted], rows))
        for config, result in scored.items():
            print(f"\n  confusion matrix, {config} (rows: expected, columns: got)")
            matrix = [[expect, *(str(result["confusion"][(expect, got)]) for got in TIERS)]
                      for expect in TIERS]
            print(_table(["expected", *TIERS], matrix))
        print("\n  misses by kind (red flag not escalated, emergency below emergency, "
              "or normal/review escalated)")
        kinds = sorted({k for r in scored.values() for k in r["misses"]})
        rows = [[kind, *(str(len(scored[c]["misses"].get(kind, []))) if c in scored else "n/a"
                         for c in wanted)] for kind in kinds]
        rows.append(["total", *(str(sum(map(len, scored[c]["misses"].values())))
                                if c in scored else "n/a" for c in wanted)])
        print(_table(["kind", *wanted], rows))
        if show_misses:
            for config, result in scored.items():
                print(f"\n  misses, {config}:")
                for kind in sorted(result["misses"]):
                    for line in result["misses"][kind]:
                        print(f"    {kind}: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batches", nargs="*", type=Path, help="batch files (default: all blind)")
    parser.add_argument("--misses", action="store_true", help="print every missed message")
    parser.add_argument("--configs", help="comma-separated configurations (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    batches = args.batches or sorted(DATA.glob("triage_blind_*.yaml"))
    if args.child:
        print(json.dumps(run_child(args.child, batches)))
        return
    configs = _configurations()
    if args.configs:
        wanted = [name.strip() for name in args.configs.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in configs]
        if unknown:
            parser.error(f"unknown configuration(s) {', '.join(unknown)} "
                         f"(known: {', '.join(configs)})")
        configs = wanted
    results = []
    for config in configs:
        child = subprocess.run(
            [sys.executable, __file__, "--child", config, *map(str, batches)],
            capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(f"{config}: failed\n{child.stderr}", file=sys.stderr)
            continue
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    report(results, batches, args.misses, configs)


if __name__ == "__main__":
    main()
