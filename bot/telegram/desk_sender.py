"""The bot's side of the desk outbox: send what the staff desk wrote, exactly once.

The web desk's actions and staff actions in Telegram (bot/telegram/staff_handlers.py, which
also calls `send_pending` right after storing, so a reply typed in Telegram goes out at once)
are both sent from here.

A JobQueue job (every ``Settings.desk_outbox_seconds``, on every replica; each run counted in
``DeskJobs.outbox_passes``) claims pending rows of
``desk_outbox`` (storage/desk_outbox.py: a conditional UPDATE per row, so one replica wins
each), sends each with `deliver` as the staff handlers do, records staff-chat cards for
threading, and marks the row sent. Telegram errors are read like the alert outbox's
(bot/telegram/sender.py `classify`) and retried on the alert outbox's back-off
(scheduler/sending.py `backoff` with `Settings.alert_config`; a 429's own wait): a patient who
blocked the bot (or whose chat is gone) is marked inactive and the message is given up at
once, as is one Telegram refuses for good; anything else is tried again until it goes out
(for a day), the chat's later messages after it (a patient reads them in the order they were
written). One sender of a process at a time (``DeskJobs.sending``): the job and a staff
action's own send never split one action's messages, so staff read "taken" before the answer's
"Sent" or "Not delivered". A send Telegram has not answered within
``Settings.desk_read_timeout_seconds`` (default: the client's read timeout) counts as a
time-out.

What is audited on the report: a staff answer as ``replied`` once Telegram took it
(`Relays.relay_done`, which also tells staff "Sent"); the web desk's other messages to the
patient (taken, resolved, paused notices) as ``delivered``, in the same transaction as the
row (in Telegram staff see those go out, and the trail stays as it was); any message to the
patient given up as ``undelivered`` with the reason (and for a staff answer staff are told
why, `Relays.relay_failed`; for a notice from Telegram, "Not delivered: ..." as before).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import TelegramError

from bot.core.desk import DeskJobs
from bot.core.outbox import TELEGRAM, WEB, from_payload
from bot.core.replies import Reply
from bot.telegram.context import AnyApplication, AppContext
from bot.telegram.delivery import deliver
from bot.telegram.sender import classify
from scheduler.alerts import AlertConfig
from scheduler.dispatcher import ChatUnreachable, PermanentError, RetryAfter
from scheduler.sending import backoff
from storage.clock import utcnow
from storage.desk_outbox import Audit, DeskOutboxStore

log = logging.getLogger(__name__)
DELIVERED = Audit("web desk message reached the patient")
UNDELIVERED = {WEB: Audit("web desk message not delivered to the patient"),
               TELEGRAM: Audit("staff message not delivered to the patient")}


Blocked = Callable[..., Awaitable[None]]  # `Conversation.blocked(chat_id=...)`


async def send_pending(bot: Bot, desk: DeskJobs, blocked: Blocked,
                       outbox: DeskOutboxStore, config: AlertConfig | None = None,
                       read_timeout: float | None = None,
                       one_at_a_time: asyncio.Lock | None = None) -> int:
    """Send every claimable row once; the number sent. A patient who blocked the bot is
    reported through `blocked` (marked inactive); `read_timeout` bounds each send's wait.
    `one_at_a_time` (``DeskJobs.sending``, shared by the desk-outbox job and a staff action's
    own send): held while claiming and sending, so the rows one action wrote are claimed and
    sent by one sender, in the order written. Two senders of one process could otherwise
    split them (one claims the staff chat's "taken" notice, the other the patient's answer)
    and staff could be told "Not delivered" or "Sent" before "taken"."""
    if one_at_a_time is None:
        return await _send_pending(bot, desk, blocked, outbox, config, read_timeout)
    async with one_at_a_time:
        return await _send_pending(bot, desk, blocked, outbox, config, read_timeout)


async def _send_pending(bot: Bot, desk: DeskJobs, blocked: Blocked,
                        outbox: DeskOutboxStore, config: AlertConfig | None,
                        read_timeout: float | None) -> int:
    config = config or AlertConfig()
    sent = 0
    stalled: dict[int, dt.datetime] = {}  # chat -> when its earlier message is tried again
    for item in await outbox.claim(desk.kit.now(), lease=config.lease):
        reply = from_payload(item.chat_id, item.payload, desk.kit.staff_chat)
        to_patient = reply.to_patient
        origin = TELEGRAM if item.payload.get("origin") == TELEGRAM else WEB
        if item.chat_id in stalled:  # keep the order: after the earlier one
            await outbox.failed(item, "waits for an earlier message to this chat", desk.kit.now(),
                                retry_at=stalled[item.chat_id])
            continue
        try:
            message = await deliver(bot, item.chat_id, reply, read_timeout)
        except TelegramError as exc:
            error = classify(exc)
            audited = UNDELIVERED[origin] if to_patient else None
            tell = bool(item.payload.get("tell"))
            if isinstance(error, ChatUnreachable | PermanentError):
                if isinstance(error, ChatUnreachable) and to_patient:
                    await blocked(chat_id=item.chat_id)
                log.error("desk outbox item %d given up: %s", item.id, error)
                if await outbox.failed(item, str(error), desk.kit.now(), audited=audited):
                    await _given_up(bot, desk, reply, tell, desk.kit.plain(
                        "undelivered_blocked" if isinstance(error, ChatUnreachable)
                        else "undelivered_refused", error=str(error)))
                continue
            wait = (dt.timedelta(seconds=error.retry_after) if isinstance(error, RetryAfter)
                    else backoff(item.attempts, config.backoff_base, config.backoff_cap))
            stalled[item.chat_id] = desk.kit.now() + wait
            log.warning("desk outbox item %d not sent yet (%s); again in %s", item.id,
                        error, wait)
            if await outbox.failed(item, str(error), desk.kit.now(),
                                   retry_at=stalled[item.chat_id], audited=audited):
                await _given_up(bot, desk, reply, tell, desk.kit.plain(  # tried for a day
                    "undelivered_error", error=type(exc).__name__))
            continue
        if reply.card_for is not None:
            await desk.cards.card_sent(reply, item.chat_id, message.message_id)
        audited = (DELIVERED if to_patient and reply.relay is None and origin == WEB
                   else None)
        if not await outbox.sent(item, desk.kit.now(), audited):
            log.warning("desk outbox item %d was sent but its claim was lost: possible "
                        "duplicate", item.id)
            continue
        if reply.relay is not None:  # a staff answer arrived: audited, staff told
            await _to_staff(bot, desk, await desk.relays.relay_done(reply.relay))
        sent += 1
    return sent


async def _given_up(bot: Bot, desk: DeskJobs, reply: Reply, tell: bool, reason: str) -> None:
    """A message to a patient was given up: staff are told when it was an answer (which one,
    and why), or when the item asks for it (a notice from a staff action in Telegram)."""
    if reply.relay is not None:
        await _to_staff(bot, desk, await desk.relays.relay_failed(reply.relay, reason))
    elif tell and desk.kit.staff_chat is not None:
        await _to_staff(bot, desk, [desk.kit.to_staff("not_delivered", reason=reason)])


async def _to_staff(bot: Bot, desk: DeskJobs, replies: list[Reply]) -> None:
    """Send the desk's staff-chat messages (recorded for erasure when they name a patient)."""
    for reply in replies:
        if reply.to_chat is None:
            continue
        try:
            message = await deliver(bot, reply.to_chat, reply)
        except TelegramError as exc:
            log.warning("could not tell the staff chat: %s", exc)
            continue
        if reply.card_for is not None:
            await desk.cards.card_sent(reply, reply.to_chat, message.message_id)


def attach_desk_outbox(app: AnyApplication, desk: DeskJobs, blocked: Blocked,
                       outbox: DeskOutboxStore, config: AlertConfig | None = None, *,
                       every: float = 1.0, read_timeout: float | None = None) -> None:
    """Run `send_pending` every `every` seconds on the application's JobQueue, each run
    counted in ``desk.outbox_passes`` (which can also ask for a run at once)."""
    if app.job_queue is None:
        log.warning("no JobQueue: messages written on the web desk are not sent")
        return

    async def job(context: AppContext) -> None:
        with desk.outbox_passes.one():
            await send_pending(context.bot, desk, blocked, outbox, config, read_timeout,
                               desk.sending)

    repeating = app.job_queue.run_repeating(
        job, interval=every, first=min(1.0, every), name="desk-outbox",
        job_kwargs={"max_instances": 1, "coalesce": True})
    # `outbox_passes.next(now=True)` (a test's "everything is sent" check) runs the job at
    # once: its next run moved to now on the JobQueue's own clock (the system's), the
    # interval going on from there
    desk.outbox_passes.wake_with(lambda: repeating.job.modify(next_run_time=utcnow()))
