"""The web desk in a real browser (headless Chromium via Selenium), next to the running bot
on the fake Bot API: sign in with signed and forged Login Widget data, take / reply / resolve
a report and see the patient receive the reply, a report taken in Telegram shows as taken on
the open page, a non-staff user is refused, the recovery chart shows planted check-ins.
Screenshots are saved under the test's tmp dir.

The tests share one Chromium (started once, on one pytest-xdist worker: group "browser"); each
starts on a blank page with no cookies or stored data (`Browser.fresh`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from bot.web import app as web_app
from bot.web.app import create_app
from bot.web.auth import sign_login
from bot.web.services import DeskServices, build_desk_services
from knowledge.advisor import Advisor
from storage import Database
from tests.bot_harness import STAFF_CHAT, STAFF_USER, TOKEN, BotHarness, button_data, eventually
from tests.browser import Browser, find_chromium
from tests.processes import REPO_ROOT, free_port
from tests.web_harness import OTHER_USER, desk_settings

PATIENT = 3301
pytestmark = pytest.mark.xdist_group("browser")  # one worker, one started Chromium


@pytest.fixture
async def desk_web(bot: BotHarness, tmp_path: Path,
                   advisor: Advisor) -> AsyncIterator[tuple[str, DeskServices]]:
    """The desk served by uvicorn over the bot's database, on the bot's clock."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = await Database.connect(url, migrate=False)  # the running bot migrated it
    settings = desk_settings(url, AFTERCARE_BOT_API_URL=bot.fake.base_url)
    services = build_desk_services(settings, db, clock=bot.clock, advisor=advisor)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(services), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), timeout=20)
    try:
        yield f"http://127.0.0.1:{port}", services
    finally:
        server.should_exit = True
        await task
        await db.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium for the module's tests (each starts it over: `browser`)."""
    find_chromium()
    chrome = Browser("about:blank", tmp_path_factory.mktemp("screenshots"))
    try:
        yield chrome
    finally:
        chrome.close()


@pytest.fixture
async def browser(chromium: Browser, desk_web: tuple[str, DeskServices],
                  tmp_path: Path) -> AsyncIterator[Browser]:
    """The shared Chromium on a blank page, without cookies or stored data, at the desk."""
    await asyncio.to_thread(chromium.fresh, desk_web[0], tmp_path / "screenshots")
    yield chromium


def login_path(user_id: int, when: dt.datetime, token: str = TOKEN) -> str:
    return "/auth/telegram?" + urlencode(sign_login(token, user_id, "Sam", when))


async def red_flag(bot: BotHarness, desk: DeskServices, words: str) -> int:
    """The patient reports something worrying; the id of the report it raised."""
    await bot.onboard(PATIENT, first_name="Zoe")
    await bot.say(PATIENT, words, first_name="Zoe")

    async def raised() -> bool:
        return bool(await desk.desk.store.queue())

    await eventually(raised, timeout=10)
    return (await desk.desk.store.queue())[0].id


async def test_sign_in_take_reply_resolve_reaches_the_patient(
        bot: BotHarness, desk_web: tuple[str, DeskServices], browser: Browser) -> None:
    _, desk = desk_web
    report_id = await red_flag(bot, desk, "my cheek is swollen, hot and oozing yellow pus")
    row = f"#report-{report_id}"

    await browser.get(login_path(STAFF_USER, bot.clock(), token="999:someone-elses-token"))
    assert "not signed by Telegram" in await browser.text("#refusal")
    await browser.get("/queue")
    assert "Sign in" in await browser.text("h1")

    before = len(bot.fake.sent_messages(PATIENT))
    bot.fake.user_photo(PATIENT, first_name="Zoe", content=b"\xff\xd8\xff the cheek")
    await bot.fake.wait_for_messages(PATIENT, before + 1)

    await browser.get(login_path(STAFF_USER, bot.clock()))
    assert "oozing yellow pus" in await browser.text(row)
    await browser.screenshot("queue")
    (photo_link,) = await browser.attributes(f"{row} .photos a", "href")
    cookies = {c["name"]: c["value"] for c in await browser.run(browser.driver.get_cookies)}
    async with httpx.AsyncClient(cookies=cookies) as http:
        shown = await http.get(photo_link)
    assert shown.status_code == 200 and shown.content == b"\xff\xd8\xff the cheek"
    assert shown.headers["content-type"] == "image/jpeg"

    patient_before = len(bot.fake.sent_messages(PATIENT))
    await browser.click(f"{row} button.take")
    await browser.wait_text(row, "taken by Sam")
    taken = await bot.fake.wait_for_messages(PATIENT, patient_before + 1)
    assert "team is now looking at your report" in taken[-1]["text"]

    await browser.type(f"#reply-{report_id}", "Please send us a photo <now>.")
    await browser.click(f"{row} button.reply")
    await browser.wait_text("main", "goes out through the bot")
    replied = await bot.fake.wait_for_messages(PATIENT, patient_before + 2)
    assert replied[-1]["text"] == ("<b>Message from Glow Clinic:</b>\n"  # as from Telegram
                                   "Please send us a photo &lt;now&gt;.")
    assert replied[-1]["parse_mode"] == "HTML"

    await browser.type(f"#note-{report_id}", "called, antibiotics prescribed")
    await browser.click(f"{row} button.resolve")
    await browser.wait_text("#queue", "No open reports")
    done = await bot.fake.wait_for_messages(PATIENT, patient_before + 3)
    assert "marked your report as dealt with" in done[-1]["text"]
    shot = await browser.screenshot("queue-after")
    assert shot.read_bytes().startswith(b"\x89PNG")  # kept with the test's files

    async def audited() -> bool:  # each message the desk wrote is audited when it arrives
        trail = [a.action for a in await desk.desk.store.actions(report_id)]
        return trail.count("delivered") == 2 and "replied" in trail  # notices, the answer

    await eventually(audited, timeout=10)
    report = await desk.desk.store.get(report_id)
    assert report is not None
    await browser.get(f"/patients/{report.patient_id}")
    audit = await browser.text("table.audit")
    assert audit.count("delivered") == 2 and "web desk message reached the patient" in audit
    assert "replied" in audit and "Please send us a photo <now>." in audit
    staff_chat = [m.get("text", "") for m in bot.fake.sent_messages(STAFF_CHAT)]
    assert any(f"Report #{report_id} taken by Sam" in t for t in staff_chat)
    assert any(f"Report #{report_id} resolved by Sam" in t for t in staff_chat)
    others = [m for m in bot.fake.sent_messages() if m["chat_id"] not in (PATIENT, STAFF_CHAT)]
    assert others == []  # nobody else got anything


async def test_taken_in_telegram_shows_on_the_open_page(
        bot: BotHarness, desk_web: tuple[str, DeskServices], browser: Browser,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, desk = desk_web
    monkeypatch.setattr(web_app, "QUEUE_REFRESH_SECONDS", 1)  # the page's own refresh, sooner
    report_id = await red_flag(bot, desk, "my cheek is swollen, hot and oozing yellow pus")
    await browser.get(login_path(STAFF_USER, bot.clock()))
    assert "not taken" in await browser.text(f"#report-{report_id}")
    def take_button() -> str | None:  # the card (sent by the alert outbox) names report+patient
        for message in bot.fake.sent_messages(STAFF_CHAT):
            for data in button_data(message):
                if data.startswith(f"st:take:{report_id}:"):
                    bot_message_id[0] = message["message_id"]
                    return data
        return None

    bot_message_id = [0]
    await bot.fake.wait_for(lambda: take_button() is not None, timeout=15)
    data = take_button()
    assert data is not None
    bot.fake.callback_query(STAFF_USER, data, bot_message_id[0],
                            chat_id=STAFF_CHAT, first_name="Sam")
    await browser.wait_text(f"#report-{report_id}", "taken by")  # no reload: it refreshes


async def test_non_staff_user_is_refused(desk_web: tuple[str, DeskServices],
                                         browser: Browser, bot: BotHarness) -> None:
    await browser.get(login_path(OTHER_USER, bot.clock()))
    assert "not in the staff list" in await browser.text("#refusal")
    await browser.get("/patients")
    assert "Sign in" in await browser.text("h1")
    await browser.screenshot("refused")


async def test_recovery_chart_shows_planted_checkins(
        bot: BotHarness, desk_web: tuple[str, DeskServices], browser: Browser) -> None:
    """The patient answers check-ins in Telegram as the clock moves: day 1 fine, day 2 "about
    the same", day 3 no answer, day 7 a problem; day 14 is still to come."""
    _, desk = desk_web
    await bot.onboard(PATIENT, first_name="Zoe")
    session = await bot.repo.treatments.add(bot.clock().date(), "staff", telegram_id=PATIENT)
    assert bot.conversation.checkins is not None
    await bot.conversation.checkins.session_logged(session.id)
    rows = {r.step: r for r in await desk.manager.list(patient_id=session.patient_id)}
    checkins = bot.app.bot_data.checkins.service
    planted = {"day1": 0, "day2": 1, "day3": None, "day7": 1}  # fine, concern, -, problem
    for step, choice in planted.items():
        before = len(bot.fake.sent_messages(PATIENT))
        bot.clock.now = rows[step].due_at + dt.timedelta(minutes=1)
        await checkins.tick()  # the dispatcher's round, as its job runs it every few seconds
        sent = await bot.fake.wait_for_messages(PATIENT, before + 1, timeout=30)
        message = sent[before]
        assert f"ci:{rows[step].id}:0" in button_data(message)
        if choice is not None:
            await bot.press(PATIENT, message, f"ci:{rows[step].id}:{choice}", first_name="Zoe")
    await browser.get(login_path(STAFF_USER, bot.clock()))
    await browser.get(f"/patients/{session.patient_id}")
    checkins = 'svg.recovery g.mark[data-lane="0"]'
    marks = dict(zip(await browser.attributes(checkins, "data-day"),
                     await browser.attributes(checkins, "data-kind"), strict=True))
    assert marks["1"] == "fine" and marks["2"] == "concern" and marks["3"] == "no answer"
    assert marks["7"] == "problem" and marks["14"] == "planned"
    tips = await browser.attributes(f"{checkins} title", "textContent")
    assert "Check-in, day 1: fine, answered \"Fine\"" in tips, tips  # words, no step ids
    assert not [tip for tip in tips if "day1" in tip or "day7" in tip]
    await browser.screenshot("patient-chart")


async def test_gap_question_added_to_an_entry_is_answered_by_aftercare_ask(
        bot: BotHarness, desk_web: tuple[str, DeskServices], browser: Browser,
        tmp_path: Path) -> None:
    question = "is gua sha ok on my face"
    await bot.onboard(PATIENT, first_name="Zoe")
    (unsure,) = await bot.say(PATIENT, question, first_name="Zoe")
    assert "don't have a reliable answer" in unsure["text"]
    await browser.get(login_path(STAFF_USER, bot.clock()))
    await browser.get("/gaps")
    assert question in await browser.text("#gap-1")
    await browser.select("#entry-1", "touching_face")
    await browser.click("#gap-1 button.add-questions")
    await browser.wait_text("main", "the bot answers with it now")
    await browser.screenshot("gaps-after")

    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AFTERCARE_") and k != "TELEGRAM_BOT_TOKEN"}
    env.update(AFTERCARE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
               PYTHONPATH=str(REPO_ROOT))
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot.cli.main", "ask", "--json", question],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["topic"] == "touching_face"

    async def reloaded() -> bool:  # the running bot follows within seconds
        return bot.conversation.advisor.ask(question).topic == "touching_face"

    await eventually(reloaded, timeout=20)
    (answer,) = await bot.say(PATIENT, question, first_name="Zoe")
    assert "don't have a reliable answer" not in answer["text"]


async def test_queue_at_200_percent_zoom_and_by_keyboard_alone(
        bot: BotHarness, desk_web: tuple[str, DeskServices], browser: Browser) -> None:
    """A 1280-pixel screen at 200% zoom is a 640-pixel wide page: nothing may need sideways
    scrolling; and a report can be taken with Tab and Enter only."""
    from selenium.webdriver.common.keys import Keys

    _, desk = desk_web
    report_id = await red_flag(bot, desk, "my cheek is swollen, hot and oozing yellow pus")
    await browser.get(login_path(STAFF_USER, bot.clock()))
    await browser.run(browser.driver.set_window_size, 640, 1000)
    for path in ("/queue", "/patients", "/gaps", "/figures"):
        await browser.get(path)
        wide = await browser.run(browser.driver.execute_script,
                                 "return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{path} scrolls sideways by {wide}px at 640px"
    await browser.get("/queue")
    await browser.screenshot("queue-640px")
    focused = []
    for _ in range(30):
        await browser.run(lambda: browser.driver.switch_to.active_element.send_keys(Keys.TAB))
        label = await browser.run(browser.driver.execute_script,
                                  "var e = document.activeElement;"
                                  "return e.tagName + ':' + (e.className || e.textContent)")
        focused.append(label)
        if label == "BUTTON:take":
            break
    assert focused[-1] == "BUTTON:take", focused
    assert focused[0].startswith("A:"), focused  # the skip link comes first
    await browser.run(lambda: browser.driver.switch_to.active_element.send_keys(Keys.ENTER))
    await browser.wait_text(f"#report-{report_id}", "taken by Sam")
