"""python-telegram-bot handlers: translate an Update into a `Conversation` call, send the replies.

No wording or decisions live here. What each handler covers:

* private chats: /start (with deep-link payload), other /commands, text, button presses,
  media (photos, stickers, voice, video, documents, locations, ...), edited messages (re-triaged
  only: see `Conversation.edited`), my_chat_member (block/unblock);
* group chats: the staff chat accepts staff commands and ignores everything else; any other
  group gets one "private chats only" line.

Replies are sent with HTML parse mode; a 403 on a send to a patient marks them inactive
(never retried). A "typing…" action runs while a text message is being answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from telegram import (
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.core.conversation import ONE_SHOT_CALLBACKS, STAFF_COMMANDS, Conversation
from bot.core.replies import Buttons, Reply
from bot.telegram.context import AppContext
from bot.telegram.delivery import deliver
from bot.telegram.handling import may_answer, not_handled
from bot.telegram.spooling import (
    DATABASE_DOWN,
    answer_offline,
    command_offline,
    edit_offline,
    press_offline,
)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def conversation_of(context: AppContext) -> Conversation:
    """The application's `Conversation` (typed ``bot_data``: bot/telegram/context.py)."""
    return context.bot_data.patient.conversation


def keyboard(buttons: Buttons) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a reply's button rows."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in buttons])


async def send_replies(context: AppContext, chat_id: int,
                       replies: Sequence[Reply], user_id: int | None = None) -> None:
    """Send chat replies in order; stop writing to a patient who blocked the bot. Nothing is
    sent for an update whose polling leader has lost its lease since (`may_answer`)."""
    if replies and not await may_answer():
        log.warning("not answering an update here: this replica lost the polling lease while "
                    "handling it; the next leader answers it")
        return
    patient_blocked = False
    for reply in replies:
        if reply.notice:
            continue
        target = reply.to_chat if reply.to_chat is not None else chat_id
        if patient_blocked and target == chat_id:
            continue
        try:
            sent = await deliver(context.bot, target, reply)
            if reply.card_for is not None:
                await context.bot_data.desk.cards.card_sent(reply, target, sent.message_id)
        except Forbidden:
            if target != chat_id:
                log.warning("cannot write to the staff chat %s (forbidden)", target)
                continue
            patient_blocked = True
            await conversation_of(context).blocked(user_id=user_id, chat_id=chat_id)
            log.info("a patient blocked the bot; marked inactive")
        except BadRequest as exc:
            log.error("Telegram refused a reply to chat %s: %s", target, exc.message)


TYPING_DELAY = 0.5  # seconds of work before "typing…" is worth showing
TYPING_REFRESH = 4.5  # Telegram shows the action for about 5 seconds


@contextlib.asynccontextmanager
async def typing_while_slow(context: AppContext,
                            chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" while the reply is being worked out, if that takes noticeable time.

    Telegram advises the action only when a reply will take a while; a reply that is ready
    at once needs none, and skipping it halves the requests per message.
    """
    async def _typing() -> None:
        await asyncio.sleep(TYPING_DELAY)
        while True:
            try:
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as exc:
                log.debug("typing action failed: %s", exc)
                return
            await asyncio.sleep(TYPING_REFRESH)

    task = asyncio.get_running_loop().create_task(_typing())
    try:
        yield
    finally:
        task.cancel()


def _sender(update: Update) -> tuple[int, int, str]:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    return user.id, chat.id, user.first_name or ""


# --- private chats ----------------------------------------------------------------------
async def on_start(update: Update, context: AppContext) -> None:
    """/start, optionally with an invite code from a t.me deep link."""
    user_id, chat_id, first_name = _sender(update)
    payload = context.args[0] if context.args else None
    try:
        replies = await conversation_of(context).start(user_id, chat_id, first_name, payload)
    except DATABASE_DOWN as exc:  # kept, run once the database is back
        offline = command_offline(context.bot_data, update.update_id, user_id, chat_id,
                                  first_name, "start", [payload] if payload else [])
        if offline is None:
            raise
        log.error("database unavailable (%s): /start of update %d kept", type(exc).__name__,
                  update.update_id)
        replies = offline
    await send_replies(context, chat_id, replies, user_id)


async def on_command(update: Update, context: AppContext) -> None:
    """Any other /command (unknown ones get the command list)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name, args = parse_command(message.text, context.bot.username)
    if name is None:
        return
    user_id, chat_id, first_name = _sender(update)
    try:
        replies = await conversation_of(context).command(user_id, chat_id, first_name, name,
                                                         args)
    except DATABASE_DOWN as exc:  # /report asks, others are kept (bot/telegram/spooling.py)
        offline = command_offline(context.bot_data, update.update_id, user_id, chat_id,
                                  first_name, name, args)
        if offline is None:
            raise
        log.error("database unavailable (%s): /%s of update %d answered without it",
                  type(exc).__name__, name, update.update_id)
        replies = offline
    await send_replies(context, chat_id, replies, user_id)


def parse_command(text: str, bot_username: str | None) -> tuple[str | None, list[str]]:
    """("mydata", [args]) from "/mydata@bot a b"; None when addressed to another bot."""
    head, *args = text.split()
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None, []
    return name.lower(), args


def _language_code(update: Update) -> str | None:
    """The sender's Telegram interface language: a hint for reading their message, no more."""
    user = update.effective_user
    return user.language_code if user is not None else None


async def on_text(update: Update, context: AppContext) -> None:
    """Free text: triage, then the knowledge base."""
    message = update.effective_message
    assert message is not None and message.text is not None
    user_id, chat_id, first_name = _sender(update)
    try:
        async with typing_while_slow(context, chat_id):
            replies = await conversation_of(context).message(
                user_id, chat_id, first_name, message.text,
                language_code=_language_code(update), message_id=message.message_id)
    except DATABASE_DOWN as exc:  # advice first, storage second (bot/telegram/spooling.py)
        log.error("database unavailable (%s): answering update %d without it",
                  type(exc).__name__, update.update_id)
        replies = answer_offline(context.bot_data, update.update_id, user_id, chat_id,
                                 message.text, _language_code(update))
    await send_replies(context, chat_id, replies, user_id)


async def on_edited(update: Update, context: AppContext) -> None:
    """An edited text: only red flags in the new text get a reply."""
    message = update.edited_message
    if message is None or not message.text or message.text.startswith("/"):
        return
    user_id, chat_id, first_name = _sender(update)
    try:
        replies = await conversation_of(context).edited(
            user_id, chat_id, first_name, message.text, language_code=_language_code(update),
            message_id=message.message_id)
    except DATABASE_DOWN as exc:  # re-triaged now, matched to its report on replay
        offline = edit_offline(context.bot_data, update.update_id, user_id, chat_id,
                               first_name, message.message_id, message.text,
                               _language_code(update))
        if offline is None:
            raise
        log.error("database unavailable (%s): edit of update %d kept", type(exc).__name__,
                  update.update_id)
        replies = offline
    await send_replies(context, chat_id, replies, user_id)


def media_kind(message: Message) -> str:
    """What kind of non-text message this is (keys of messages.yaml's "media")."""
    if message.photo:
        return "photo"
    if message.voice or message.audio:
        return "voice"
    if message.video or message.video_note or message.animation:
        return "video"
    if message.sticker:
        return "sticker"
    if message.document:
        return "document"
    if message.location or message.venue:
        return "location"
    return "other"


async def on_media(update: Update, context: AppContext) -> None:
    """Anything that is not text; a caption is still read (and triaged)."""
    message = update.effective_message
    assert message is not None
    user_id, chat_id, first_name = _sender(update)
    place = message.location or (message.venue.location if message.venue else None)
    if place is not None:  # a shared location sets the time zone
        replies = await conversation_of(context).location(user_id, chat_id, first_name,
                                                          place.latitude, place.longitude)
        await send_replies(context, chat_id, replies, user_id)
        return
    try:
        replies = await conversation_of(context).media(user_id, chat_id, first_name,
                                                       media_kind(message), message.caption)
    except DATABASE_DOWN as exc:  # a caption is read like a text (bot/telegram/spooling.py)
        if not message.caption:
            raise
        log.error("database unavailable (%s): caption of update %d answered without it",
                  type(exc).__name__, update.update_id)
        replies = answer_offline(context.bot_data, update.update_id, user_id, chat_id,
                                 message.caption, _language_code(update))
        replies += conversation_of(context).say(f"media.{media_kind(message)}")
    await send_replies(context, chat_id, replies, user_id)


async def on_callback(update: Update, context: AppContext) -> None:
    """A pressed inline button: always answered, keyboards of one-shot questions removed."""
    query = update.callback_query
    assert query is not None
    user = query.from_user
    chat_id = query.message.chat.id if query.message else user.id
    notice: str | None = None
    replies: list[Reply] = []
    try:
        try:
            replies = await conversation_of(context).callback(user.id, chat_id,
                                                              user.first_name, query.data or "")
        except DATABASE_DOWN as exc:  # rule-out and check-in answers still count
            offline = press_offline(context.bot_data, update.update_id, user.id, chat_id,
                                    user.first_name, query.data or "")
            if offline is None:
                raise
            log.error("database unavailable (%s): button of update %d answered without it",
                      type(exc).__name__, update.update_id)
            replies = offline
        notice = next((r.text[:200] for r in replies if r.notice), None)
    finally:
        await _answer(query, notice)
    if (query.data or "").partition(":")[0] in ONE_SHOT_CALLBACKS:
        await _remove_keyboard(query)
    await send_replies(context, chat_id, replies, user.id)


async def _answer(query: CallbackQuery, notice: str | None) -> None:
    try:
        await query.answer(notice)
    except BadRequest as exc:  # e.g. "query is too old"
        log.info("could not answer a callback query: %s", exc.message)


async def _remove_keyboard(query: CallbackQuery) -> None:
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.debug("keyboard not removed: %s", exc.message)


async def on_my_chat_member(update: Update, context: AppContext) -> None:
    """The patient blocked (kicked) or unblocked the bot in their private chat."""
    change = update.my_chat_member
    assert change is not None
    if change.chat.type != ChatType.PRIVATE:
        log.info("bot membership changed in chat %s: %s", change.chat.id,
                 change.new_chat_member.status)
        return
    status = change.new_chat_member.status
    conversation = conversation_of(context)
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await conversation.blocked(user_id=change.from_user.id)
    elif status == ChatMember.MEMBER:
        await conversation.unblocked(change.from_user.id)


# --- group chats --------------------------------------------------------------------------
async def on_group(update: Update, context: AppContext) -> None:
    """Staff chat: staff commands only. Other groups: one "private chats only" line."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    conversation = conversation_of(context)
    if chat.id == conversation.settings.staff_chat_id:
        await _staff_chat(update, context, message)
        return
    await send_replies(context, chat.id, conversation.group_message(chat.id))


async def _staff_chat(update: Update, context: AppContext,
                      message: Message) -> None:
    if not message.text or not message.text.startswith("/"):
        return
    name, args = parse_command(message.text, context.bot.username)
    if name not in STAFF_COMMANDS:
        return
    user_id, chat_id, first_name = _sender(update)
    replies = await conversation_of(context).command(user_id, chat_id, first_name, name, args)
    await send_replies(context, chat_id, replies)


# --- errors -------------------------------------------------------------------------------
async def on_error(update: object, context: AppContext) -> None:
    """Log any handler failure; a 403 marks the patient inactive. Never re-raises. A
    database outage the handler could not work around leaves the update unconfirmed in
    webhook mode (bot/telegram/webhook.py answers 503; Telegram delivers it again)."""
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_chat:
        chat = update.effective_chat
        if chat.type == ChatType.PRIVATE:
            await conversation_of(context).blocked(chat_id=chat.id)
            return
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, DATABASE_DOWN):  # neither handled nor spooled: not to be confirmed
        not_handled()
        log.error("update %s not handled: database unavailable (%s)", update_id,
                  type(error).__name__)
        return
    log.error("error while handling update %s", update_id, exc_info=error)


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach every handler, in priority order, and the error handler."""
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE
    app.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & new, on_group))
    app.add_handler(CommandHandler("start", on_start, filters=private & new))
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, on_edited))
    app.add_handler(MessageHandler(private & new & filters.COMMAND, on_command))
    app.add_handler(MessageHandler(private & new & filters.TEXT, on_text))
    app.add_handler(MessageHandler(private & new, on_media))
    app.add_error_handler(on_error)
