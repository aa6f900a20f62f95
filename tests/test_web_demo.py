"""``aftercare desk --demo`` as a newcomer runs it: one command, a page of fictitious patients
(open urgent reports, people in recovery, unanswered questions) and a demo sign-in that goes
through the real Login Widget check."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.processes import REPO_ROOT, free_port


def test_desk_demo_serves_fictitious_patients() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["AFTERCARE_WARM_UP"] = "false"  # the advisor's warm-up (1.4 s of CPU) is not the subject
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli.main", "desk", "--demo", "--port",
                             str(port)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        # the second line is printed once the server listens (bot/web/serve.py)
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert f"clinic desk demo on http://127.0.0.1:{port}/" in lines[1], lines
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True,
                          timeout=30) as http:
            login = http.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert token, login.text
            queue = http.post("/auth/demo", data={"csrf": token.group(1)})
            assert queue.url.path == "/queue" and "DEMO" in queue.text
            assert "URGENT" in queue.text and "Noah Fletcher" in queue.text
            patients = http.get("/patients").text
            assert patients.count('href="/patients/') >= 20
            assert "answer-fine" in patients and "answer-problem" in patients
            gaps = http.get("/gaps").text
            assert "×" in gaps
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_everything_the_demo_plans_has_happened_by_the_end_at_any_hour() -> None:
    """The demo fortnight ends 'now': each patient's session is placed early enough that all
    they write and every staff action on them lie before the end, whatever the hour (run just
    after midnight, the open urgent report of a patient two days in was still in the future
    and the queue showed none)."""
    import datetime as dt

    from bot.web.demo import LATEST_HOURS, PATIENTS

    for patient in PATIENTS:
        hours = [h for h, _ in patient.writes] + [h for h, _, _ in patient.staff]
        assert max(hours, default=0) < patient.days_ago * 24 + LATEST_HOURS, patient.name
    assert dt.timedelta(hours=LATEST_HOURS) > dt.timedelta(0)
