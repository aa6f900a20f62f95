"""The terminal demo, driven through a pipe like a user typing (``aftercare demo``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.cli.demo import run_demo
from bot.config import load_settings
from tests.advisors import shipped

REPO_ROOT = Path(__file__).resolve().parents[1]


async def demo_transcript(lines: list[str]) -> str:
    """The demo in this process, with the shipped advisor for its clinic loaded once per test
    process (tests/advisors.py) instead of by each run; the process test below loads its
    own."""
    out = io.StringIO()
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London",
                             AFTERCARE_WARM_UP="false")  # (tests/test_warm_up.py's subject)
    advisor = shipped(settings.clinic()) if settings.kb_path is None else None
    assert await run_demo(settings, io.StringIO("\n".join(lines) + "\n"), out,
                          advisor=advisor) == 0
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
    env["AFTERCARE_WARM_UP"] = "false"  # the advisor's warm-up (1.4 s of CPU) is not the subject
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
    assert "Day 3. Most redness has usually faded by now" in transcript
    assert transcript.index("How does your skin feel") < transcript.index("Clock moved to")


TOUR = ["1", "1", "/session", "1", "/advance 1d 3h", "3",
        "some little bumps and it itches a lot", "/mydata", "/staff", "1", "/staff", "2",
        "/staff Please send us a photo of the bumps", "/staff", "3",
        "/staff Seen, normal healing", "/advance 2d", "5", "/quit"]


async def test_the_readme_tour_works_end_to_end_with_the_staff_side() -> None:
    """In this process, as the other tours: ``aftercare start`` above runs the entry point
    (the same `run_demo`) as a real process."""
    out = await demo_transcript(TOUR)
    assert "How does your skin feel today?" in out
    assert "[staff chat] CHECK-IN" in out
    assert "I've added your description to report #1" in out
    assert "paused until the clinic has looked at report #1" in out
    assert "[1] Take #1   [2] Reply #1   [3] Resolve #1" in out
    assert "You took report #1." in out and "is now looking at your report" in out
    assert "bot> Message from" in out and "Please send us a photo of the bumps" in out
    assert "Report #1 resolved by Nurse: Seen, normal healing" in out
    after = out[out.index("resolved by Nurse"):]
    assert "Day 2. Is the redness better" in after and "Day 3. Most redness" in after
    assert "This button is no longer active" not in out
    day3 = after[after.index("you> 5"):]
    assert "needs to be looked at today" in day3 and "[staff chat] URGENT" in day3


async def test_numbers_press_only_the_newest_message() -> None:
    transcript = await demo_transcript([
        "1", "1", "/session", "1",  # I agree; keep the zone; Today
        "can I wear makeup?",  # an answer without buttons
        "2",  # the session picker's "Yesterday" is old: nothing happens
        "/report", "2",  # /report has only Cancel: "2" is no button, no report is filed
        "/quit",
    ])
    assert transcript.count("There is no button 2 on the newest message") == 2
    assert "The clinic has been told" not in transcript
    assert transcript.count("Got it: treatment on") == 1


async def test_several_check_ins_in_one_jump_each_answerable_and_long_jumps() -> None:
    transcript = await demo_transcript([
        "1", "1", "/session", "1",
        "/advance 4d",  # day 1 (1-3), day 2 (4-6), day 3 (7-8)
        "5",  # day 2: "About the same"
        "1",  # day 1 is shown again, renumbered: "Fine"
        "/advance 100000d", "/advance 99999999999999d", "/advance 300d",
        "/quit",
    ])
    assert "[4] Better   [5] About the same   [6] Worse / blisters" in transcript
    assert "Some redness is still normal now" in transcript  # day 2, quoted from the KB
    assert "Glad to hear it" in transcript  # day 1 answered after day 2
    assert transcript.count("at most 400d") == 2
    assert "Check-ins: " not in transcript  # (no /mydata here)
    assert transcript.rstrip().endswith("you> /quit")
    assert "Sessions in a course are usually 4 to 6 weeks apart" in transcript  # day 28


def test_the_demo_clock_starts_in_the_evening_so_the_tour_reaches_the_day_1_check_in() -> None:
    """Started in the morning, "/advance 1d 3h" stopped short of the day 1 evening check-in and
    the README tour broke (it passed only when started after 16:00)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.cli.demo import demo_start

    london = ZoneInfo("Europe/London")
    morning = dt.datetime(2026, 11, 30, 0, 5, tzinfo=dt.UTC)
    assert demo_start(morning, london) == dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)
    night = dt.datetime(2026, 11, 30, 21, 47, tzinfo=dt.UTC)
    assert demo_start(night, london) == night
    summer = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 BST
    assert demo_start(summer, london) == dt.datetime(2026, 7, 1, 15, 30, tzinfo=dt.UTC)
