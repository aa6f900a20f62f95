"""python-telegram-bot wiring of the staff side: card buttons, staff-chat messages, photos.

`register_staff_handlers(app, settings)` registers the handlers of the staff desk
(bot/core/desk/, built by bot/compose.py) in group -1 (before the patient handlers of
bot/telegram/handlers.py, which still get every update the desk does not take) and a JobQueue job
that re-posts emergency/urgent cards nobody took in time (every replica runs it; each re-post is
claimed in the database, so exactly one replica posts it), and one that deletes expired
conversation states (storage/chat_state.py) so their texts do not outlive their time.

* ``st:*`` button presses: answered with the desk's notice (refusals included);
* staff chat: /queue, /report, /patient, /gaps, /resolve, /reopen, /cancel, replies to cards
  and the message after a Reply / Resolve press; anything else falls through;
* private chats: photos that belong to a report (file id kept); a staff member's desk
  commands, reply to an on-call copy of a card (or the message after a Reply / Resolve
  press there); others fall through.

What staff do here is sent the way the web desk's actions are: through the desk outbox
(`send_staff_replies`), sent at once and again by the desk-outbox job until delivered; an
update handled again after a crash (Telegram is told only once it was handled) finds its
messages already stored and is not acted on twice.

No decisions live here: who may act and who receives what is decided by the desk.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Message, Update, User
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.compose import Services
from bot.core.desk import DeskJobs
from bot.core.outbox import TELEGRAM, report_of, to_items
from bot.core.replies import Reply
from bot.telegram.context import AnyApplication, AppContext
from bot.telegram.desk_sender import attach_desk_outbox, send_pending
from bot.telegram.handlers import parse_command, send_replies
from bot.telegram.spooling import DATABASE_DOWN, photo_offline

log = logging.getLogger(__name__)

STAFF_GROUP = -1  # handler group: runs before bot/telegram/handlers.py's group 0
PRIVATE_STAFF_GROUP = -2  # staff in their private chat: before the patient photo handler
ESCALATION_CHECK_SECONDS = 30
STATE_PURGE_SECONDS = 600


def desk_of(context: AppContext) -> DeskJobs:
    """The application's staff desk jobs (typed ``bot_data``: bot/telegram/context.py)."""
    return context.bot_data.desk


def source_of(update: Update) -> str:
    """What a staff action's messages are tagged with in the desk outbox: its update."""
    return f"update:{update.update_id}"


async def send_staff_replies(context: AppContext, replies: Sequence[Reply],
                             source: str | None = None) -> None:
    """A staff action's messages (each names its chat) go through the desk outbox, as the web
    desk's do (storage/desk_outbox.py; one transaction, tagged with `source`, the update that
    caused them), and what is owed is sent at once (bot/telegram/desk_sender.py): in order
    per chat, retried on Telegram's 429, 5xx and time-outs, never twice. A staff answer to a
    patient (`Reply.relay`) is audited and confirmed to staff only once Telegram has taken
    it; staff are told when it did not arrive (a patient who blocked the bot is marked
    inactive)."""
    desk = context.bot_data.desk
    items = to_items(replies, report_of(replies), TELEGRAM)
    if items:
        await desk.outbox.put(items, desk.kit.now(), source)
        await send_owed(context)


async def send_owed(context: AppContext) -> None:
    """Send what the desk outbox owes now (the desk-outbox job does so every second too)."""
    services = context.bot_data
    await send_pending(context.bot, services.desk, services.patient.conversation.blocked,
                       services.desk.outbox, services.settings.alert_config(),
                       services.settings.desk_read_timeout_seconds, services.desk.sending)


async def handled_before(update: Update, context: AppContext) -> bool:
    """Was this update handled already (its messages stored) before a crash or restart?
    Then what it owes is sent, and it is not handled again (no second answer)."""
    if not await context.bot_data.desk.outbox.handled(source_of(update)):
        return False
    log.info("update %d was handled before a restart: sending what it owes",
             update.update_id)
    await send_owed(context)
    return True


async def on_staff_button(update: Update, context: AppContext) -> None:
    """A Take / Reply / Resolve / Pause press: the desk checks who, which card and state."""
    query = update.callback_query
    assert query is not None
    user = query.from_user
    message = query.message
    chat_id = message.chat.id if message is not None else None
    message_id = message.message_id if message is not None else None
    replies: list[Reply] = []
    try:
        if not await handled_before(update, context):
            presses = desk_of(context).presses
            replies = await presses.staff_callback(user.id, user.first_name, chat_id,
                                                   message_id, query.data or "")
    finally:
        notice = next((r.text for r in replies if r.notice), None)
        try:
            await query.answer(notice)
        except BadRequest as exc:
            log.info("could not answer a staff button press: %s", exc.message)
    await send_staff_replies(context, replies, source_of(update))
    raise ApplicationHandlerStop


async def on_staff_chat(update: Update, context: AppContext) -> None:
    """A message in the staff chat the desk may take: a desk command, a reply to a card, or
    the message after a Reply / Resolve press. Anything else goes on to bot/telegram/handlers.py."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    desk = desk_of(context)
    await _desk_turn(update, context, desk, message, user)


async def on_staff_private(update: Update, context: AppContext) -> None:
    """A staff member's message in their private chat with the bot (on call: the cards come
    there too): a desk command (/queue, /report N, /patient, /gaps, /resolve, /reopen), a
    reply to a card copy, or the message after a Reply / Resolve press there, goes to the
    desk; anything else goes on (staff may talk to the bot like a patient)."""
    message = update.effective_message
    user = update.effective_user
    desk = desk_of(context)
    if message is None or user is None or not desk.kit.settings.is_staff(user.id):
        return  # the staff list is read every time
    await _desk_turn(update, context, desk, message, user)


async def _desk_turn(update: Update, context: AppContext, desk: DeskJobs, message: Message,
                     user: User) -> None:
    """One staff message for the desk (staff chat or a staff member's private chat): a
    command, or words the desk may take; handled once per update, answered through the desk
    outbox, and no other handler sees it once the desk has taken it."""
    if await handled_before(update, context):
        raise ApplicationHandlerStop
    if message.text and message.text.startswith("/"):
        name, args = parse_command(message.text, context.bot.username)
        replies = await desk.commands.staff_command(user.id, user.first_name, message.chat.id,
                                                    message.message_id, name, args)
    else:
        replies = await _to_desk(desk, message, user, context)
    if replies is None:
        return
    await send_staff_replies(context, replies, source_of(update))
    raise ApplicationHandlerStop


async def _to_desk(desk: DeskJobs, message: Message, user: User,
                   context: AppContext) -> list[Reply] | None:
    """A staff member's (non-command) message, text or media, as the desk reads it."""
    return await desk.staff_chat.staff_message(
        user.id, user.first_name, message.chat.id, message.message_id,
        message.text or message.caption, _replied_id(message),
        photo=message.photo[-1].file_id if message.photo else None,
        document=message.document.file_id if message.document else None,
        replied_to_bot=_replied_to_bot(message, context.bot.id))


def _replied_id(message: Message) -> int | None:
    replied = message.reply_to_message
    return replied.message_id if replied is not None else None


def _replied_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


async def on_patient_photo(update: Update, context: AppContext) -> None:
    """A patient's photo: added to their report when it belongs to one (file id only)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.photo:
        return
    file_id = message.photo[-1].file_id
    try:
        replies = await desk_of(context).patients.patient_photo(user.id, message.chat.id,
                                                                 user.first_name, file_id,
                                                                 message.caption)
    except DATABASE_DOWN as exc:  # kept for the report it belongs to (bot/telegram/spooling.py)
        replies = photo_offline(context.bot_data, update.update_id, user.id, message.chat.id,
                                user.first_name, file_id, message.caption, user.language_code)
        if replies is None:
            raise
        log.error("database unavailable (%s): photo of update %d kept without it",
                  type(exc).__name__, update.update_id)
    if replies is None:
        return
    await send_replies(context, message.chat.id, replies, user.id)
    raise ApplicationHandlerStop


async def escalate(context: AppContext) -> None:
    """JobQueue: re-post emergency/urgent cards nobody took in time."""
    await send_staff_replies(context, await desk_of(context).escalation.escalations())


async def purge_states(context: AppContext) -> None:
    """JobQueue: delete expired conversation states (idempotent, any replica)."""
    services = context.bot_data
    await services.stores.chat_states.purge_expired(now=services.clock())


def register_staff_handlers(app: AnyApplication, services: Services) -> None:
    """Register the desk's handlers and its jobs (re-posting urgent cards, purging states,
    sending what the web desk wrote, following the clinic's KB additions)."""
    settings = services.settings
    app.add_handler(CallbackQueryHandler(on_staff_button, pattern=r"^st:"), group=STAFF_GROUP)
    new = filters.UpdateType.MESSAGE
    if settings.staff_chat_id is not None:
        app.add_handler(MessageHandler(filters.Chat(settings.staff_chat_id) & new,
                                       on_staff_chat), group=STAFF_GROUP)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & new, on_staff_private),
                    group=PRIVATE_STAFF_GROUP)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & new & filters.PHOTO,
                                   on_patient_photo), group=STAFF_GROUP)
    attach_desk_outbox(app, services.desk, services.patient.conversation.blocked,  # web, Telegram
                       services.desk.outbox, settings.alert_config(),
                       every=settings.desk_outbox_seconds,
                       read_timeout=settings.desk_read_timeout_seconds)
    from bot.telegram.kb_reload import attach_kb_reload

    attach_kb_reload(app, services.patient.knowledge)  # the web desk's KB additions
    if app.job_queue is None:
        log.warning("no JobQueue: unanswered urgent cards are not re-posted")
        return
    app.job_queue.run_repeating(purge_states, interval=STATE_PURGE_SECONDS, first=60,
                                name="chat-state-purge",
                                job_kwargs={"max_instances": 1, "coalesce": True})
    if settings.staff_chat_id is not None:
        app.job_queue.run_repeating(escalate, interval=ESCALATION_CHECK_SECONDS, first=5,
                                    name="staff-escalation",
                                    job_kwargs={"max_instances": 1, "coalesce": True})
