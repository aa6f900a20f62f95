"""Start-up benchmark: the CPU and wall time of ``Advisor.load``, this tree against a baseline.

Every bot process (``aftercare run``, each restart and failover, ``aftercare ask``) builds the
advisor first: knowledge base, triage rules, message catalogue, language packs, second detector,
scope guard. This measures that load, the way the product calls it
(``Advisor.load(second_detector="ngram")``, the default), in fresh child processes, for the
current tree and for a baseline commit exported with ``git archive`` into a temporary folder, in
alternating runs (the machine is shared, so both see the same load):

  import        importing ``knowledge.advisor`` (CPU seconds)
  load          ``Advisor.load`` (CPU seconds, process time, and wall seconds)
  first answer  the first ``Advisor.ask`` after the load (CPU seconds): work deferred from the
                load to first use (a language pack read on its first message) shows up here
  load+first    the two together: what a process that answers at least one message pays

Printed per figure: median and p95 over the runs of each tree, and the ratio current/baseline of
the medians (below 1: the current tree is faster).

Run: ``.venv/bin/python benchmarks/startup.py [--baseline REF] [--runs N]`` (default: ``main``,
7 runs each). Prints figures; it never fails on them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# the first messages a process answers: an English red flag, then one in Spanish (a language
# pack read on first use is paid for here)
FIRST_MESSAGES = (("my lips are swelling and my throat feels tight", 1),
                  ("me arde mucho la cara y tengo fiebre", 2))

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
cpu, wall = time.process_time, time.perf_counter
c0 = cpu()
from knowledge.advisor import Advisor
c1, w1 = cpu(), wall()
advisor = Advisor.load(second_detector="ngram")
c2, w2 = cpu(), wall()
for text, day in json.loads(sys.argv[2]):
    advisor.ask(text, day)
c3 = cpu()
print(json.dumps({"import": c1 - c0, "load": c2 - c1, "load_wall": w2 - w1,
                  "first": c3 - c2, "load_first": c3 - c1}))
"""

FIGURES = (("import", "import (CPU s)"), ("load", "load (CPU s)"),
           ("load_wall", "load (wall s)"), ("first", "first answers (CPU s)"),
           ("load_first", "load + first answers (CPU s)"))


def child(tree: Path) -> dict[str, float]:
    """One fresh process loading the advisor from ``tree``."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), json.dumps(FIRST_MESSAGES)],
                         cwd=tree, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def export(ref: str, into: Path) -> Path:
    """The tree of commit ``ref``, exported with ``git archive`` (no worktree is registered)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(current: list[dict[str, float]], baseline: list[dict[str, float]], ref: str) -> None:
    print(f"{'figure':30s} {'current p50':>12s} {'p95':>8s} {ref[:12] + ' p50':>16s} "
          f"{'p95':>8s} {'ratio p50':>10s} {'ratio p95':>10s}")
    for key, label in FIGURES:
        now = [run[key] for run in current]
        base = [run[key] for run in baseline]
        median_now, median_base = statistics.median(now), statistics.median(base)
        ratio = median_now / median_base if median_base else float("nan")
        ratio95 = p95(now) / p95(base) if p95(base) else float("nan")
        print(f"{label:30s} {median_now:12.3f} {p95(now):8.3f} {median_base:16.3f} "
              f"{p95(base):8.3f} {ratio:10.2f} {ratio95:10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main",
                        help="the git commit to compare with (default: main)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each tree (default: 7)")
    args = parser.parse_args(argv)
    current: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="startup-baseline-") as folder:
        base_tree = export(args.baseline, Path(folder))
        for _ in range(args.runs):  # alternating, so both trees see the same machine load
            current.append(child(ROOT))
            baseline.append(child(base_tree))
    print(f"Advisor.load(second_detector='ngram'), {args.runs} fresh processes each, "
          f"current tree vs {args.baseline}")
    report(current, baseline, args.baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
