"""One configuration reader: every CLI command takes its settings from `bot.config.Settings`
(environment and the ``.env`` of the current folder); knowledge/ and scheduler/ take values
and never read the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from knowledge.loader import PACKAGED_KB, check_kb
from scheduler.careplan import DEFAULT_PATH, careplan_problems
from tests.cli import aftercare  # with no AFTERCARE_* variables from this process


def test_ask_answers_as_the_clinic_named_in_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AFTERCARE_CLINIC_NAME=Rosewood Skin\n", encoding="utf-8")
    question = "there is yellow pus and it is getting hotter"  # urgent: "contact <clinic>"
    result = aftercare(tmp_path, "ask", question)
    assert result.returncode == 0, result.stderr
    assert "Rosewood Skin" in result.stdout
    (tmp_path / ".env").unlink()
    default = aftercare(tmp_path, "ask", question)
    assert default.returncode == 0 and "Rosewood Skin" not in default.stdout


def test_kb_check_checks_the_folder_named_in_dotenv(tmp_path: Path) -> None:
    empty = tmp_path / "clinic-kb"
    empty.mkdir()
    (tmp_path / ".env").write_text(f"AFTERCARE_KB_PATH={empty}\n", encoding="utf-8")
    result = aftercare(tmp_path, "kb", "check")
    assert result.returncode == 1
    assert f"{empty}" in result.stdout + result.stderr
    assert "no .yaml knowledge-base files found" in result.stdout
    assert "OK" not in result.stdout


def test_a_malformed_checkin_tuning_value_is_a_configuration_problem(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AFTERCARE_CHECKIN_BATCH=lots\n", encoding="utf-8")
    result = aftercare(tmp_path, "checkins")
    assert result.returncode == 2
    assert "AFTERCARE_CHECKIN_BATCH=lots" in result.stderr
    assert "Traceback" not in result.stderr


def test_checkin_tuning_reaches_the_dispatcher_config() -> None:
    settings = load_settings(None, AFTERCARE_CHECKIN_RATE="4", AFTERCARE_CHECKIN_BATCH="5",
                             AFTERCARE_CHECKIN_LEASE_SECONDS="3")
    config = settings.dispatcher_config()
    assert (config.rate_per_second, config.batch_size, config.lease.total_seconds()) == (4, 5, 3)
    with pytest.raises(ConfigError) as caught:
        load_settings(None, AFTERCARE_CHECKIN_MAX_ATTEMPTS="0")
    assert any("AFTERCARE_CHECKIN_MAX_ATTEMPTS" in p for p in caught.value.problems)


def test_alert_tuning_reaches_the_alert_sender_config() -> None:
    settings = load_settings(None, AFTERCARE_ALERT_POLL_SECONDS="0.5",
                             AFTERCARE_ALERT_BACKOFF_SECONDS="3",
                             AFTERCARE_ALERT_READ_TIMEOUT_SECONDS="7")
    config = settings.alert_config()
    assert (config.poll_interval, config.backoff_base.total_seconds(),
            config.backoff_cap.total_seconds(), config.read_timeout) == (0.5, 3, 120, 7)
    assert load_settings(None).alert_config().read_timeout is None
    with pytest.raises(ConfigError) as caught:
        load_settings(None, AFTERCARE_ALERT_LEASE_SECONDS="soon")
    assert any("AFTERCARE_ALERT_LEASE_SECONDS=soon" in p for p in caught.value.problems)


def test_knowledge_and_scheduler_ignore_the_environment(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERCARE_KB_PATH", str(tmp_path))  # empty: would fail if read
    monkeypatch.setenv("AFTERCARE_CAREPLAN_PATH", str(tmp_path / "missing.yaml"))
    kb, problems = check_kb()
    assert not problems and kb.entries == check_kb(PACKAGED_KB)[0].entries
    assert careplan_problems() == careplan_problems(DEFAULT_PATH) == []
