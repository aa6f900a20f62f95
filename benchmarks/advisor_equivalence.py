"""Same answers, and how fast: ``Advisor.ask`` of this tree against another commit's.

Every message of tests/data/triage_blind_*.yaml, answers_blind_*.yaml, triage_classes.yaml and
answer_classes.yaml goes through ``Advisor.ask`` (the default second detector) in this tree and
in a copy of ``--base`` (a commit, default ``main``, extracted with ``git archive`` into a
temporary folder), each in its own child process; the whole ``Advice`` (its ``repr``: kind,
tier, the triage decision with its reason and close-to text, follow-up, answer id and text,
confidence) is compared message by message, once warm and once cold (the text caches emptied
before each message, ``knowledge.text.forget_texts``). Exit status 1 on any difference.

``--time N``: then N rounds of timing, the two trees alternated (base, this, base, this, ...)
since the machine is shared: each child answers every message of the blind triage batches
(or ``--batches``) once to warm up, then each message cold, in process CPU time; printed per
round and pooled: p50, p95, mean and the ratios this/base.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/advisor_equivalence.py [--base REF] [--time N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def _messages(files: list[Path]) -> list[tuple[str, int | None]]:
    """(text, day) of every message of the files: batch lists or class tables."""
    found: list[tuple[str, int | None]] = []
    for path in files:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases = item.get("cases") if "cases" in item else [item]
            found += [(case["text"], case.get("day")) for case in cases]
    return found


def _equivalence_files() -> list[Path]:
    return [*sorted(DATA.glob("triage_blind_*.yaml")), *sorted(DATA.glob("answers_blind_*.yaml")),
            DATA / "triage_classes.yaml", DATA / "answer_classes.yaml"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ----------------------------------------------------------------------------- children


def child_answers(files: list[Path]) -> None:
    """Print one line per message: the ``repr`` of its advice, warm then cold."""
    from knowledge.advisor import Advisor
    from knowledge.text import forget_texts

    advisor = Advisor.load()
    out = sys.stdout
    for text, day in _messages(files):
        warm = repr(advisor.ask(text, day))
        forget_texts()
        cold = repr(advisor.ask(text, day))
        out.write(json.dumps([warm, cold]) + "\n")


def child_times(files: list[Path]) -> None:
    """Print the cold CPU milliseconds of every message, after one warm pass."""
    from knowledge.advisor import Advisor
    from knowledge.text import forget_texts

    advisor = Advisor.load()
    messages = _messages(files)
    for text, day in messages:  # every pattern a message needs compiled, as in a running bot
        advisor.ask(text, day)
    times = []
    for text, day in messages:
        forget_texts()
        cpu = time.process_time()
        advisor.ask(text, day)
        times.append((time.process_time() - cpu) * 1000)
    print(json.dumps(times))


# ----------------------------------------------------------------------------- parent


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)  # our own repository's archive
    return into


def _start(tree: Path, mode: str, files: list[Path]) -> subprocess.Popen[str]:
    """A child answering in ``tree``; string hashing fixed (the matcher sums a set's scores:
    its last digit follows the set's order, which follows the hash seed)."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode, *map(str, files)],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _output(child: subprocess.Popen[str], tree: Path) -> str:
    out, err = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"{tree}: failed\n{err}")
    return out


def _run(tree: Path, mode: str, files: list[Path]) -> str:
    return _output(_start(tree, mode, files), tree)


def compare(base: Path, files: list[Path]) -> int:
    messages = _messages(files)
    children = _start(base, "answers", files), _start(ROOT, "answers", files)  # side by side
    old, new = (_output(child, tree).splitlines()
                for child, tree in zip(children, (base, ROOT), strict=True))
    assert len(old) == len(new) == len(messages), (len(old), len(new), len(messages))
    differences = 0
    for (text, day), before, after in zip(messages, old, new, strict=True):
        if before != after:
            differences += 1
            if differences <= 10:
                print(f"DIFFERENT (day {day}) {text!r}\n  base: {before}\n  this: {after}")
    print(f"{len(messages)} messages from {len(files)} files, warm and cold: "
          f"{differences} different")
    return differences


def _summary(times: list[float]) -> tuple[float, float, float]:
    return _percentile(times, 0.5), _percentile(times, 0.95), statistics.fmean(times)


def timing(base: Path, rounds: int, batches: list[Path]) -> None:
    pooled: dict[str, list[float]] = {"base": [], "this": []}
    for index in range(rounds):
        for name, tree in (("base", base), ("this", ROOT)):
            times = json.loads(_run(tree, "times", batches).strip().splitlines()[-1])
            pooled[name] += times
            p50, p95, mean = _summary(times)
            print(f"round {index + 1} {name}: p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
                  f"mean {mean:.2f} ms ({len(times)} messages, cold, CPU)", flush=True)
    old, new = _summary(pooled["base"]), _summary(pooled["this"])
    print(f"pooled base: p50 {old[0]:.2f}, p95 {old[1]:.2f}, mean {old[2]:.2f} ms")
    print(f"pooled this: p50 {new[0]:.2f}, p95 {new[1]:.2f}, mean {new[2]:.2f} ms")
    print("ratios this/base: " + ", ".join(
        f"{label} {n / o:.2f}" for label, o, n in zip(("p50", "p95", "mean"), old, new,
                                                          strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the commit to compare with")
    parser.add_argument("--time", type=int, default=0, help="rounds of alternated timing")
    parser.add_argument("--batches", nargs="*", type=Path, help="timed batches")
    parser.add_argument("--no-compare", action="store_true", help="timing only")
    parser.add_argument("--only", nargs="*", type=Path,
                        help="compared files (default: every blind batch and class table)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(Path.cwd()))
        (child_answers if args.child == "answers" else child_times)(args.files)
        return
    with tempfile.TemporaryDirectory(prefix="advisor-base-") as folder:
        base = _extract(args.base, Path(folder))
        differences = 0 if args.no_compare else compare(
            base, args.only or _equivalence_files())
        if args.time:
            timing(base, args.time, args.batches or sorted(DATA.glob("triage_blind_*.yaml")))
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
