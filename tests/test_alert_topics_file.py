"""bot/core/alert_topics.yaml, the knowledge-base topics that overlap each red flag's sign, is a
data file like the others: a bad entry (an unknown sign, a routine sign, an emergency or urgent
sign left out, an unknown topic, a value of the wrong type, a YAML syntax error) is reported by
``aftercare kb check`` with file, line and reason (exit 1), and stops ``aftercare run`` (before
the Bot API and the database) and the demo the same way, never with a traceback.

Each test hands the loaders a broken copy through ``knowledge.yamlfile.file_text`` (where every
data file is read); the real file is never touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.core.alert_topics import PACKAGED_ALERT_TOPICS, load_alert_topics
from knowledge.loader import PACKAGED_KB
from tests.cli import aftercare
from tests.file_edits import serve_as

PATH = PACKAGED_ALERT_TOPICS
REAL = PATH.read_text(encoding="utf-8")


def line_of(text: str, start: str) -> int:
    """The 1-based number of the line of `text` that starts (after its indent) with `start`."""
    return next(number for number, line in enumerate(text.splitlines(), start=1)
                if line.strip().startswith(start))


def edited(old: str, new: str) -> str:
    assert old in REAL, old
    return REAL.replace(old, new, 1)


# name -> (the broken file's text, the line and the words its problem must name)
CASES = {
    "unknown sign": (edited("  fever: []", "  fevver: []"), "fevver:", "unknown sign 'fevver'"),
    "routine sign": (edited("  fever: []", "  fever: []\n  swollen_glands: [swelling]"),
                     "swollen_glands:", "only emergency and urgent signs"),
    "unknown topic": (edited("  eye_swollen_shut: [swelling]",
                             "  eye_swollen_shut:\n    - swelling\n    - swellling"),
                      "- swellling", "unknown topic 'swellling'"),
    "topic not a word": (edited("  fever: []", "  fever: [3]"), "fever:",
                         "a topic id must be a word, not a number"),
    "not a list": (edited("  fever: []", "  fever: swelling"), "fever:",
                   "must have a list of topic ids ([] for none), not a word"),
    "sign left out": (edited("  fever: []\n", ""), "signs:", "urgent sign 'fever' is not listed"),
    "no signs": (REAL.replace("signs:", "sign:", 1), "sign:", "the file must map 'signs'"),
    "YAML syntax": (edited("  fever: []", "  fever: [unclosed"), "fever:", "invalid YAML"),
}


def break_with(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    serve_as(monkeypatch, PATH, text)


def expected(name: str) -> tuple[str, str]:
    """`PATH:line:` of the case's problem, and the words of its reason."""
    text, start, reason = CASES[name]
    line = line_of(text, start)
    if name == "YAML syntax":  # PyYAML names the line where it gave up: this one or the next
        return f"{PATH}:", reason
    return f"{PATH}:{line}: ", reason


def test_the_packaged_file_has_no_problems() -> None:
    result = aftercare(None, "kb", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(PATH) not in result.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_kb_check_names_file_line_and_reason(name: str, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    break_with(monkeypatch, CASES[name][0])
    result = aftercare(tmp_path, "kb", "check")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    where, reason = expected(name)
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(where)]
    assert reason in line, output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["unknown sign", "unknown topic", "not a list", "YAML syntax"])
def test_run_stops_before_the_database_with_file_line_and_reason(
        name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    break_with(monkeypatch, CASES[name][0])
    result = aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abcdef",
                       AFTERCARE_BOT_API_URL="http://127.0.0.1:9/bot")
    assert result.returncode == 1, result.stdout + result.stderr
    where, reason = expected(name)
    assert any(line.startswith(where) and reason in line
               for line in result.stderr.splitlines()), result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aftercare.db").exists()


def test_the_demo_stops_at_start_with_file_line_and_reason(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    break_with(monkeypatch, CASES["unknown topic"][0])
    result = aftercare(tmp_path, "demo", stdin="hello\n", AFTERCARE_WARM_UP="false")
    assert result.returncode == 1, result.stdout + result.stderr
    where, reason = expected("unknown topic")
    assert where in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr


def test_another_knowledge_base_leaves_the_topics_unchecked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The topics name the packaged knowledge base's entries: with the clinic's own, only
    the signs and the shape are checked (as for knowledge/language_topics.yaml)."""
    break_with(monkeypatch, CASES["unknown topic"][0])
    own = tmp_path / "kb"
    shutil.copytree(PACKAGED_KB, own)
    result = aftercare(tmp_path, "kb", "check", str(own))
    assert result.returncode == 0, result.stdout + result.stderr
    assert load_alert_topics(None, topics=None).signs["eye_swollen_shut"] == frozenset(
        {"swelling", "swellling"})
    with pytest.raises(ValueError, match="swellling"):
        load_alert_topics(None, topics={"swelling"})
