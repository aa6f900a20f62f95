"""After a red flag, until staff resolve its report or its window passes, the patient is never
reassured: a message that is not a new red flag nor an aftercare question the bot answers well
gets the safety line again and joins the open report (staff see it under the card); and a
treatment date the patient states in words is offered for logging through the /session flow.
Checked on the `Conversation` built in memory (the e2e twin, through the fake Bot API on
SQLite and PostgreSQL, is tests/test_open_alert_e2e.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bot.compose import Services
from bot.config import load_settings
from bot.core.conversation import Conversation
from bot.core.dates import stated_treatment_date
from knowledge.advisor import Advisor, Clinic
from storage.clock import ManualClock
from storage.models import ReportAction
from tests.advisors import shipped
from tests.conversations import consented

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)  # a Thursday
STAFF_CHAT = -100
NURSE = 7


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic", contact="020 7946 0000", emergency="999"))


@dataclasses.dataclass
class Chat:
    c: Conversation
    services: Services
    clock: ManualClock

    async def say(self, text: str, user: int = 1) -> list[Any]:
        return await self.c.message(user, user, "Ana", text)

    def mine(self, replies: list[Any]) -> list[str]:
        return [r.text for r in replies if r.to_chat is None and not r.notice]

    def staff(self, replies: list[Any]) -> list[Any]:
        return [r for r in replies if r.to_chat == STAFF_CHAT]


@pytest.fixture
async def chat(compose: Any, advisor: Advisor) -> Chat:
    conversation, services, clock = await consented(
        compose, advisor, NOW, AFTERCARE_STAFF_CHAT_ID=str(STAFF_CHAT),
        AFTERCARE_STAFF_IDS=str(NURSE))
    return Chat(conversation, services, clock)


async def emergency(chat: Chat) -> int:
    replies = await chat.say("my lips have blown up")
    assert "Call the emergency number now" in chat.mine(replies)[0]
    report = await chat.services.desk.store.latest_open(1)
    assert report is not None and report.urgency == "emergency"
    return report.id


async def patient_notes(chat: Chat, report_id: int) -> list[str | None]:
    return [a.note for a in await chat.services.desk.store.actions(report_id)
            if a.action == ReportAction.PATIENT.value]


# --- A: the safety line stays while the red flag is open ------------------------------------
async def test_small_talk_after_an_emergency_gets_the_safety_line_and_joins_the_report(
        chat: Chat) -> None:
    report_id = await emergency(chat)
    for text in ("ok", "no one is here with me", "what do I do", "no", "thanks"):
        replies = await chat.say(text)
        (line,) = chat.mine(replies)
        assert "still open" in line and "999" in line and "call it now" in line, text
        assert "Stay with someone" in line and "added this message to your report" in line
        assert "👍" not in line and "reliable answer" not in line
        (staff,) = chat.staff(replies)  # under the card, in the patient's words
        assert staff.card_for == report_id and f'"{text}"' in staff.text
    assert await patient_notes(chat, report_id) == [
        "ok", "no one is here with me", "what do I do", "no", "thanks"]


async def test_an_aftercare_question_is_answered_with_the_safety_line_under_it(
        chat: Chat) -> None:
    report_id = await emergency(chat)
    replies = await chat.say("can I take paracetamol?")
    answer, reminder = chat.mine(replies)
    assert "paracetamol" in answer
    assert "still open" in reminder and "999" in reminder and f"#{report_id}" in reminder
    assert await patient_notes(chat, report_id) == []


async def test_a_new_red_flag_is_triaged_as_always(chat: Chat) -> None:
    report_id = await emergency(chat)
    replies = await chat.say("now I can't breathe properly")
    assert "Call the emergency number now" in chat.mine(replies)[0]
    assert "still open" not in chat.mine(replies)[0]
    report = await chat.services.desk.store.get(report_id)
    assert report is not None and report.repeats == 1  # threaded into the same report


async def test_once_resolved_the_bot_answers_as_usual(chat: Chat) -> None:
    report_id = await emergency(chat)
    await chat.services.desk.store.resolve(report_id, NURSE, "called her, she is fine")
    (line,) = chat.mine(await chat.say("ok"))
    assert "still open" not in line and "👍" in line
    assert await patient_notes(chat, report_id) == []


async def test_the_emergency_line_steps_down_to_urgent_then_ends_with_the_window(
        chat: Chat) -> None:
    report_id = await emergency(chat)
    chat.clock.now = NOW + dt.timedelta(hours=6, minutes=1)  # past the emergency window
    (line, *_) = chat.mine(await chat.say("ok"))
    assert "still open" in line and "today" in line and "call it now" not in line
    chat.clock.now = NOW + dt.timedelta(hours=24, minutes=1)  # past the urgent window
    (line,) = chat.mine(await chat.say("ok"))
    assert "still open" not in line and "👍" in line
    assert await patient_notes(chat, report_id) == ["ok"]


async def test_an_urgent_report_keeps_the_contact_the_clinic_today_line(chat: Chat) -> None:
    replies = await chat.say("there is yellow pus coming out of a spot")
    assert "today" in chat.mine(replies)[0]
    (line, *_) = chat.mine(await chat.say("ok thanks"))
    assert "still open" in line and "020 7946 0000" in line and "today" in line


async def test_another_language_gets_the_safety_line_in_that_language(chat: Chat) -> None:
    await chat.say("ma lèvre est très gonflée et j'ai du mal à respirer")
    (line,) = chat.mine(await chat.say("personne n'est avec moi, je fais quoi ?"))
    assert "toujours ouvert" in line and "999" in line


async def test_without_consent_the_follow_up_still_reaches_the_report(
        compose: Any, advisor: Advisor) -> None:
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=str(STAFF_CHAT))
    services = await compose(settings, ManualClock(NOW), url="memory", advisor=advisor)
    c: Conversation = services.patient.conversation
    await c.start(2, 2, "Bo")
    await c.callback(2, 2, "Bo", "consent:no")
    await c.message(2, 2, "Bo", "my tongue is swelling up")
    replies = await c.message(2, 2, "Bo", "ok")
    assert "still open" in replies[0].text


# --- B: a treatment date stated in words ----------------------------------------------------
async def test_a_stated_treatment_date_is_answered_for_that_day_and_offered(chat: Chat) -> None:
    replies = await chat.say("I had my treatment today")
    answer, offer = chat.mine(replies)
    assert "day 0" in answer  # the answer for the day they said
    assert "Shall I note it as <b>Thu 3 Dec 2026</b> (today)" in offer
    buttons = [b for row in replies[-1].buttons for b in row]
    assert ("Yes, Thu 3 Dec 2026", "sd:0") in buttons
    assert ("No, another date", "session:other") in buttons
    logged = await chat.c.callback(1, 1, "Ana", "sd:0")
    assert "Got it: treatment on 2026-12-03" in logged[0].text
    again = chat.mine(await chat.say("I had my treatment today"))
    assert len(again) == 1 and "Shall I note" not in again[0]  # logged already


async def test_another_date_opens_the_typed_date_flow(chat: Chat) -> None:
    replies = await chat.say("my session was on Monday")
    assert "Mon 30 Nov 2026" in replies[-1].text
    typed = await chat.c.callback(1, 1, "Ana", "session:other")
    assert "Waiting for your treatment date" in typed[-1].text
    logged = await chat.say("28/11")
    assert "2026-11-28" in logged[0].text


async def test_without_consent_the_offer_says_what_session_needs(
        compose: Any, advisor: Advisor) -> None:
    services = await compose(load_settings(None), ManualClock(NOW), url="memory",
                             advisor=advisor)
    c: Conversation = services.patient.conversation
    await c.start(3, 3, "Cy")
    await c.callback(3, 3, "Cy", "consent:no")
    replies = await c.message(3, 3, "Cy", "had it done yesterday")
    assert "agreement to store it" in replies[-1].text and "/session" in replies[-1].text
    assert ("I agree", "consent:yes") in [b for row in replies[-1].buttons for b in row]


@pytest.mark.parametrize(("text", "expected"), [
    ("I had my treatment today", dt.date(2026, 12, 3)),
    ("had it done yesterday", dt.date(2026, 12, 2)),
    ("my session was on Monday", dt.date(2026, 11, 30)),
    ("my session was on Thursday", dt.date(2026, 11, 26)),  # today's weekday: last week
    ("got needled 3 days ago", dt.date(2026, 11, 30)),
    ("my treatment was on 20/11", dt.date(2026, 11, 20)),
    ("I had my microneedling on 1st December", dt.date(2026, 12, 1)),
    ("I had microneedling on the 28th", dt.date(2026, 11, 28)),
    ("Yesterday I had my treatment, today it stings", dt.date(2026, 12, 2)),
    ("had it done yesterday and today it's red", dt.date(2026, 12, 2)),
    ("I had my treatment the day before yesterday", dt.date(2026, 12, 1)),
    ("my next session is on Monday", None),
    ("I haven't had my treatment yet", None),
    ("my treatment is tomorrow", None),
    ("I'm having my treatment today", None),
    ("can I wear makeup after my treatment?", None),
    ("my skin is red today", None),
    ("my session got cancelled today", None),
])
def test_stated_treatment_dates(text: str, expected: dt.date | None) -> None:
    assert stated_treatment_date(text, dt.date(2026, 12, 3)) == expected


# --- C: the alert that counts, its language, topics that overlap it, its window ------------
async def test_an_ask_the_clinic_question_after_the_emergency_does_not_end_its_line(
        chat: Chat) -> None:
    await chat.say("can I dye my hair next week?")  # "ask the clinic" offered, not pressed
    report_id = await emergency(chat)
    chat.clock.now = NOW + dt.timedelta(minutes=5)
    await chat.c.callback(1, 1, "Ana", "handoff")  # the question: the newest open report
    question = await chat.services.desk.store.latest_open(1)
    assert question is not None and question.id != report_id and question.urgency is None
    (line,) = chat.mine(await chat.say("ok"))
    assert "still open" in line and "call it now" in line and f"#{report_id}" in line
    assert await patient_notes(chat, report_id) == ["ok"]
    assert await patient_notes(chat, question.id) == []


async def test_the_emergency_counts_over_a_newer_urgent_alert(chat: Chat) -> None:
    await chat.say("can I dye my hair next week?")
    report_id = await emergency(chat)
    await chat.c.callback(1, 1, "Ana", "handoff")  # a question between the two red flags
    chat.clock.now = NOW + dt.timedelta(minutes=10)
    await chat.say("there is yellow pus coming out of a spot")  # a report of its own
    urgent = await chat.services.desk.store.latest_open(1)
    assert urgent is not None and urgent.urgency == "urgent" and urgent.id != report_id
    (line,) = chat.mine(await chat.say("ok"))
    assert "call it now" in line and f"#{report_id}" in line
    assert await patient_notes(chat, report_id) == ["ok"]
    chat.clock.now = NOW + dt.timedelta(hours=6, minutes=1)  # the emergency's line is over:
    (line, *_) = chat.mine(await chat.say("ok"))  # both call for the urgent one, the newest
    assert "still open" in line and "call it now" not in line and f"#{urgent.id}" in line


@pytest.mark.parametrize("follow_up", ["ok", "ok merci", "thanks", "what now?"])
async def test_a_short_follow_up_gets_the_line_in_the_language_of_the_alert(
        chat: Chat, follow_up: str) -> None:
    await chat.say("ma lèvre est très gonflée et j'ai du mal à respirer")
    (line,) = chat.mine(await chat.say(follow_up))
    assert "toujours ouvert" in line and "999" in line, follow_up
    assert "still open" not in line


async def test_a_longer_message_gets_the_line_in_its_own_language(chat: Chat) -> None:
    await chat.say("ma lèvre est très gonflée et j'ai du mal à respirer")
    (line,) = chat.mine(await chat.say("sorry, no one is here with me right now"))
    assert "still open" in line and "toujours ouvert" not in line
    await emergency(chat)  # an English alert: a short French word that says little ...
    (line,) = chat.mine(await chat.say("merci"))
    assert "still open" in line  # ... keeps the English line


@pytest.mark.parametrize("question", [
    "how long will the swelling last?", "is it normal to still be swollen",
    "how long does the downtime last?"])
async def test_an_answer_about_the_flagged_sign_is_not_given_as_if_normal(
        chat: Chat, question: str) -> None:
    report_id = await emergency(chat)
    replies = await chat.say(question)
    (line,) = chat.mine(replies)  # the safety line instead of the swelling answer
    assert "still open" in line and "call it now" in line, question
    assert "settle" not in line.lower() and "normal" not in line.lower()
    (staff,) = chat.staff(replies)
    assert staff.card_for == report_id
    assert await patient_notes(chat, report_id) == [question]


async def test_an_urgent_alert_keeps_its_sign_from_being_answered_as_normal(
        chat: Chat) -> None:
    await chat.say("can you check the pain is getting worse since yesterday, day 3")
    report = await chat.services.desk.store.latest_open(1)
    assert report is not None and report.urgency == "urgent"
    (line, *_) = chat.mine(await chat.say("how long will it be sore for?"))  # topic: pain
    assert "still open" in line and "today" in line
    answer, reminder = chat.mine(await chat.say("can I wear makeup?"))  # another topic
    assert "makeup" in answer.lower() and "still open" in reminder


def test_the_alert_topics_name_real_signs_and_topics(advisor: Advisor) -> None:
    from bot.core.alert_topics import load_alert_topics

    listed = load_alert_topics().signs
    alerts = {s.id for s in advisor.triage.signs if s.tier in ("emergency", "urgent")}
    assert set(listed) == alerts  # every red flag decided, and no unknown sign
    entries = {entry.id for entry in advisor.kb.entries}
    assert set().union(*listed.values()) <= entries
    assert "swelling" in listed["airway_swelling"]
    assert "painkillers" not in set().union(*listed.values())  # "paracetamol?" is answered


async def test_follow_ups_do_not_extend_the_window(chat: Chat) -> None:
    await emergency(chat)
    for hours in (1, 3, 5):  # worried messages all through the emergency's window
        chat.clock.now = NOW + dt.timedelta(hours=hours)
        (line,) = chat.mine(await chat.say("I'm scared, what do I do"))
        assert "call it now" in line
    chat.clock.now = NOW + dt.timedelta(hours=6, minutes=1)
    (line, *_) = chat.mine(await chat.say("I'm scared, what do I do"))
    assert "still open" in line and "call it now" not in line  # stepped down on time


async def test_a_later_red_flag_restarts_the_window(chat: Chat) -> None:
    await chat.say("there is yellow pus coming out of a spot")
    report = await chat.services.desk.store.latest_open(1)
    assert report is not None and report.urgency == "urgent"
    later = NOW + dt.timedelta(hours=10)
    chat.clock.now = later
    assert "Call the emergency number now" in chat.mine(
        await chat.say("my lips have blown up"))[0]
    raised = await chat.services.desk.store.get(report.id)
    assert raised is not None and raised.urgency == "emergency" and raised.repeats == 1
    assert raised.alerted == later  # the window counts from this red flag
    chat.clock.now = later + dt.timedelta(minutes=5)
    (line,) = chat.mine(await chat.say("ok"))
    assert "call it now" in line  # the emergency's line, not the urgent report's
    chat.clock.now = later + dt.timedelta(hours=24, minutes=1)
    (line,) = chat.mine(await chat.say("ok"))
    assert "still open" not in line


async def test_the_privacy_text_says_follow_ups_join_the_alert(chat: Chat) -> None:
    (text,) = [r.text for r in await chat.c.command(1, 1, "Ana", "privacy")]
    assert "what you write next is added to it" in text
    assert "even without your agreement" in text


# --- D: the date offer's buttons stay while it is open ------------------------------------
async def test_the_offer_keeps_its_buttons_after_another_message(chat: Chat) -> None:
    await chat.say("had it done yesterday")
    replies = await chat.say("can I wear makeup?")
    shown = [b for r in replies for row in r.buttons for b in row]
    assert ("Yes, Wed 2 Dec 2026", "sd:0") in shown
    assert ("No, another date", "session:other") in shown
    logged = await chat.c.callback(1, 1, "Ana", "sd:0")
    assert "Got it: treatment on 2026-12-02" in logged[0].text


async def test_a_typed_date_to_confirm_keeps_its_buttons_after_another_message(
        chat: Chat) -> None:
    await chat.c.callback(1, 1, "Ana", "session:other")
    asked = await chat.say("20/12")  # in the future: confirmed first
    first = [b for r in asked for row in r.buttons for b in row if b[1].startswith("sd:")]
    assert first
    replies = await chat.say("can I wear makeup?")
    again = [b for r in replies for row in r.buttons for b in row if b[1].startswith("sd:")]
    assert again == first
    assert ("No, another date", "session:other") not in [
        b for r in replies for row in r.buttons for b in row]


async def test_a_thread_about_a_question_does_not_hide_the_emergency_line(
        chat: Chat) -> None:
    await chat.say("can I dye my hair next week?")
    report_id = await emergency(chat)
    await chat.c.callback(1, 1, "Ana", "handoff")
    question = await chat.services.desk.store.latest_open(1)
    assert question is not None and question.id != report_id
    await chat.services.desk.store.record(question.id, NURSE, ReportAction.REPLIED,
                                          note="wait two weeks", now=NOW)
    assert (await chat.services.desk.store.thread_for(1)).id == question.id  # type: ignore[union-attr]
    replies = await chat.say("thanks")
    (line,) = chat.mine(replies)
    assert "call it now" in line and f"#{report_id}" in line
    assert chat.staff(replies)[0].card_for == report_id
    assert await patient_notes(chat, report_id) == ["thanks"]
    chat.clock.now = NOW + dt.timedelta(hours=6, minutes=1)  # past the emergency's hours
    replies = await chat.say("thanks again")  # the thread again (staff are in touch there)
    assert chat.staff(replies)[0].card_for == question.id
