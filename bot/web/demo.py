"""``aftercare desk --demo``: the desk on a throwaway database of fictitious patients.

`seed_demo` plays a fortnight of a small clinic through the real code on a simulated clock:
patients start the bot and agree to storage (`Conversation`), staff log their sessions,
the check-in dispatcher sends each check-in at its time (to a collecting sender: nothing
leaves the machine), the patients answer them (fine, some concern, a problem, or not at all),
ask questions the bot answers or cannot answer, raise red flags, and the demo staff member
takes, answers and resolves some reports through the same desk logic as the web buttons.
Every name and message is invented.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.compose import build_services
from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.outbox import to_items
from bot.core.replies import Reply
from bot.web.services import DeskServices
from scheduler.careplan import Action
from scheduler.dispatcher import OutgoingCheckin
from scheduler.service import CheckinService
from storage import SessionSource
from storage.clock import ManualClock

log = logging.getLogger(__name__)

DEMO_TOKEN = "123456:DEMO-desk-only-not-a-real-bot-token"
DEMO_STAFF = (700001, "Dana")
DEMO_STAFF_CHAT = -1000000000002
FIRST_PATIENT_ID = 810000
LATEST_HOURS = 4  # no patient writes or is answered more than this after their days_ago
STEP = dt.timedelta(hours=1)  # the longest the demo's clock waits while a check-in is overdue


@dataclass
class DemoPatient:
    """A fictitious patient: their session (days ago), how they answer check-ins
    ("f" fine, "c" some concern, "p" problem, "-" no answer, in order) and what they write
    ((hours after the session, words))."""

    name: str
    days_ago: int
    answers: str = "ffff"
    writes: Sequence[tuple[float, str]] = ()
    staff: Sequence[tuple[float, str, str]] = ()  # (hours after session, action, text)
    telegram_id: int = 0
    session_id: int = 0
    answered: set[int] = field(default_factory=set)


PATIENTS = [
    DemoPatient("Amelia Hart", 0, "f", [(3, "Is it normal that my face feels hot and tight?")]),
    DemoPatient("Oliver Bennett", 1, "c", [(26, "Can I put makeup on tomorrow for work?")]),
    DemoPatient("Isla Morgan", 2, "ff", [(30, "can i use my vitamin c serum tonight"),
                                          (40, "does the clinic do parking validation?")]),
    DemoPatient("Noah Fletcher", 2, "fp", [(47, ("My cheeks are swollen and hot and there is "
                                                "yellow crust on the dots, it's getting worse"))]),
    DemoPatient("Sophia Reid", 3, "fc-", [(50, "Is hyaluronic acid ok on day 2?")]),
    DemoPatient("Leo Carter", 3, "f-", [(60, "how long until i see results honestly")]),
    DemoPatient("Mia Collins", 4, "ffc", [(75, "<b>Can</b> I go swimming on Saturday?")]),
    DemoPatient("Harry Wood", 4, "pf", [(29, "there are little white bumps along the jaw"),
                                        (80, "can I bring my sister to the next appointment")],
                [(31, "take", ""), (32, "reply", ("Those are usually milia and settle by "
                                                  "themselves. Please don't squeeze them; "
                                                  "send a photo if they spread.")),
                 (60, "resolve", "Milia, advised; patient happy")]),
    DemoPatient("Ava Thompson", 5, "fff", [(100, "when can I exfoliate again?")]),
    DemoPatient("Jack Ellis", 5, "f--", [(98, "do you sell gift vouchers")]),
    DemoPatient("Grace Patel", 6, "ffcf", [(120, "Is retinol ok yet?")]),
    DemoPatient("Ethan Brooks", 6, "ff-", [(130, ("my skin is peeling a bit, should i pick "
                                                 "at it"))]),
    DemoPatient("Freya Khan", 7, "fcff", [(150, "can I dye my hair this week")]),
    DemoPatient("Lucas Green", 8, "fff", [(170, "can i use a sunbed before my holiday")]),
    DemoPatient("Evie Clarke", 9, "fpff", [(40, ("My lips and tongue are swelling and my "
                                                "throat feels tight"))],
                [(40.5, "take", ""), (41, "reply", ("Please call 999 now. We will call you "
                                                   "as soon as you are safe.")),
                 (52, "resolve", "Allergic reaction, treated in A&E, followed up by phone")]),
    DemoPatient("Charlie Ward", 9, "ffff", [(200, ("how many sessions will I need for acne "
                                                  "scars"))]),
    DemoPatient("Poppy Hughes", 10, "f-ff", [(230, "is it ok to use a jade roller"),
                                             (236, "gua sha on my face ok?")]),
    DemoPatient("Alfie Turner", 11, "ffff", [(250, "do you do microneedling on the neck?"),
                                             (255, "can i do gua sha on my face")]),
    DemoPatient("Ruby Shaw", 12, "fcf", [(270, "Can i get my eyebrows threaded"),
                                         (275, "is gua sha ok on my face")]),
    DemoPatient("George Price", 13, "ffff", [(300, "is the clinic open on bank holidays")]),
    DemoPatient("Daisy Walsh", 14, "ffff", [(330, "when should I book my next session")]),
    DemoPatient("Arthur Lane", 1, "p", [(27, ("it really hurts and there's pus on my cheek, "
                                             "I feel feverish"))]),
    DemoPatient("Lily Adams", 0, "", [(1, ("I think I'm bleeding more than expected, it "
                                          "won't stop"))]),
    DemoPatient("Theo Marsh", 12, "ff-f", [(290, ("can I use my dermaroller at home between "
                                                 "sessions"))]),
]


class _Collect:
    """A check-in `Sender` that keeps what was sent (nothing leaves the machine)."""

    def __init__(self) -> None:
        self.sent: list[OutgoingCheckin] = []

    async def send(self, message: OutgoingCheckin) -> int:
        self.sent.append(message)
        return len(self.sent)


def demo_settings(settings: Settings, database_url: str) -> Settings:
    """The settings for the demo: its database, its staff member, its staff chat."""
    update = {}
    if "clinic_name" not in settings.model_fields_set:
        update["clinic_name"] = "Northfield Skin Clinic"
    return settings.model_copy(update={
        **update, "database_url": database_url, "staff_ids": frozenset({DEMO_STAFF[0]}),
        "staff_chat_id": DEMO_STAFF_CHAT, "telegram_bot_token": None, "bot_username": None})


def _choice(answer: str, step_choices: Sequence[object]) -> int | None:
    """The button index a patient with this answer letter presses."""
    if answer == "-":
        return None
    actions = [getattr(c, "action", None) for c in step_choices]
    if answer == "p" and Action.PROBLEM in actions:
        return actions.index(Action.PROBLEM)
    if answer == "c" and len(actions) > 2 and actions[1] == Action.OK:
        return 1
    return 0


async def seed_demo(services: DeskServices, clock: ManualClock, end: dt.datetime,
                    patients: Sequence[DemoPatient] = PATIENTS) -> None:
    """Play the demo fortnight up to `end` (the clock's start is its beginning)."""
    sender = _Collect()
    instant = services.settings.model_copy(update={"checkin_rate": 0.0,
                                                   "checkin_per_chat_seconds": 0.0})
    seeding = build_services(instant, services.db, sender, clock, advisor=services.advisor,
                             careplan=services.careplan)  # its check-ins go to `sender`
    conversation = seeding.patient.conversation
    service = seeding.checkins.service
    tz = services.settings.tz
    events: list[tuple[dt.datetime, int, str, DemoPatient, str]] = []
    today = end.astimezone(tz).date()
    for number, patient in enumerate(patients):
        patient.telegram_id = FIRST_PATIENT_ID + number
        day = today - dt.timedelta(days=patient.days_ago)
        session_at = min(  # 10:30 that day, or earlier so that all it plans has happened
            dt.datetime.combine(day, dt.time(10, 30 + number % 20), tz).astimezone(dt.UTC),
            end - dt.timedelta(days=patient.days_ago, hours=LATEST_HOURS, minutes=number % 20))
        events.append((session_at, 0, "session", patient, ""))
        for hours, words in patient.writes:
            events.append((session_at + dt.timedelta(hours=hours), 1, "write", patient, words))
        for hours, action, words in patient.staff:
            events.append((session_at + dt.timedelta(hours=hours), 2, action, patient, words))
    events.sort(key=lambda e: (e[0], e[1]))
    by_chat = {p.telegram_id: p for p in patients}
    handled = 0
    while clock.now < end:  # to the next event or check-in due (an hour on while one waits)
        before = clock.now
        due = await service.connector.next_due()
        wait = due - before if due is not None and due > before else STEP
        upcoming = events[0][0] - before if events else wait
        clock.advance(min(wait, max(upcoming, dt.timedelta(0)), end - before))
        if events and events[0][0] <= clock.now:
            while events and events[0][0] <= clock.now:
                when, _, kind, patient, words = events.pop(0)
                with clock.at(max(when, before)):
                    await _event(services, conversation, service, kind, patient, words)
            due = await service.connector.next_due()  # the events may have planned some
        if due is None or due > clock.now:
            continue  # a dispatcher run would find nothing to send or expire
        await service.tick()
        for message in sender.sent[handled:]:
            patient = by_chat[message.chat_id]
            await _answer(service, patient, message)
        handled = len(sender.sent)
    await conversation.log.flush()


async def _event(services: DeskServices, conversation: Conversation, service: CheckinService,
                 kind: str, patient: DemoPatient, words: str) -> None:
    uid = patient.telegram_id
    first = patient.name  # as the patient's Telegram profile shows it
    if kind == "session":
        await conversation.start(uid, uid, first)
        await conversation.callback(uid, uid, first, "consent:yes")
        session = await services.treatments.add(
            (services.now()).astimezone(services.settings.tz).date(), SessionSource.STAFF,
            telegram_id=uid)
        patient.session_id = session.id
        await service.session_logged(session.id)
    elif kind == "write":
        await conversation.message(uid, uid, first, words)
    else:
        report = await services.desk.store.latest_open(uid)
        if report is None:
            return
        staff_id, staff_name = DEMO_STAFF
        outcome = await services.desk.web.web_action(staff_id, staff_name, kind, report.id, words)
        replies: list[Reply] = []
        for reply in outcome.replies:  # the demo's history: every answer was delivered
            replies.append(replace(reply, relay=None))
            if reply.relay is not None:
                replies += await services.desk.relays.relay_done(reply.relay)
        await services.outbox.put(to_items(replies, report.id), services.now())


async def _answer(service: CheckinService, patient: DemoPatient,
                  message: OutgoingCheckin) -> None:
    index = len(patient.answered)
    patient.answered.add(message.checkin_id)
    letter = patient.answers[index] if index < len(patient.answers) else "f"
    labels = [label for label, _ in message.buttons]
    step = next((s for s in service.plan.steps
                 if [c.label for c in s.choices] == labels), None)
    choice = _choice(letter, step.choices if step else ())
    if choice is None:
        return
    outcome = await service.answer(patient.telegram_id, f"ci:{message.checkin_id}:{choice}")
    if outcome.reports:
        log.info("demo: %s raised report %d", patient.name, outcome.reports[0].id)
