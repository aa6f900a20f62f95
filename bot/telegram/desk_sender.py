"""The bot's side of the web desk's outbox: send what the desk wrote, exactly once.

A JobQueue job (every `SEND_EVERY` seconds, on every replica) claims pending rows of
``desk_outbox`` (storage/desk_outbox.py: a conditional UPDATE per row, so one replica wins
each), sends each with `deliver` as the staff handlers do, records staff-chat cards for
threading, and marks the row sent. A patient who blocked the bot is marked inactive and the
row fails at once; Telegram refusing the message fails it with the reason; anything else is
tried again later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core.desk import StaffDesk
from bot.core.outbox import from_payload
from bot.core.replies import Reply
from bot.telegram.delivery import deliver
from storage.desk_outbox import MAX_ATTEMPTS, DeskOutboxStore

log = logging.getLogger(__name__)
SEND_EVERY = 1.0


Blocked = Callable[..., Awaitable[None]]  # `Conversation.blocked(chat_id=...)`


async def send_pending(bot: Any, desk: StaffDesk, blocked: Blocked,
                       outbox: DeskOutboxStore) -> int:
    """Send every claimable row once; the number sent. A patient who blocked the bot is
    reported through `blocked` (marked inactive)."""
    sent = 0
    for item in await outbox.claim(desk.now()):
        reply = from_payload(item.chat_id, item.payload)
        try:
            message = await deliver(bot, item.chat_id, reply)
        except Forbidden as exc:
            if item.chat_id != desk.staff_chat:
                await blocked(chat_id=item.chat_id)
            await outbox.failed(item.id, f"forbidden: {exc.message}", desk.now(), permanent=True)
            await _relay_failed(bot, desk, reply, desk.plain("undelivered_blocked"))
            continue
        except BadRequest as exc:
            log.error("Telegram refused desk outbox item %d: %s", item.id, exc.message)
            await outbox.failed(item.id, exc.message, desk.now(), permanent=True)
            await _relay_failed(bot, desk, reply,
                                desk.plain("undelivered_refused", error=exc.message))
            continue
        except TelegramError as exc:
            log.warning("desk outbox item %d not sent yet: %s", item.id, exc)
            await outbox.failed(item.id, str(exc), desk.now())
            if item.attempts >= MAX_ATTEMPTS:  # that was the last try
                await _relay_failed(bot, desk, reply, desk.plain(
                    "undelivered_error", error=type(exc).__name__))
            continue
        if reply.card_for is not None:
            await desk.card_sent(reply, item.chat_id, message.message_id)
        await outbox.sent(item.id, desk.now())
        if reply.relay is not None:  # a staff answer arrived: audited, staff told
            await _to_staff(bot, desk, await desk.relay_done(reply.relay))
        sent += 1
    return sent


async def _relay_failed(bot: Any, desk: StaffDesk, reply: Reply, reason: str) -> None:
    """Tell staff a staff answer written on the web desk did not reach the patient."""
    if reply.relay is not None:
        await _to_staff(bot, desk, await desk.relay_failed(reply.relay, reason))


async def _to_staff(bot: Any, desk: StaffDesk, replies: list[Reply]) -> None:
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
            await desk.card_sent(reply, reply.to_chat, message.message_id)


def attach_desk_outbox(app: Any, desk: StaffDesk, blocked: Blocked,
                       outbox: DeskOutboxStore) -> None:
    """Run `send_pending` every `SEND_EVERY` seconds on the application's JobQueue."""
    if app.job_queue is None:
        log.warning("no JobQueue: messages written on the web desk are not sent")
        return

    async def job(context: Any) -> None:
        await send_pending(context.bot, desk, blocked, outbox)

    app.job_queue.run_repeating(job, interval=SEND_EVERY, first=1, name="desk-outbox",
                                job_kwargs={"max_instances": 1, "coalesce": True})
