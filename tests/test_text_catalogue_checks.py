"""The bot's text catalogues (bot/core/messages.yaml, the clinic's copy of it named by
AFTERCARE_MESSAGES_PATH, bot/cli, bot/ops, bot/web and scheduler texts, bot/config_texts.yaml)
are checked whole at start-up and by ``aftercare kb check``, beyond their YAML syntax: an edit
that would otherwise crash at a patient's message with a traceback (a text left out of the
clinic's copy, a ``{name}`` the text is never given, a brace that does not pair) or show
nonsense (a section or a number where a text belongs, a list of weekdays turned into one text)
is reported with file, line and reason, and stops ``aftercare run`` and the demo the same way.
The web desk's page templates are parsed the same way (``kb check``, ``aftercare desk``).
Through the command line (tests/cli.py); the packaged files are broken only in copies."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
from bot.core.messages import PACKAGED_MESSAGES
from tests.cli import aftercare
from tests.file_edits import serve_as

REAL = PACKAGED_MESSAGES.read_text(encoding="utf-8")


def line_of(text: str, start: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1)
                if line.strip().startswith(start))


def copy_with(tmp_path: Path, old: str, new: str) -> Path:
    assert old in REAL, old
    copy = tmp_path / "messages.yaml"
    copy.write_text(REAL.replace(old, new, 1), encoding="utf-8")
    return copy


# name -> (what is replaced, by what, the line's start in the copy, the reason's words)
COPY_CASES = {
    "a text left out": ('session_already: "Already logged: treatment on {date}."\n', "",
                        None, "'session_already' is missing"),
    "a name never given": ("treatment on {date}. Today", "treatment on {dat}. Today",
                           "session_logged:", "names {dat}, which this text is never given"),
    "a lone brace": ('"Already logged: treatment on {date}."',
                     '"Already logged: treatment on {date."', "session_already:",
                     "'session_already': expected '}'"),
    "a list made one text": ("weekdays: [Monday, Tuesday, Wednesday, Thursday, Friday, "
                             "Saturday, Sunday]", "weekdays: Monday to Sunday", "weekdays:",
                             "'hours.weekdays' must be a list of 7 texts"),
    "a number for a text": ('session_already: "Already logged: treatment on {date}."',
                            "session_already: 12", "session_already:",
                            "'session_already' must be a text or a list of texts, not int 12"),
}


def expected(copy: Path, name: str) -> tuple[str, str]:
    _, _, start, reason = COPY_CASES[name]
    if start is None:  # a top-level text missing: reported at the file's first entry
        return f"{copy}:", reason
    return f"{copy}:{line_of(copy.read_text(encoding='utf-8'), start)}: ", reason


def located(output: str, where: str, reason: str) -> bool:
    return any(line.startswith(where) and reason in line for line in output.splitlines())


@pytest.mark.parametrize("name", sorted(COPY_CASES))
def test_kb_check_names_a_bad_entry_of_the_clinics_copy(name: str, tmp_path: Path) -> None:
    old, new, _, _ = COPY_CASES[name]
    copy = copy_with(tmp_path, old, new)
    result = aftercare(tmp_path, "kb", "check", AFTERCARE_MESSAGES_PATH=str(copy))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert located(result.stdout, *expected(copy, name)), output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["a text left out", "a name never given"])
def test_run_stops_before_the_database_with_the_copys_line(name: str, tmp_path: Path) -> None:
    old, new, _, _ = COPY_CASES[name]
    copy = copy_with(tmp_path, old, new)
    result = aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abcdef",
                       AFTERCARE_BOT_API_URL="http://127.0.0.1:9/bot",
                       AFTERCARE_MESSAGES_PATH=str(copy))
    assert result.returncode == 1, result.stdout + result.stderr
    assert located(result.stderr, *expected(copy, name)), result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aftercare.db").exists()


def test_the_demo_stops_with_the_copys_line(tmp_path: Path) -> None:
    copy = copy_with(tmp_path, *COPY_CASES["a lone brace"][:2])
    result = aftercare(tmp_path, "demo", stdin="hello\n", AFTERCARE_WARM_UP="false",
                       AFTERCARE_MESSAGES_PATH=str(copy))
    assert result.returncode == 1, result.stdout + result.stderr
    assert located(result.stderr, *expected(copy, "a lone brace")), result.stderr
    assert "Traceback" not in result.stderr


def test_an_unchanged_copy_passes(tmp_path: Path) -> None:
    copy = copy_with(tmp_path, "welcome:", "welcome:")
    result = aftercare(tmp_path, "kb", "check", AFTERCARE_MESSAGES_PATH=str(copy))
    assert result.returncode == 0, result.stdout + result.stderr


WEB_TEXTS = Path(str(bot.__file__)).parent / "web" / "texts.yaml"
TEMPLATE = Path(str(bot.__file__)).parent / "web" / "templates" / "queue.html"


def break_file(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    """From now on `path` reads as `text` (``knowledge.yamlfile.file_text``)."""
    serve_as(monkeypatch, path, text)


def test_a_packaged_catalogue_with_a_section_for_a_text_is_named(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The packaged files too (a section where the code reads a text, a broken brace)."""
    real_text = WEB_TEXTS.read_text(encoding="utf-8")
    lines = real_text.splitlines(keepends=True)
    # a text of the first section becomes a list of mappings
    number = next(i for i, line in enumerate(lines) if line.startswith("  ") and ": " in line)
    key = lines[number].split(":")[0].strip()
    broken = "".join([*lines[:number], f"  {key}: [{{a: b}}]\n", *lines[number + 1:]])
    break_file(monkeypatch, WEB_TEXTS, broken)
    result = aftercare(tmp_path, "kb", "check")
    assert result.returncode == 1
    assert located(result.stdout, f"{WEB_TEXTS}:{number + 1}: ", "must be a text or a list"), \
        result.stdout


@pytest.mark.parametrize("command", [("kb", "check"), ("desk",)])
def test_a_broken_template_is_named_by_kb_check_and_stops_the_desk(
        command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    middle = len(lines) // 2
    break_file(monkeypatch, TEMPLATE, "".join([*lines[:middle], "{% if %}\n", *lines[middle:]]))
    result = aftercare(tmp_path, *command, AFTERCARE_DESK_PORT="9")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert located(output, f"{TEMPLATE}:{middle + 1}: ", "template:"), output
    assert "Traceback" not in output
    assert not (tmp_path / "aftercare.db").exists()
