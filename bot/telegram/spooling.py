"""Advice first, storage second: answering while the database is down, storing afterwards.

When a handler's database read or write fails, the patient is still answered at once, from
what needs no database, and what must reach the clinic goes to the local spool
(storage/spool.py, fsynced) before the update counts as handled:

* `answer_offline`: a text or a caption. The advisor (pure) decides; a red flag's report is
  spooled (with the photo it came with). After an offline /report, the next text is the
  report whatever triage says.
* `press_offline`: a button press. A rule-out "Yes"/"No" gets the advisor's answer at once
  (a "Yes" that escalates is spooled as a report); a check-in answer is spooled as it is and
  recorded on replay.
* `photo_offline`: a photo; kept, and added on replay to the report it belongs to.
* `command_offline`: /report asks for the description (kept in this process's memory).

Anything else a handler could not do without the database is left unconfirmed (a webhook
answers 503 and Telegram delivers it again).

`SpoolReplayer` stores the spool's entries once the database answers again (idempotent by
update id), which owes reports' cards in the alert outbox, wakes the alert sender, and sends
the staff chat what a replayed press or photo produces. The patient was answered when they
wrote, so nothing is sent to them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.desk import StaffDesk
from bot.core.ports import AlertWaker, CheckinEvents
from bot.core.replies import Reply, as_replies
from storage import ReportKind
from storage.clock import utcnow
from storage.repo import Repository
from storage.spool import ReportSpool, Spooled, SpooledEvent, SpooledReport

log = logging.getLogger(__name__)

DATABASE_DOWN: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)
REPLAY_EVERY = 2.0  # seconds between attempts to store spooled entries
DESCRIBE_WITHIN = dt.timedelta(minutes=30)  # an offline /report waits this long for words
Deliver = Callable[[Reply], Awaitable[None]]


def _now(services: Any) -> dt.datetime:
    now: dt.datetime = services.conversation.clock()
    return now


def answer_offline(services: Any, update_id: int, user_id: int, chat_id: int, text: str,
                   language_hint: str | None = None, photo: str | None = None) -> list[Reply]:
    """The advice for `text` without the database (recovery day unknown); a red flag's
    report (or, after an offline /report, the description) is spooled durably before this
    returns."""
    conversation = services.conversation
    spool: ReportSpool | None = services.spool
    replayer: SpoolReplayer | None = services.spool_replayer
    advice = conversation.advisor.ask(text, None, language_hint)
    describing = replayer is not None and replayer.described(user_id, _now(services))
    if spool is None or not (advice.escalate or describing):
        return as_replies(html.escape(advice.answer, quote=False))
    kind = ReportKind.TRIAGE if advice.escalate else ReportKind.PATIENT
    spool.append(SpooledReport(
        update_id=update_id, telegram_id=user_id, chat_id=chat_id, text=text,
        urgency=advice.urgency, reason=advice.triage.reason if advice.triage else None,
        day=None, at=_now(services).isoformat(), kind=kind.value, photo=photo))
    replies = as_replies(html.escape(advice.answer, quote=False)) if advice.escalate else []
    return (replies + conversation.say("offline.report_kept")) if describing else replies


def press_offline(services: Any, update_id: int, user_id: int, chat_id: int,
                  first_name: str, data: str) -> list[Reply] | None:
    """A button press without the database: a rule-out answer or a check-in answer (None
    for anything else: it needs the database)."""
    conversation = services.conversation
    spool: ReportSpool | None = services.spool
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
                at=_now(services).isoformat()))
        return as_replies(html.escape(advice.answer, quote=False))
    if kind == "ci":
        spool.append(SpooledEvent("press", update_id, user_id, chat_id, first_name, data,
                                  _now(services).isoformat()))
        return [conversation.notice("offline.answer_noted"), *conversation.say(
            "offline.answer_kept")]
    return None


def photo_offline(services: Any, update_id: int, user_id: int, chat_id: int,
                  first_name: str, file_id: str, caption: str | None,
                  language_hint: str | None = None) -> list[Reply] | None:
    """A photo without the database: a caption is answered like a text (its report keeps
    the photo); otherwise the photo is kept for the report it belongs to."""
    spool: ReportSpool | None = services.spool
    if spool is None:
        return None
    if caption and caption.strip():
        before = len(spool)
        replies = answer_offline(services, update_id, user_id, chat_id, caption,
                                 language_hint, photo=file_id)
        if len(spool) > before:  # the photo went with the report
            return replies
    else:
        replies = []
    spool.append(SpooledEvent("photo", update_id, user_id, chat_id, first_name, file_id,
                              _now(services).isoformat()))
    return replies + services.conversation.say("offline.photo_kept")


def command_offline(services: Any, user_id: int, name: str) -> list[Reply] | None:
    """/report without the database: ask for the description, which the next text gives
    (spooled as the report). None for other commands: they need the database."""
    replayer: SpoolReplayer | None = services.spool_replayer
    if name != "report" or replayer is None:
        return None
    replayer.describing[user_id] = _now(services) + DESCRIBE_WITHIN
    return list(services.conversation.say("offline.report_ask"))


class SpoolReplayer:
    """Stores what the spool holds whenever the database answers again. `describing` holds
    the patients who typed /report while the database was down (until when their next text
    is the report)."""

    def __init__(self, repo: Repository, checkins: CheckinEvents | None, alerts: AlertWaker,
                 spool: ReportSpool, *, conversation: Conversation | None = None,
                 desk: StaffDesk | None = None, deliver: Deliver | None = None) -> None:
        self.repo = repo
        self.checkins = checkins
        self.alerts = alerts
        self.spool = spool
        self.conversation = conversation
        self.desk = desk
        self.deliver = deliver
        self.describing: dict[int, dt.datetime] = {}
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def described(self, user_id: int, now: dt.datetime) -> bool:
        """True (once) when `user_id` typed /report offline and this text describes it."""
        until = self.describing.pop(user_id, None)
        return until is not None and now <= until

    async def _store(self, item: Spooled) -> None:
        if isinstance(item, SpooledReport):
            stored = await self.repo.reports.create(
                item.telegram_id, ReportKind(item.kind), item.text, urgency=item.urgency,
                day=item.day, reason=item.reason, now=item.raised_at,
                source_update_id=item.update_id)
            if self.checkins is not None:
                await self.checkins.report_raised(stored)
            if item.photo is not None:
                await self._photo(item.telegram_id, item.chat_id, "", item.photo)
        elif item.entry == "press" and self.conversation is not None:
            replies = await self.conversation.callback(item.telegram_id, item.chat_id,
                                                       item.first_name, item.data)
            await self._to_staff(replies, item.chat_id)
        elif item.entry == "photo":
            await self._photo(item.telegram_id, item.chat_id, item.first_name, item.data)

    async def _photo(self, user_id: int, chat_id: int, first_name: str, file_id: str) -> None:
        """Add a kept photo to the report it belongs to (not twice)."""
        if self.desk is None:
            return
        latest = await self.desk.store.latest_open(user_id)
        if latest is not None and file_id[:255] in await self.desk.store.photos(latest.id):
            return
        replies = await self.desk.patient_photo(user_id, chat_id, first_name, file_id)
        await self._to_staff(replies or [], chat_id)

    async def _to_staff(self, replies: list[Reply], patient_chat: int) -> None:
        """Send what a replay has for staff (the patient was answered when they wrote)."""
        if self.deliver is None:
            return
        for reply in replies:
            if not reply.notice and reply.to_chat is not None and reply.to_chat != patient_chat:
                await self.deliver(reply)

    async def replay(self) -> int:
        """One attempt; the number of entries stored (0 when the database is still away)."""
        if not len(self.spool):
            return 0
        try:
            stored = await self.spool.replay(self._store)
        except DATABASE_DOWN as exc:
            log.warning("spooled entries not stored yet (%s)", type(exc).__name__)
            return 0
        if stored:
            self.alerts.wake()
        return stored

    async def run(self) -> None:
        """Replay every `REPLAY_EVERY` seconds until stopped."""
        while not self._stop.is_set():
            try:
                await self.replay()
            except Exception:  # never let the replayer die: the entries wait in the file
                log.exception("spool replay failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), REPLAY_EVERY)

    def launch(self) -> None:
        """Start the replay loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="spool-replay")

    async def stop(self) -> None:
        """Stop the loop (a replay in progress finishes)."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def build_spool(settings: Settings, repo: Repository, checkins: CheckinEvents | None,
                alerts: AlertWaker, *, conversation: Conversation | None = None,
                desk: StaffDesk | None = None,
                deliver: Deliver | None = None) -> tuple[ReportSpool, SpoolReplayer]:
    """The spool of this process (``Settings.report_spool()``) and its replayer."""
    spool = ReportSpool(Path(settings.report_spool()))
    if len(spool):
        log.warning("%d entr%s from a database outage wait in %s", len(spool),
                    "y" if len(spool) == 1 else "ies", spool.path)
    return spool, SpoolReplayer(repo, checkins, alerts, spool, conversation=conversation,
                                desk=desk, deliver=deliver)


__all__ = ["DATABASE_DOWN", "SpoolReplayer", "answer_offline", "build_spool",
           "command_offline", "photo_offline", "press_offline", "utcnow"]
