"""Warm-up benchmark: what a fresh process's first messages cost, without and with
``Advisor.warm_up``.

``Advisor.load`` leaves each triage pattern to be compiled, and a few indexes to be built, on
the first message that needs them; ``aftercare run``, the demo and the web desk call
``Advisor.warm_up`` in a background thread once they answer (bot/warmup.py). This measures, in
fresh child processes of this tree (alternating, so both see the same machine load):

  cold   the advisor loaded as the product loads it (bot/datafiles.py ``load_advisor``:
         ``Advisor.load`` with the default second detector, every language file read), then
         the messages answered twice
  warm   the same, with ``warm_up()`` run to its end between the load and the first pass

The messages are blind answer batch 19 (tests/data/answers_blind_19.yaml: 80 questions, each
with its recovery day), answered through ``Advisor.ask``. Figures are CPU time of the process
(``time.process_time``): per message of the first pass (p50, p95, max) and the whole pass, the
second pass's p50 and p95 (caches of patients' words then hold these messages: the floor), the
load and the warm-up itself. Printed per figure: the median over the runs of each mode and the
ratio warm/cold (below 1: warming up first is faster).

Run: ``.venv/bin/python benchmarks/warmup.py [--runs N]`` (default 5 runs of each mode).
Prints figures; it never fails on them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "tests" / "data" / "answers_blind_19.yaml"

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import yaml
cpu = time.process_time
from knowledge.advisor import Advisor
cases = [(c["text"], c.get("day")) for c in yaml.safe_load(open(sys.argv[2], encoding="utf-8"))]
c0 = cpu()
advisor = Advisor.load()
advisor.languages.load_all()  # as bot/datafiles.py load_advisor does
c1 = cpu()
if sys.argv[3] == "warm":
    advisor.warm_up()
c2 = cpu()

def answered():
    spent = []
    for text, day in cases:
        start = cpu()
        advisor.ask(text, day)
        spent.append((cpu() - start) * 1000)
    return spent

print(json.dumps({"load": c1 - c0, "warm_up": c2 - c1, "first": answered(),
                  "second": answered()}))
"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def child(mode: str) -> dict[str, float]:
    """One fresh process: load, warm up or not, answer the messages twice."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(MESSAGES), mode],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    first, second = run["first"], run["second"]
    return {"load": run["load"], "warm_up": run["warm_up"],
            "first_p50": statistics.median(first), "first_p95": p95(first),
            "first_max": max(first), "first_total": sum(first) / 1000,
            "second_p50": statistics.median(second), "second_p95": p95(second)}


FIGURES = (("load", "load (CPU s)"), ("warm_up", "warm-up (CPU s)"),
           ("first_p50", "first pass p50 (CPU ms)"), ("first_p95", "first pass p95 (CPU ms)"),
           ("first_max", "first pass max (CPU ms)"),
           ("first_total", "first pass, 80 messages (CPU s)"),
           ("second_p50", "second pass p50 (CPU ms)"), ("second_p95", "second pass p95 (CPU ms)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each mode (default: 5)")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    for _ in range(args.runs):
        for mode, results in runs.items():
            results.append(child(mode))
    print(f"{MESSAGES.name} through Advisor.ask in fresh processes, {args.runs} runs of each "
          f"(medians over the runs)")
    print(f"{'figure':34s} {'cold':>9s} {'warm':>9s} {'warm/cold':>10s}")
    for key, label in FIGURES:
        cold = statistics.median(run[key] for run in runs["cold"])
        warm = statistics.median(run[key] for run in runs["warm"])
        ratio = f"{warm / cold:10.2f}" if cold >= 1e-3 else f"{'-':>10s}"
        print(f"{label:34s} {cold:9.3f} {warm:9.3f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
