"""Rule 7 over every data file the product ships: a malformed one is reported by
``aftercare kb check`` as located lines (file, line, reason) and exit 1, and stops
``aftercare run``, ``aftercare ask`` and the terminal demo the same way, never with a traceback.

The files are found in the packages themselves, so a new data file is covered as soon as it
exists. Each test breaks a copy: ``knowledge.yamlfile.file_text``, where every data file is
read, hands the loaders the broken text for that one file; the real file is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import bot
import knowledge
import scheduler
from tests.cli import aftercare
from tests.file_edits import serve_as

BROKEN_LINE = "\t: [unclosed\n"  # a tab cannot start a YAML token: invalid wherever it goes


def packaged_data_files() -> list[Path]:
    """Every YAML file inside the product's packages (what the wheel ships)."""
    roots = (Path(str(package.__file__)).parent for package in (knowledge, scheduler, bot))
    return sorted(path for root in roots for path in root.rglob("*.yaml"))


def _name(path: Path) -> str:
    return path.relative_to(Path(str(knowledge.__file__)).parents[1]).as_posix()


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], int]]:
    """`break_file(path)`: from now on `path` reads with `BROKEN_LINE` after its middle line;
    returns the (1-based) number of the broken line."""

    def break_file(path: Path) -> int:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        middle = (len(lines) + 1) // 2
        serve_as(monkeypatch, path, "".join([*lines[:middle], BROKEN_LINE, *lines[middle:]]))
        return middle + 1

    yield break_file


def test_every_packaged_data_file_is_found() -> None:
    names = {_name(path) for path in packaged_data_files()}
    assert {"knowledge/triage.yaml", "knowledge/slang.yaml", "knowledge/messages.yaml",
            "bot/core/messages.yaml", "scheduler/careplan.yaml",
            "knowledge/kb/makeup.yaml", "knowledge/languages/es.yaml"} <= names


@pytest.mark.parametrize("path", packaged_data_files(), ids=_name)
def test_kb_check_names_the_broken_line_of_every_data_file(
        path: Path, broken: Callable[[Path], int], tmp_path: Path) -> None:
    line = broken(path)
    result = aftercare(tmp_path, "kb", "check")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"{path}:{line}: invalid YAML" in result.stdout, output
    assert "Traceback" not in output


def test_ask_with_a_broken_messages_file_answers_with_located_lines(
        broken: Callable[[Path], int], tmp_path: Path) -> None:
    path = Path(str(knowledge.__file__)).parent / "messages.yaml"
    line = broken(path)
    result = aftercare(tmp_path, "ask", "--json", stdin='{"text": "can i wear makeup"}\n')
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{path}:{line}: invalid YAML" in result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", [
    Path(str(scheduler.__file__)).parent / "texts.yaml",  # read only when a setting is wrong
    Path(str(bot.__file__)).parent / "cli" / "texts.yaml",  # what the error itself is said with
], ids=_name)
def test_the_demo_stops_at_start_with_the_broken_line(
        path: Path, broken: Callable[[Path], int], tmp_path: Path) -> None:
    line = broken(path)
    result = aftercare(tmp_path, "demo", stdin="hello\n", AFTERCARE_WARM_UP="false")
    assert result.returncode == 1
    assert f"{path}:{line}: invalid YAML" in result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_stops_before_the_database_with_a_broken_text_file(
        broken: Callable[[Path], int], tmp_path: Path) -> None:
    """A text file read only when start-up has something to say (bot/ops/texts.yaml) stops
    ``aftercare run`` at once, before the Bot API and the database, naming its line."""
    path = Path(str(bot.__file__)).parent / "ops" / "texts.yaml"
    line = broken(path)
    result = aftercare(tmp_path, "run", TELEGRAM_BOT_TOKEN="123:abcdef",
                       AFTERCARE_BOT_API_URL="http://127.0.0.1:9/bot")
    assert result.returncode == 1
    assert f"{path}:{line}: invalid YAML" in result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aftercare.db").exists()


def test_a_clinics_broken_messages_file_is_checked_and_stops_the_demo(tmp_path: Path) -> None:
    """AFTERCARE_MESSAGES_PATH (the clinic's copy of the bot's texts) is checked like the
    packaged one: by ``kb check`` and at start."""
    messages = tmp_path / "messages.yaml"
    messages.write_text("greeting: hello\nbuttons:\n\t: [unclosed\n", encoding="utf-8")
    checked = aftercare(tmp_path, "kb", "check", AFTERCARE_MESSAGES_PATH=str(messages))
    assert checked.returncode == 1
    assert f"{messages}:3: invalid YAML" in checked.stdout
    demo = aftercare(tmp_path, "demo", stdin="hello\n", AFTERCARE_MESSAGES_PATH=str(messages),
                     AFTERCARE_WARM_UP="false")
    assert demo.returncode == 1
    assert f"{messages}:3: invalid YAML" in demo.stderr
    assert "Traceback" not in checked.stderr + demo.stderr


LANGUAGES = Path(str(knowledge.__file__)).parent / "languages"
# what each start-up is given: none of these messages is in the broken files' languages
STARTS = {
    "ask": (("ask", "--json"), {"stdin": '{"text": "can i wear makeup"}\n'}),
    "demo": (("demo",), {"stdin": "hello\n"}),
    "run": (("run",), {"TELEGRAM_BOT_TOKEN": "123:abcdef",
                       "AFTERCARE_BOT_API_URL": "http://127.0.0.1:9/bot"}),
}


@pytest.mark.parametrize("start", sorted(STARTS))
def test_a_broken_language_file_stops_every_start_with_its_line(
        start: str, broken: Callable[[Path], int], tmp_path: Path) -> None:
    """Language files are read whole at start-up, like every other data file, not on a
    patient's first message in the language: ``aftercare ask``, the demo and ``aftercare run``
    (before the Bot API and the database) stop with every broken file's line, although the
    message is in English."""
    lines = {path: broken(path) for path in (LANGUAGES / "uk.yaml", LANGUAGES / "tr.yaml")}
    args, given = STARTS[start]
    result = aftercare(tmp_path, *args, **given)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    for path, line in lines.items():
        assert f"{path}:{line}: invalid YAML" in result.stderr
    assert "then run `aftercare kb check`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "aftercare.db").exists()
