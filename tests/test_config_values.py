"""Settings that look valid but are not are refused with one clear line each (issue 15 item 7),
and the small input checks of the command line and the storage layer (issue 14 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.config import ConfigError, load_settings
from storage.engine import make_engine
from tests.cli import aftercare

TOKEN = "123:abcdef"


@pytest.mark.parametrize(("name", "value"), [
    ("AFTERCARE_EMERGENCY_NUMBER", ""), ("AFTERCARE_EMERGENCY_NUMBER", "   "),
    ("AFTERCARE_EMERGENCY_NUMBER", "<emergency number>"), ("AFTERCARE_CLINIC_NAME", ""),
    ("AFTERCARE_CLINIC_NAME", "changeme"), ("AFTERCARE_CLINIC_NAME", "Your clinic name"),
])
def test_empty_or_placeholder_values_patients_would_read_are_refused(name: str,
                                                                     value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN, **{name: value})
    (line,) = caught.value.problems
    assert line.startswith(name) and "patients read it" in line and "example:" in line


def test_real_values_are_kept_trimmed() -> None:
    settings = load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN,
                             AFTERCARE_CLINIC_NAME="  Rosewood Skin ",
                             AFTERCARE_EMERGENCY_NUMBER="112")
    assert settings.clinic_name == "Rosewood Skin" and settings.emergency_number == "112"


@pytest.mark.parametrize("secret", ["a", "short_secret_15"])
def test_a_short_webhook_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_WEBHOOK_SECRET=secret,
                      AFTERCARE_WEBHOOK_URL="https://bot.example.org/telegram")
    (line,) = caught.value.problems
    assert line.startswith("AFTERCARE_WEBHOOK_SECRET") and "16-256" in line
    if len(secret) > 3:  # a secret is never echoed back
        assert secret not in line


def test_ask_with_a_day_that_is_not_a_number_says_so_plainly(tmp_path: Path) -> None:
    result = aftercare(tmp_path, "ask", "--day", "abc", "hi")  # the entry point, in-process
    assert result.returncode == 2
    assert "'abc' is not a number of days" in result.stderr and "_day" not in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_failed_statement_never_shows_its_parameters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text("INSERT INTO no_such_table VALUES (:words)"),
                                   {"words": "my lips are swelling"})
        assert "my lips are swelling" not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)
    finally:
        await engine.dispose()
