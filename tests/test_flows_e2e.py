"""Issue 15 through the real Application and the fake Bot API: flows a patient can trust.

Each test is something a patient or a nurse would notice: a described check-in problem
reaches the clinic on the same report with the right urgency; /report says what is
happening, answers questions and ends with Done or Cancel; the time-zone question can be
left, understands "manchester" and a shared location, and its buttons never move; ambiguous
or future treatment dates are confirmed; sessions can be fixed or removed; /mydata and
/resume tell the truth about a pause.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.core.desk import export_csv
from scheduler.zones import warm_up, zone_at
from tests.bot_harness import STAFF_CHAT, BotHarness, button_data, button_labels

# The tests that look up typed places share one pytest-xdist worker (tests/conftest.py makes
# the mark work): the city index (scheduler/zones.py, about 1.3 s of CPU) is built once in
# the run instead of once in each worker these modules' tests are spread over.
pytestmark = pytest.mark.xdist_group("zones")

CI = "ci:"


@pytest.fixture(scope="module", autouse=True)
def zone_data() -> None:
    """Load the city index and zone boundaries once (the bot loads them in a thread)."""
    warm_up()
    zone_at(0.0, 0.0)


async def staff_after(bot: BotHarness, before: int, n: int = 1) -> list[dict[str, Any]]:
    return (await bot.fake.wait_for_messages(STAFF_CHAT, before + n))[before:]


def staff_count(bot: BotHarness) -> int:
    return len(bot.fake.sent_messages(STAFF_CHAT))


async def log_today(bot: BotHarness, user: int) -> None:
    (picker,) = await bot.say(user, "/session")
    await bot.press(user, picker, "session:today")


async def checkin(bot: BotHarness, user: int, at: dt.datetime) -> dict[str, Any]:
    """Move the clock to `at`, run the dispatcher, return the check-in message sent."""
    before = len(bot.fake.sent_messages(user))
    bot.clock.now = at
    await bot.app.bot_data.checkins.service.tick()
    sent = await bot.replies_after(user, before, 1)
    assert any(d.startswith(CI) for d in button_data(sent[0])), sent[0]["text"]
    return sent[0]


def choice(message: dict[str, Any], label: str) -> str:
    labels, data = button_labels(message), button_data(message)
    return data[labels.index(label)]


# --- 1. a described check-in problem reaches the clinic --------------------------------------
async def test_something_wrong_is_described_triaged_and_added_to_the_same_report(
        bot: BotHarness) -> None:
    await bot.onboard(301)
    await log_today(bot, 301)
    day1 = await checkin(bot, 301, dt.datetime(2026, 3, 11, 19, 5, tzinfo=dt.UTC))
    staff_before = staff_count(bot)
    (asked,) = await bot.press(301, day1, choice(day1, "Something's wrong"))
    assert "describe" in asked["text"] and "Waiting for your description" in asked["text"]
    assert "flow:cancel" in button_data(asked)
    (card,) = await staff_after(bot, staff_before)
    assert card["text"].startswith("CHECK-IN")
    # the nurse reads the check-in in words, not the care plan's step id
    assert 'Check-in, day 1: answered "Something\'s wrong"' in card["text"]
    assert "day1" not in card["text"]
    report_id = int(card["text"].split("report #")[1].split()[0])

    replies = await bot.say(301, "some little bumps and it itches a lot")
    told = replies[-1]["text"]
    assert f"report #{report_id}" in told and "paused" in told and "Did you mean" not in told
    (thread,) = await staff_after(bot, staff_before + 1)
    assert "some little bumps and it itches a lot" in thread["text"]
    assert thread["reply_parameters"]["message_id"] == card["message_id"]

    store = bot.app.bot_data.desk.store
    report = await store.get(report_id)
    assert report is not None and "some little bumps and it itches a lot" in report.text
    exported = export_csv(await store.export(dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                             dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    assert "some little bumps and it itches a lot" in exported
    (queue_line,) = [t for t in (await bot.app.bot_data.desk.views.queue_text()).splitlines()
                     if f"#{report_id}" in t]
    assert "some little bumps" in queue_line
    # the next message is an ordinary question again
    (answer, *_) = await bot.say(301, "can I wear makeup?")
    assert "report #" not in answer["text"] and "makeup" in answer["text"].lower()


async def test_a_described_red_flag_raises_the_report_and_advises_at_once(
        bot: BotHarness) -> None:
    await bot.onboard(302)
    await log_today(bot, 302)
    day1 = await checkin(bot, 302, dt.datetime(2026, 3, 11, 19, 5, tzinfo=dt.UTC))
    staff_before = staff_count(bot)
    await bot.press(302, day1, choice(day1, "Something's wrong"))
    (card,) = await staff_after(bot, staff_before)
    report_id = int(card["text"].split("report #")[1].split()[0])
    replies = await bot.say(302, "there is yellow pus on my cheek", n=2)
    assert replies[0]["text"].startswith("⚠️") and "today" in replies[0]["text"]
    assert f"report #{report_id}" in replies[1]["text"]
    (thread,) = await staff_after(bot, staff_before + 1)
    # it raised the report: the loud raise (staff mentioned) carries the words, one message
    assert thread["text"].startswith(f"⬆️ Now URGENT — 💬 Ana (report #{report_id})")
    assert "there is yellow pus on my cheek" in thread["text"] and "tg://user?id=" in thread["text"]
    assert thread["reply_parameters"]["message_id"] == card["message_id"]
    report = await bot.app.bot_data.desk.store.get(report_id)
    assert report is not None and report.urgency == "urgent"


async def test_day3_yes_one_of_those_is_urgent_for_patient_and_card(bot: BotHarness) -> None:
    await bot.onboard(303)
    (picker,) = await bot.say(303, "/session")
    await bot.press(303, picker, "session:other")
    (logged,) = await bot.say(303, "3 days ago")
    assert "day 3" in logged["text"]
    (answer, *_) = await bot.say(303, "is redness normal?")
    assert "day 2" not in answer["text"]  # the next answer agrees on the day
    day3 = await checkin(bot, 303, dt.datetime(2026, 3, 10, 10, 5, tzinfo=dt.UTC))
    assert "pus, yellow crusts" in day3["text"]
    staff_before = staff_count(bot)
    (urgent,) = await bot.press(303, day3, choice(day3, "Yes, one of those"))
    assert "needs to be looked at today" in urgent["text"] and "Glow Clinic" in urgent["text"]
    (card,) = await staff_after(bot, staff_before)
    assert card["text"].startswith("URGENT")


# --- 2. /report says what happens and ends clearly ---------------------------------------------
async def test_report_answers_questions_ends_with_done_and_does_not_restart(
        bot: BotHarness) -> None:
    await bot.onboard(304)
    (ask,) = await bot.say(304, "/report")
    assert "Report to the clinic in progress" in ask["text"]
    assert button_data(ask) == ["flow:cancel"]
    staff_before = staff_count(bot)
    replies = await bot.say(304, "can I wear makeup?", n=2)
    assert "makeup" in replies[0]["text"].lower() or "make-up" in replies[0]["text"].lower()
    assert "Send it to the clinic" in button_labels(replies[1])
    assert staff_count(bot) == staff_before  # nothing sent to staff
    (told,) = await bot.say(304, "a rash on my chin since this morning")
    assert "The clinic has been told" in told["text"] and "Press Done" in told["text"]
    assert "flow:done" in button_data(told)
    await staff_after(bot, staff_before)
    (added,) = await bot.say(304, "it is also a bit warm")
    assert "report #" in added["text"]
    (done,) = await bot.press(304, added, "flow:done")
    assert "complete" in done["text"]
    (answer, *_) = await bot.say(304, "when can I exercise?")
    assert "report #" not in answer["text"]


async def test_report_cancel_and_the_window_does_not_restart(bot: BotHarness) -> None:
    await bot.onboard(305)
    await bot.say(305, "/report")
    (cancelled,) = await bot.say(305, "/cancel")
    assert "Nothing was sent" in cancelled["text"]
    (ask,) = await bot.say(305, "/report")
    (cancelled,) = await bot.press(305, ask, "flow:cancel")
    assert "report cancelled" in cancelled["text"]
    await bot.say(305, "/report")
    await bot.say(305, "small spots on my forehead")
    bot.clock.advance(minutes=20)
    await bot.say(305, "they look a bit red too")  # added; does not extend the window
    bot.clock.advance(minutes=15)
    replies = await bot.say(305, "can I wear makeup?", n=2)
    assert "ended at" in replies[0]["text"]


# --- 3. the time-zone question can be left, knows manchester and locations ----------------------
async def test_timezone_other_can_be_cancelled_and_finds_manchester(bot: BotHarness) -> None:
    await bot.onboard(306)
    (zones,) = await bot.say(306, "/timezone")
    (prompt,) = await bot.press(306, zones, "tz:other")
    assert "Waiting for your city" in prompt["text"] and "flow:cancel" in button_data(prompt)
    (cancelled,) = await bot.say(306, "cancel")
    assert "keep following Europe/London" in cancelled["text"]
    (zones,) = await bot.say(306, "/timezone")
    await bot.press(306, zones, "tz:other")
    (cancelled,) = await bot.say(306, "/cancel")
    assert "keep following" in cancelled["text"]
    (zones,) = await bot.say(306, "/timezone")
    await bot.press(306, zones, "tz:other")
    replies = await bot.say(306, "can I wear makeup?")
    assert "Waiting for your city" in replies[-1]["text"]  # answered, flow still shown
    (ambiguous,) = await bot.say(306, "San Jose")
    assert "tz:set:America/Costa_Rica" in button_data(ambiguous)
    (done,) = await bot.say(306, "manchester")
    assert "follow Europe/London" in done["text"]


async def test_a_red_flag_typed_while_a_city_is_awaited_reaches_the_clinic(
        bot: BotHarness) -> None:
    # it was looked up as a place ("I couldn't find a time zone for ...") and went nowhere
    await bot.onboard(318, first_name="Ines")
    (zones,) = await bot.say(318, "/timezone")
    await bot.press(318, zones, "tz:other")
    staff_before = len(bot.fake.sent_messages(STAFF_CHAT))
    (advice,) = await bot.say(318, "lips swelling")
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    assert "couldn't find a time zone" not in advice["text"]
    assert "Waiting for your city" in advice["text"]  # the flow shown again under it
    (card,) = await bot.replies_after(STAFF_CHAT, staff_before, 1)
    assert card["text"].startswith("EMERGENCY: Ines") and "lips swelling" in card["text"]
    (done,) = await bot.say(318, "Madrid")
    assert "follow Europe/Madrid" in done["text"]
    assert bot.fake.violations == []


async def test_a_city_typed_under_the_time_zone_question_sets_the_zone(bot: BotHarness) -> None:
    # "Which time zone are you in?" after consent: "Madrid" typed instead of a tap got "I'm
    # sorry, I don't have a reliable answer to that"
    await bot.onboard(319)
    (answer,) = await bot.say(319, "can I wear makeup?")  # a question first: answered
    assert "makeup" in answer["text"].lower() and "time zone" not in answer["text"]
    (done,) = await bot.say(319, "Madrid")
    assert "follow Europe/Madrid" in done["text"]
    stored = await bot.repo.patients.get(319)
    assert stored is not None and stored.timezone == "Europe/Madrid"
    (later,) = await bot.say(319, "Paris")  # answered: no longer read as a place
    assert "follow Europe/Paris" not in later["text"]
    (zones,) = await bot.say(319, "/timezone")
    (kept,) = await bot.say(319, "keep")
    assert "follow Europe/Madrid time" in kept["text"]
    (zones,) = await bot.say(319, "/timezone")
    (advice,) = await bot.say(319, "lips swelling")  # a red flag is never a place
    assert advice["text"].startswith("⚠️")
    assert bot.fake.violations == []


async def test_timezone_buttons_do_not_move_and_a_location_sets_the_zone(
        bot: BotHarness) -> None:
    await bot.onboard(307)
    (first,) = await bot.say(307, "/timezone")
    await bot.press(307, first, "tz:set:Asia/Dubai")
    (second,) = await bot.say(307, "/timezone")
    assert button_data(first)[1:] == button_data(second)[1:]
    assert "✓ Dubai" in button_labels(second)
    before = len(bot.fake.sent_messages(307))
    bot.fake.user_location(307, latitude=40.71, longitude=-74.0)
    (set_,) = await bot.replies_after(307, before, 1)
    assert "America/New_York" in set_["text"]
    patient = await bot.repo.patients.get(307)
    assert patient is not None and patient.timezone == "America/New_York"


# --- 5. treatment dates: confirm, fix, remove, replace -----------------------------------------
async def test_a_date_that_could_be_last_year_is_confirmed(bot: BotHarness) -> None:
    bot.clock.now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    await bot.onboard(308)
    (picker,) = await bot.say(308, "/session")
    await bot.press(308, picker, "session:other")
    (confirm,) = await bot.say(308, "20/12")
    assert "Sat 20 Dec 2025" in confirm["text"] and "346 days ago" in confirm["text"]
    assert button_data(confirm) == ["sd:0", "sd:1", "flow:cancel"]
    assert "Sun 20 Dec 2026" in button_labels(confirm)[1]
    patient = await bot.repo.patients.get(308)
    assert patient is not None
    assert await bot.repo.treatments.of_patient(patient.id) == []  # nothing stored yet
    (booked,) = await bot.press(308, confirm, "sd:1")
    assert "booked for Sun 20 Dec 2026" in booked["text"]
    (session,) = await bot.repo.treatments.of_patient(patient.id)
    assert session.session_date == dt.date(2026, 12, 20)


# A date typed instead of tapped, while /session waits for it. The clock: Thursday 3 December
# 2026, 10:00 in London, so "last tuesday" is Tue 1 Dec (day 2).
THU_3_DEC = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)


async def logged_dates(bot: BotHarness, user: int) -> list[dt.date]:
    patient = await bot.repo.patients.get(user)
    assert patient is not None
    return [s.session_date for s in await bot.repo.treatments.of_patient(patient.id)]


async def typed_at_session(bot: BotHarness, user: int, text: str,
                           other: bool = False) -> dict[str, Any]:
    """/session (then "Another date" when `other`), then `text` typed; the bot's answer."""
    bot.clock.now = THU_3_DEC
    await bot.onboard(user)
    (picker,) = await bot.say(user, "/session")
    if other:
        await bot.press(user, picker, "session:other")
    (answer,) = await bot.say(user, text)
    return answer


@pytest.mark.parametrize(("user", "typed", "other", "logged", "day"), [
    (320, "last tuesday", False, dt.date(2026, 12, 1), 2),  # at /session's first step
    (321, "1st December", True, dt.date(2026, 12, 1), 2),  # after "Another date"
    (322, "2 weeks ago", False, dt.date(2026, 11, 19), 14),
    (323, "el martes pasado", False, dt.date(2026, 12, 1), 2),
    (324, "on monday", True, dt.date(2026, 11, 30), 3),
    (325, "the 1st", False, dt.date(2026, 12, 1), 2),
])
async def test_a_date_typed_instead_of_tapped_is_logged(
        bot: BotHarness, user: int, typed: str, other: bool, logged: dt.date, day: int) -> None:
    answer = await typed_at_session(bot, user, typed, other)
    assert f"treatment on {logged.isoformat()}" in answer["text"]
    assert f"Today is day {day}" in answer["text"]
    assert "reliable answer" not in answer["text"]  # not read as a question
    assert await logged_dates(bot, user) == [logged]
    (after,) = await bot.say(user, "can I wear makeup?")  # the flow has ended: no reminder
    assert "Waiting for your treatment date" not in after["text"]


async def test_last_week_is_confirmed_before_it_is_logged(bot: BotHarness) -> None:
    confirm = await typed_at_session(bot, 326, "last week")
    assert "Thu 26 Nov 2026" in confirm["text"] and "7 days ago" in confirm["text"]
    assert button_data(confirm) == ["sd:0", "flow:cancel"]
    assert await logged_dates(bot, 326) == []  # nothing stored yet
    (logged,) = await bot.press(326, confirm, "sd:0")
    assert "treatment on 2026-11-26" in logged["text"]
    assert await logged_dates(bot, 326) == [dt.date(2026, 11, 26)]


async def test_a_future_date_typed_at_session_is_refused_and_the_question_stays(
        bot: BotHarness) -> None:
    refused = await typed_at_session(bot, 327, "1 April 2027")
    assert "(2027-04-01) is in the future" in refused["text"]
    assert "Waiting for your treatment date" in refused["text"]
    assert button_data(refused) == ["session:today", "session:yesterday", "session:other",
                                    "flow:cancel"]
    assert await logged_dates(bot, 327) == []
    (logged,) = await bot.say(327, "yesterday")
    assert "treatment on 2026-12-02" in logged["text"]


async def test_a_symptom_typed_while_session_waits_is_triaged_and_the_question_stays(
        bot: BotHarness) -> None:
    bot.clock.now = THU_3_DEC
    await bot.onboard(328)
    (picker,) = await bot.say(328, "/session")
    staff_before = staff_count(bot)
    before = len(bot.fake.sent_messages(328))
    bot.fake.user_message(328, "my lips are swelling and my throat feels tight")

    def reminder() -> dict[str, Any] | None:
        return next((m for m in bot.fake.sent_messages(328)[before:]
                     if "session:other" in button_data(m)), None)

    await bot.fake.wait_for(lambda: reminder() is not None)
    advice = bot.fake.sent_messages(328)[before]
    assert advice["text"].startswith("⚠️") and "999" in advice["text"]
    (card,) = await staff_after(bot, staff_before)
    assert card["text"].startswith("EMERGENCY")
    shown = reminder()
    assert shown is not None and "Waiting for your treatment date" in shown["text"]
    assert button_data(shown) == button_data(picker)  # Today, Yesterday, Another date, Cancel
    assert await logged_dates(bot, 328) == []
    (logged,) = await bot.say(328, "last tuesday")  # the question is still open
    assert "treatment on 2026-12-01" in logged["text"]


async def test_a_session_can_be_moved_removed_or_replaced_and_check_ins_follow(
        bot: BotHarness) -> None:
    await bot.onboard(309)
    await log_today(bot, 309)
    patient = await bot.repo.patients.get(309)
    assert patient is not None
    manager = bot.app.bot_data.checkins.service.manager
    (menu,) = await bot.say(309, "/session")
    first = (await bot.repo.treatments.of_patient(patient.id))[0]
    (prompt,) = await bot.press(309, menu, f"sx:change:{first.id}")
    (moved,) = await bot.say(309, "yesterday")
    assert "now on Mon 9 Mar 2026" in moved["text"]
    rows = await manager.list(patient_id=patient.id)
    assert {r.session_id for r in rows} == {first.id}
    day1 = next(r for r in rows if r.step == "day1")
    assert day1.due_at.date() == dt.date(2026, 3, 10)

    # a new date within the course asks whether it replaces the old one
    (picker,) = await bot.say(309, "/session")
    await bot.press(309, picker, "session:today")
    (question,) = bot.fake.sent_messages(309)[-1:]
    assert "replace" in question["text"] and "sx:replace" in button_data(question)
    (replaced,) = await bot.press(309, question, "sx:replace")
    assert "removed" in replaced["text"] and "Tue 10 Mar 2026" in replaced["text"]
    old_rows = [r for r in await manager.list(patient_id=patient.id)
                if r.session_id == first.id]
    assert old_rows and all(r.status == "cancelled" for r in old_rows)

    (menu,) = await bot.say(309, "/session")
    (current,) = await bot.repo.treatments.of_patient(patient.id, include_cancelled=False)
    (removed,) = await bot.press(309, menu, f"sx:remove:{current.id}")
    assert "removed" in removed["text"]
    assert await bot.repo.treatments.of_patient(patient.id, include_cancelled=False) == []
    assert all(r.status == "cancelled" for r in await manager.list(patient_id=patient.id))


async def test_replace_or_keep_both_is_shown_again_after_a_question(bot: BotHarness) -> None:
    """A question typed while /session asks "Replace / Keep both" is answered, and the
    reminder under it carries those buttons again (not only Cancel): they still work."""
    await bot.onboard(313)
    await log_today(bot, 313)
    (menu,) = await bot.say(313, "/session")
    (question,) = await bot.press(313, menu, "session:yesterday")
    assert "sx:both" in button_data(question)
    before = len(bot.fake.sent_messages(313))
    bot.fake.user_message(313, "can I wear makeup?")

    def reminder() -> dict[str, Any] | None:
        return next((m for m in bot.fake.sent_messages(313)[before:]
                     if "sx:both" in button_data(m)), None)

    await bot.fake.wait_for(lambda: reminder() is not None)
    shown = reminder()
    assert shown is not None
    assert button_data(shown) == button_data(question)  # Replace, Keep both, Cancel
    (logged,) = await bot.press(313, shown, "sx:both")
    assert "2026-03-09" in logged["text"]
    patient = await bot.repo.patients.get(313)
    assert patient is not None
    assert len(await bot.repo.treatments.of_patient(patient.id, include_cancelled=False)) == 2


async def test_another_patients_session_cannot_be_touched(bot: BotHarness) -> None:
    await bot.onboard(310)
    await log_today(bot, 310)
    other = await bot.repo.patients.get(310)
    assert other is not None
    (session,) = await bot.repo.treatments.of_patient(other.id)
    await bot.onboard(311)
    await log_today(bot, 311)
    (menu,) = await bot.say(311, "/session")
    notice = await bot.press_again(311, menu, f"sx:remove:{session.id}")
    assert "no longer active" in notice
    assert await bot.repo.treatments.of_patient(other.id, include_cancelled=False) != []


# --- 4. /mydata and /resume tell the truth about a pause ---------------------------------------
async def test_mydata_and_resume_say_check_ins_wait_for_the_report(bot: BotHarness) -> None:
    await bot.onboard(312)
    await log_today(bot, 312)
    day1 = await checkin(bot, 312, dt.datetime(2026, 3, 11, 19, 5, tzinfo=dt.UTC))
    staff_before = staff_count(bot)
    await bot.press(312, day1, choice(day1, "Something's wrong"))
    (card,) = await staff_after(bot, staff_before)
    report_id = int(card["text"].split("report #")[1].split()[0])
    await bot.say(312, "/cancel")
    (mydata,) = await bot.say(312, "/mydata")
    assert f"paused until the clinic has looked at report #{report_id}" in mydata["text"]
    await bot.say(312, "/stop")
    (resumed,) = await bot.say(312, "/resume")
    assert f"stay paused until the clinic team has looked at report #{report_id}" in (
        resumed["text"])
