"""What a configuration problem says (bot/config_texts.yaml): every key bot/config.py looks up
is in the file, with the values its text names, every entry is used, every example is of a
variable the settings read, and a problem line reads as it always has."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.config
from bot.config import TEXTS, ConfigError, Settings, load_settings
from knowledge.catalogue import Catalogue
from tests.text_keys import Lookup, lookups, missing, unused

CONFIG = Path(bot.config.__file__)


def config_lookups() -> list[Lookup]:
    def kind(call: ast.Call) -> str | None:
        return "text" if isinstance(call.func, ast.Name) and call.func.id == "_text" else None

    return list(lookups([CONFIG], kind))


def texts() -> Catalogue:
    return Catalogue.load(TEXTS)


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    found = config_lookups()
    assert len(found) >= 16  # the scan sees the lookups (a rename of `_text` would hide them)
    assert missing(texts(), found, TEXTS.name) == []


def test_every_entry_of_the_file_is_used() -> None:
    examples = texts().raw("examples")
    variables = {field.alias for field in Settings.model_fields.values()}
    assert sorted(set(examples) - variables) == []  # an example of a variable nobody reads
    assert {"AFTERCARE_OPENING_HOURS", "AFTERCARE_CLOSED_DATES"} <= set(examples)  # listed
    for name, example in examples.items():
        assert example.startswith(f"{name}="), name
    assert unused(texts(), [*config_lookups(), Lookup("examples", "examples", None)]) == []


@pytest.mark.parametrize(("settings", "line"), [
    ({"AFTERCARE_TIMEZONE": "Mars/Olympus"},
     "AFTERCARE_TIMEZONE=Mars/Olympus: 'Mars/Olympus' is not a known IANA time zone name "
     "(example: AFTERCARE_TIMEZONE=Europe/London)"),
    ({"AFTERCARE_WEBHOOK_SECRET": "short", "AFTERCARE_WEBHOOK_URL": "https://bot.example.org/t"},
     "AFTERCARE_WEBHOOK_SECRET: must be 16-256 characters: letters, digits, _ and - (a long "
     "random string, e.g. from `openssl rand -hex 24`) (example: "
     "AFTERCARE_WEBHOOK_SECRET=a-long-random-string_123)"),
    ({"AFTERCARE_ONCALL_IDS": "x5,{y}"},
     "AFTERCARE_ONCALL_IDS=x5,{y}: x5, {y} is not a Telegram user id (whole numbers, "
     "comma-separated) (example: AFTERCARE_ONCALL_IDS=11111111)"),
    ({"AFTERCARE_CHECKIN_BATCH": "lots"},  # pydantic's own words, then the example
     "AFTERCARE_CHECKIN_BATCH=lots: Input should be a valid integer, unable to parse string as "
     "an integer (example: AFTERCARE_CHECKIN_BATCH=30)"),
    ({"AFTERCARE_CLOSED_DATES": "25/12/2026"},
     'AFTERCARE_CLOSED_DATES: "25/12/2026" is not a date (use YYYY-MM-DD, e.g. 2026-12-25) '
     "(example: AFTERCARE_CLOSED_DATES=2026-12-25,2026-12-26)"),
    ({"AFTERCARE_WEBHOOK_URL": "https://bot.example.org/t"},
     "AFTERCARE_WEBHOOK_SECRET is required when AFTERCARE_WEBHOOK_URL is set (example: "
     "AFTERCARE_WEBHOOK_SECRET=a-long-random-string_123)"),
])
def test_a_problem_line_reads_as_the_it_person_has_always_read_it(settings: dict[str, str],
                                                                   line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **settings)
    assert caught.value.problems == [line]
