"""Send one `Reply` through python-telegram-bot: text, photo or document, threaded or not.

Shared by the patient handlers (bot/telegram/handlers.py) and the staff handlers
(bot/telegram/staff_handlers.py). Everything goes out as Telegram HTML without link previews; a
`reply_to` threads the message under another one of the same chat (sent anyway if that
message was deleted).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode

from bot.core.replies import Buttons, Reply

log = logging.getLogger(__name__)

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a reply's button rows."""
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in buttons])


async def deliver(bot: Bot, chat_id: int, reply: Reply,
                  read_timeout: float | None = None) -> Message:
    """Send `reply` to `chat_id`; returns the sent message (its id threads later replies).
    `read_timeout` bounds the wait for Telegram's answer (default: the client's)."""
    extra: dict[str, Any] = {"parse_mode": ParseMode.HTML, "reply_markup": markup(reply.buttons)}
    if read_timeout is not None:
        extra["read_timeout"] = read_timeout
    if reply.reply_to is not None:
        extra["reply_parameters"] = ReplyParameters(reply.reply_to,
                                                    allow_sending_without_reply=True)
    if reply.photo is not None:
        return await bot.send_photo(chat_id, reply.photo, caption=reply.text or None, **extra)
    if reply.document is not None:
        return await bot.send_document(chat_id, reply.document, caption=reply.text or None,
                                       **extra)
    return await bot.send_message(chat_id, reply.text, link_preview_options=_NO_PREVIEW,
                                  **extra)
