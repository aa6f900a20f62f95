"""Advice first, storage second: answering while the database is down, storing afterwards.

When a handler's database read or write fails, the patient is still answered at once, from
what needs no database, and what must reach the clinic goes to the local spool
(storage/spool.py, fsynced) before the update counts as handled:

* `answer_offline`: a text or a caption. The advisor (pure) decides; a red flag's report is
  spooled (with the photo it came with). After an offline /report, the next text is the
  report whatever triage says. Any other text is answered as usual and, since a /report
  handled online may wait for its words in the database (unreadable now), kept too, marked
  as answered (`SpooledReport.answered`), and the patient is told it is kept for that case
  only: at most one per patient (the first text after a /report is its words) and
  `MAX_KEPT_WORDS` in all, so a long outage does not grow the spool without limit.
* `edit_offline`: an edited text. A red flag in it gets its advice at once; the edit is
  spooled and, on replay, updates the report its message raised (or raises one), as online.
* `press_offline`: a button press. A rule-out "Yes"/"No" gets the advisor's answer at once
  (a "Yes" that escalates is spooled as a report); a check-in answer is spooled as it is and
  recorded on replay.
* `photo_offline`: a photo; kept, and added on replay to the report it belongs to. A photo
  sent between an offline /report and its description names that /report, and the words'
  replay adds it to the very report they raise, whichever replay stores them; a photo the
  replay cannot place yet waits for what the patient sent after it, and one no report takes
  is logged (never dropped silently).
* `command_offline`: /report asks for the description; the "describe" entry is in the
  spool, so the next text is the report even after a restart. Any other patient command
  (/start included) is kept and run on replay, and its answer is sent then. A /report whose
  words are not kept yet is run online by the replay, and waits for them there.

Anything else a handler could not do without the database is left unconfirmed (a webhook
answers 503; the polling leader fetches it again), so Telegram delivers it again.

`SpoolReplayer` stores the spool's entries once the database answers again (idempotent by
update id), which owes reports' cards in the alert outbox, wakes the alert sender, and sends
the staff chat what a replayed press, photo or edit produces. The patient was answered when
they wrote, so nothing is sent to them again, except the answer to a kept command, and what
a /report tells them when kept words that answered it are stored: one waiting for its words
online (sent online before them, or run online by a replay just before they were kept)
moves on to details and photos of the report they raised, as if they had come online, so
the next message is not taken as a second report. Words sent before that /report leave it
waiting for its own; a rule-out answer is not words for it. An ordinary text kept in case
it was such words raises the report only if that /report waited for it when it was
written (it came after the /report began, before its time was up), and is otherwise
dropped without a second answer (a cancel word cancels that /report, as online). A
question is taken as the report too (online the patient would have been asked whether it
was for the clinic; they had sent /report for it). Like every entry, it leaves the spool
as soon as the replay has stored or dropped it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.desk.patients import PatientReports
from bot.core.flowstate import Flow, is_cancel
from bot.core.ports import AlertWaker, CheckinEvents, Reports, Spool
from bot.core.replies import Reply, as_replies
from scheduler.passes import Passes
from storage import ReportInfo, ReportKind
from storage.clock import utcnow
from storage.spool import Spooled, SpooledEvent, SpooledReport

log = logging.getLogger(__name__)

DATABASE_DOWN: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)
DESCRIBE_WITHIN = dt.timedelta(minutes=30)  # an offline /report waits this long for words
MAX_KEPT_WORDS = 1000  # ordinary texts kept at once in case they are a /report's words
Deliver = Callable[[Reply, int], Awaitable[None]]  # a reply; the chat when it names none


class _Patient(Protocol):
    @property
    def conversation(self) -> Conversation: ...


class _Ops(Protocol):
    @property
    def spool(self) -> Spool | None: ...


class Offline(Protocol):
    """What the offline answers use of the services (bot/compose.py `Services`: the
    patient conversation and the spool)."""

    @property
    def patient(self) -> _Patient: ...

    @property
    def ops(self) -> _Ops: ...


def _now(services: Offline) -> dt.datetime:
    return services.patient.conversation.clock()


def answer_offline(services: Offline, update_id: int, user_id: int, chat_id: int, text: str,
                   language_hint: str | None = None, photo: str | None = None) -> list[Reply]:
    """The advice for `text` without the database (recovery day unknown); a red flag's
    report (or, after an offline /report, the description) is spooled durably before this
    returns, and so is an ordinary text that may be the words a /report waits for online."""
    return _answered_offline(services, update_id, user_id, chat_id, text, language_hint,
                             photo)[0]


def _answered_offline(services: Offline, update_id: int, user_id: int, chat_id: int,
                      text: str, language_hint: str | None,
                      photo: str | None) -> tuple[list[Reply], SpooledReport | None]:
    """`answer_offline`, and the entry it kept (None when nothing)."""
    conversation = services.patient.conversation
    spool: Spool | None = services.ops.spool
    advice = conversation.advisor.ask(text, None, language_hint)
    answer = as_replies(html.escape(advice.answer, quote=False))
    if spool is None:
        return answer, None
    marker = describing_marker(spool, user_id, _now(services))
    describing = marker is not None
    if not (advice.escalate or describing):
        if not _may_keep_words(spool, user_id):
            return answer, None
        kept = SpooledReport(
            update_id=update_id, telegram_id=user_id, chat_id=chat_id, text=text,
            urgency=None, reason=None, day=None, at=_now(services).isoformat(),
            kind=ReportKind.PATIENT.value, photo=photo, answered=advice.kind)
        spool.append(kept)
        return answer + conversation.say("offline.words_kept"), kept
    kind = ReportKind.TRIAGE if advice.escalate else ReportKind.PATIENT
    kept = SpooledReport(
        update_id=update_id, telegram_id=user_id, chat_id=chat_id, text=text,
        urgency=advice.urgency, reason=advice.triage.reason if advice.triage else None,
        day=None, at=_now(services).isoformat(), kind=kind.value, photo=photo,
        describes=marker.update_id if marker is not None else None)
    spool.append(kept)
    replies = answer if advice.escalate else []
    return (replies + conversation.say("offline.report_kept")) if describing else replies, kept


def _may_keep_words(spool: Spool, user_id: int) -> bool:
    """May an ordinary text of `user_id` be kept in case a /report waits for it? Only the
    first text after a /report is its words: not when one of theirs is kept already; and
    not beyond `MAX_KEPT_WORDS` in all (a long outage, many patients)."""
    kept = [item for item in spool.pending()
            if isinstance(item, SpooledReport) and item.answered is not None]
    return len(kept) < MAX_KEPT_WORDS and all(item.telegram_id != user_id for item in kept)


def press_offline(services: Offline, update_id: int, user_id: int, chat_id: int,
                  first_name: str, data: str) -> list[Reply] | None:
    """A button press without the database: a rule-out answer or a check-in answer (None
    for anything else: it needs the database)."""
    conversation = services.patient.conversation
    spool: Spool | None = services.ops.spool
    kind, _, argument = data.partition(":")
    if spool is None:
        return None
    if kind == "fu":
        question_id, _, choice = argument.partition(":")
        advisor = conversation.advisor
        advice = advisor.answer_follow_up(question_id, choice == "y", None)
        asked = advisor.follow_up(question_id)
        if advice is None or asked is None or choice not in ("y", "n"):
            return [conversation.notice("button_expired")]
        if advice.escalate:
            word = "Yes" if choice == "y" else "No"
            spool.append(SpooledReport(
                update_id=update_id, telegram_id=user_id, chat_id=chat_id,
                text=f"[{word} to: {asked.question}]", urgency=advice.urgency,
                reason=advice.triage.reason if advice.triage else None, day=None,
                at=_now(services).isoformat(), pressed=True))
        return as_replies(html.escape(advice.answer, quote=False))
    if kind == "ci":
        spool.append(SpooledEvent("press", update_id, user_id, chat_id, first_name, data,
                                  _now(services).isoformat()))
        return [conversation.notice("offline.answer_noted"), *conversation.say(
            "offline.answer_kept")]
    return None


def photo_offline(services: Offline, update_id: int, user_id: int, chat_id: int,
                  first_name: str, file_id: str, caption: str | None,
                  language_hint: str | None = None) -> list[Reply] | None:
    """A photo without the database: a caption is answered like a text (its report keeps
    the photo); otherwise the photo is kept for the report it belongs to."""
    spool: Spool | None = services.ops.spool
    if spool is None:
        return None
    if caption and caption.strip():
        replies, kept = _answered_offline(services, update_id, user_id, chat_id, caption,
                                          language_hint, photo=file_id)
        if kept is not None and kept.answered is None:  # the photo went with the report
            return replies
        # else kept as a photo too: the caption raises no report unless a /report waited
    else:
        replies = []
    marker = describing_marker(spool, user_id, _now(services))  # it joins those words
    spool.append(SpooledEvent("photo", update_id, user_id, chat_id, first_name, file_id,
                              _now(services).isoformat(),
                              describing=marker.update_id if marker is not None else None))
    return replies + services.patient.conversation.say("offline.photo_kept")


def edit_offline(services: Offline, update_id: int, user_id: int, chat_id: int,
                 first_name: str, message_id: int, text: str,
                 language_hint: str | None = None) -> list[Reply] | None:
    """An edited text without the database: a red flag in it gets its advice now; the edit
    is kept and, on replay, updates the report its message raised (or raises one), as it
    would have online."""
    spool: Spool | None = services.ops.spool
    if spool is None:
        return None
    advice = services.patient.conversation.advisor.ask(text, None, language_hint)
    spool.append(SpooledEvent("edit", update_id, user_id, chat_id, first_name, text,
                              _now(services).isoformat(), message_id=message_id,
                              language=language_hint))
    return as_replies(html.escape(advice.answer, quote=False)) if advice.escalate else []


def command_offline(services: Offline, update_id: int, user_id: int, chat_id: int,
                    first_name: str, name: str, args: list[str]) -> list[Reply] | None:
    """A patient's command without the database. /report asks for the description (the
    spool remembers that the next text is the report); any other command is kept, run on
    replay and answered then. None when there is no spool."""
    spool: Spool | None = services.ops.spool
    if spool is None:
        return None
    at = _now(services).isoformat()
    if name == "report":
        spool.append(SpooledEvent("describe", update_id, user_id, chat_id, first_name, "", at))
        return list(services.patient.conversation.say("offline.report_ask"))
    spool.append(SpooledEvent("command", update_id, user_id, chat_id, first_name,
                              " ".join([name, *args]), at))
    return list(services.patient.conversation.say("offline.command_kept"))


def describing_offline(spool: Spool, user_id: int, now: dt.datetime) -> bool:
    """Is `user_id`'s next text the description of a /report typed during the outage (kept
    in the spool, so a restart does not forget it; for `DESCRIBE_WITHIN`)?"""
    return describing_marker(spool, user_id, now) is not None


def describing_marker(spool: Spool, user_id: int,
                      now: dt.datetime) -> SpooledEvent | None:
    """The "describe" entry of `user_id`'s offline /report still waiting for its words
    (`describing_offline`); None when there is none."""
    marker: SpooledEvent | None = None
    for item in spool.pending():
        if item.telegram_id != user_id:
            continue
        if isinstance(item, SpooledEvent) and item.entry == "describe":
            marker = item
        elif isinstance(item, SpooledReport) and marker is not None:
            marker = None  # described
    return marker if marker is not None and now <= marker.raised_at + DESCRIBE_WITHIN else None


def photos_after_descriptions(items: list[Spooled]) -> list[Spooled]:
    """Replay order: a photo sent between an offline /report and its description goes
    right after the description, so it joins that report (the words take such a photo
    themselves when both name their /report; this orders the entries kept before they did)."""
    ordered: list[Spooled] = []
    held: dict[int, list[Spooled]] = {}
    describing: set[int] = set()
    for item in items:
        user = item.telegram_id
        if isinstance(item, SpooledEvent) and item.entry == "describe":
            describing.add(user)
        elif isinstance(item, SpooledEvent) and item.entry == "photo" and user in describing:
            held.setdefault(user, []).append(item)
            continue
        elif isinstance(item, SpooledReport) and user in describing:
            describing.discard(user)
            ordered += [item, *held.pop(user, [])]
            continue
        ordered.append(item)
    for photos in held.values():  # no description yet: in their place at the end
        ordered += photos
    return ordered


class SpoolReplayer:
    """Stores what the spool holds whenever the database answers again."""

    def __init__(self, reports: Reports, checkins: CheckinEvents | None, alerts: AlertWaker,
                 spool: Spool, *, conversation: Conversation | None = None,
                 desk: PatientReports | None = None, deliver: Deliver | None = None,
                 every: float = 2.0) -> None:
        self.reports = reports
        self.checkins = checkins
        self.alerts = alerts
        self.spool = spool
        self.conversation = conversation
        self.desk = desk
        self.deliver = deliver
        self.every = every  # seconds between attempts (AFTERCARE_SPOOL_REPLAY_SECONDS)
        self.passes = Passes()  # attempts made by the loop: a test waits for the next
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _store(self, item: Spooled) -> bool:
        """Store one entry; False keeps it for later in this replay or the next (a photo
        waiting for the words of its report). An ordinary text kept in case a /report
        waited for it is dropped when none did."""
        if isinstance(item, SpooledReport):
            if item.answered is not None and not await self._words_for_report(item):
                log.info("the text of update %d answered no waiting /report: dropped",
                         item.update_id)  # answered when written; nothing for the clinic
                return True
            stored = await self.reports.create(
                item.telegram_id, ReportKind(item.kind), item.text, urgency=item.urgency,
                day=item.day, reason=item.reason, now=item.raised_at,
                source_update_id=item.update_id)
            if self.checkins is not None:
                await self.checkins.report_raised(stored)
            await self._photos_of(stored, item)
            await self._answered(stored, item)
        elif item.entry == "photo":
            return await self._place(item)
        elif self.conversation is not None:
            await self._event(self.conversation, item)
        return True

    async def _event(self, conversation: Conversation, item: SpooledEvent) -> None:
        user, chat, name = item.telegram_id, item.chat_id, item.first_name
        if item.entry == "press":
            replies = await conversation.callback(user, chat, name, item.data)
            await self._to_staff(replies, chat)
        elif item.entry == "edit":
            replies = await conversation.edited(user, chat, name, item.data,
                                                language_code=item.language,
                                                message_id=item.message_id)
            await self._to_staff(replies, chat)
        elif item.entry == "command":
            command, *args = item.data.split()
            if command == "start":
                replies = await conversation.start(user, chat, name, args[0] if args else None)
            else:
                replies = await conversation.command(user, chat, name, command, args)
            await self._to_patient(replies, chat)  # not answered yet: the answer goes now
        elif item.entry == "describe" and not self._described(item):  # words come online
            if conversation.report is not None:  # (or are kept: `_answered` knows this one)
                await conversation.report.command(user, offline=item.update_id)
            else:
                await conversation.command(user, chat, name, "report")

    async def _answered(self, report: ReportInfo, words: SpooledReport) -> None:
        """Words stored now that answered the patient's /report waiting for them (one sent
        online before them, or an offline one this replay ran online before they were
        kept): that /report moves on as if they had come online, and the patient is told
        what they would have been told then (not the advice: they had it at once)."""
        flow = self.conversation.report if self.conversation is not None else None
        if flow is None or words.pressed:
            return
        replies = await flow.kept_words(words.telegram_id, report, words.raised_at,
                                        words.describes)
        await self._to_patient(replies, words.chat_id)

    async def _words_for_report(self, text: SpooledReport) -> bool:
        """Is this ordinary text, answered offline, the words the patient's /report waited
        for (online, in the database) when they wrote it? A cancel word is not: it cancels
        that /report, as online, and the patient is told so."""
        flow = self.conversation.report if self.conversation is not None else None
        if flow is None:
            return False
        if is_cancel(text.text):
            replies = await flow.kept_cancel(text.telegram_id, text.raised_at)
            await self._to_patient(replies, text.chat_id)
            return False
        return await flow.waits_for(text.telegram_id, text.raised_at, None)

    def _described(self, marker: SpooledEvent) -> bool:
        """Did the description of this offline /report come offline too (it is kept)? An
        ordinary text kept in case a /report online waited for it is not one: it was kept
        only when this one no longer waited (its time was up)."""
        return any(isinstance(other, SpooledReport) and other.telegram_id == marker.telegram_id
                   and other.update_id > marker.update_id and other.answered is None
                   for other in self.spool.pending())

    async def _awaiting_words(self, photo: SpooledEvent) -> bool:
        """True while the patient's /report waits for its words (online now) and the photo
        is recent: it joins the report once described."""
        if self.conversation is None or self.desk is None:
            return False
        if self.conversation.clock() > photo.raised_at + DESCRIBE_WITHIN:
            return False
        active = await self.conversation.control.live(photo.telegram_id)
        return active is not None and active.flow is Flow.REPORT and active.step == "describe"

    async def _photos_of(self, report: ReportInfo, words: SpooledReport) -> None:
        """The photo the words came with, and those sent between their offline /report and
        them, join the report they raised (that report itself, whatever else the patient
        has open); those photos' entries are done with it."""
        waiting = [] if words.describes is None else [
            other for other in self.spool.pending()
            if isinstance(other, SpooledEvent) and other.entry == "photo"
            and other.telegram_id == words.telegram_id and other.describing == words.describes]
        for file_id in [words.photo] if words.photo is not None else []:
            await self._photo_to(report, words.telegram_id, words.chat_id, file_id)
        for photo in waiting:
            await self._photo_to(report, photo.telegram_id, photo.chat_id, photo.data)
        self.spool.remove(waiting)

    async def _photo_to(self, report: ReportInfo, user_id: int, chat_id: int,
                        file_id: str) -> None:
        """Add a kept photo to `report` (not twice)."""
        if self.desk is None or file_id[:255] in await self.desk.store.photos(report.id):
            return
        placed = await self.desk.photo_for_report(report.id, user_id, file_id)
        await self._to_staff(placed.replies or [], chat_id)

    async def _place(self, photo: SpooledEvent) -> bool:
        """A photo kept on its own: added to the report it belongs to. False keeps it while
        that report may still come: the words of its offline /report are in the spool (they
        take it), its /report waits for words online, or a later entry of the patient is
        still to be stored. A photo no report takes is logged, never dropped silently."""
        if photo.describing is not None and self._words_pending(photo):
            return False
        if await self._awaiting_words(photo):
            return False
        if self.desk is not None:
            latest = await self.desk.store.latest_open(photo.telegram_id)
            if latest is not None and photo.data[:255] in await self.desk.store.photos(latest.id):
                return True  # added already (a replay repeated)
            placed = await self.desk.place_photo(photo.telegram_id, photo.chat_id,
                                                 photo.first_name, photo.data)
            await self._to_staff(placed.replies or [], photo.chat_id)
            if placed.report_id is not None:
                return True
        if self._later_pending(photo):
            return False  # what comes after it may raise its report: tried again after that
        log.warning("the photo of update %d joins no report (none open): not added to one",
                    photo.update_id)
        return True

    def _words_pending(self, photo: SpooledEvent) -> bool:
        """Are the words of the offline /report this photo was sent during still kept?"""
        return any(isinstance(other, SpooledReport) and other.telegram_id == photo.telegram_id
                   and other.describes == photo.describing for other in self.spool.pending())

    def _later_pending(self, photo: SpooledEvent) -> bool:
        """Does the spool still keep something the patient sent after this photo?"""
        return any(other.telegram_id == photo.telegram_id and other.update_id > photo.update_id
                   for other in self.spool.pending())

    async def _to_staff(self, replies: list[Reply], patient_chat: int) -> None:
        """Send what a replay has for staff (the patient was answered when they wrote)."""
        if self.deliver is None:
            return
        for reply in replies:
            if not reply.notice and reply.to_chat is not None and reply.to_chat != patient_chat:
                await self.deliver(reply, patient_chat)

    async def _to_patient(self, replies: list[Reply], patient_chat: int) -> None:
        """Send all a replay produced (a kept command: the patient has no answer yet)."""
        if self.deliver is None:
            return
        for reply in replies:
            if not reply.notice:
                await self.deliver(reply, patient_chat)

    async def replay(self) -> int:
        """One attempt; the number of entries stored (0 when the database is still away)."""
        if not len(self.spool):
            return 0
        try:
            stored = await self.spool.replay(self._store, photos_after_descriptions)
        except DATABASE_DOWN as exc:
            log.warning("spooled entries not stored yet (%s)", type(exc).__name__)
            return 0
        if stored:
            self.alerts.wake()
        return stored

    async def run(self) -> None:
        """Replay every `every` seconds until stopped (each attempt counted in `passes`)."""
        while not self._stop.is_set():
            with self.passes.one():
                try:
                    await self.replay()
                except Exception:  # never let the replayer die: the entries wait in the file
                    log.exception("spool replay failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every)

    def launch(self) -> None:
        """Start the replay loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="spool-replay")

    async def stop(self) -> None:
        """Stop the loop (a replay in progress finishes)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def build_replayer(settings: Settings, spool: Spool, reports: Reports,
                   checkins: CheckinEvents | None, alerts: AlertWaker, *,
                   conversation: Conversation | None = None,
                   desk: PatientReports | None = None,
                   deliver: Deliver | None = None) -> SpoolReplayer:
    """The replayer of this process's spool (built by bot/compose.py: the file of
    ``Settings.report_spool()``, or its twin in memory)."""
    if len(spool):
        log.warning("%d entr%s from a database outage wait in %s", len(spool),
                    "y" if len(spool) == 1 else "ies", spool.location)
    return SpoolReplayer(reports, checkins, alerts, spool, conversation=conversation,
                         desk=desk, deliver=deliver, every=settings.spool_replay_seconds)


__all__ = ["DATABASE_DOWN", "SpoolReplayer", "answer_offline", "build_replayer",
           "command_offline", "describing_offline", "edit_offline", "photo_offline",
           "photos_after_descriptions", "press_offline", "utcnow"]
