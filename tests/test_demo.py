"""The terminal demo, driven through a pipe like a user typing (``aftercare demo``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.cli.demo import run_demo
from bot.config import load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


async def demo_transcript(lines: list[str]) -> str:
    out = io.StringIO()
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London")
    assert await run_demo(settings, io.StringIO("\n".join(lines) + "\n"), out) == 0
    return out.getvalue()


async def test_demo_logs_a_session_answers_and_advances_the_clock() -> None:
    transcript = await demo_transcript([
        "1",  # I agree
        "/session", "1",  # Today
        "can I wear makeup?",
        "/advance 1d",
        "can I wear makeup?",
        "/advance 2d",
        "my lips are swelling",
        "/quit", "never read",
    ])
    assert "[1] I agree   [2] No thanks" in transcript
    assert "Today is day 0" in transcript
    assert "It is day 1 since your latest treatment" in transcript
    assert "It's day 1 since your treatment" in transcript
    assert "It is day 3 since your latest treatment" in transcript
    assert "[staff chat] EMERGENCY" in transcript and "(day 3)" in transcript
    assert "never read" not in transcript


async def test_demo_handles_bad_numbers_and_advances() -> None:
    transcript = await demo_transcript(["9", "/advance soon", "/advance 3h"])
    assert "There is no button 9" in transcript
    assert "Use /advance with an amount" in transcript
    assert "No treatment is logged yet" in transcript


def test_aftercare_start_without_a_token_runs_the_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run([sys.executable, "-m", "bot.cli.main", "start"], input="hello\n/quit\n",
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "terminal demo" in result.stderr
    assert "you> hello" in result.stdout and "bot> Hello!" in result.stdout
    assert list(tmp_path.iterdir()) == []  # the demo database lives in a temporary folder


async def test_check_ins_arrive_at_their_own_time_while_the_clock_advances() -> None:
    transcript = await demo_transcript([
        "1", "1",  # I agree; keep the clinic's time zone
        "/session", "1",  # Today
        "/advance 4d",  # one jump across day 1 evening, day 2 and day 3
        "/quit",
    ])
    assert "How does your skin feel today?" in transcript  # day 1 evening
    assert "Is the redness better, the same or worse than yesterday?" in transcript  # day 2
    assert "Day 3. Most redness has usually faded by now." in transcript
    assert transcript.index("How does your skin feel") < transcript.index("Clock moved to")
