"""An `AlertSender` over python-telegram-bot: posts or edits one staff-chat message.

New cards and re-posts go out as Telegram HTML with their buttons (a re-post threaded under
the card); an edit replaces a message's text (or a photo's caption) and its buttons. Errors
are mapped like check-ins' (bot/telegram/sender.py `classify`): 429 -> `RetryAfter`, other
400s -> `PermanentError`, the rest (5xx, timeouts, a 403 because the bot was removed from
the staff group) -> retried by the alert sender.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram import error as tg
from telegram.constants import ParseMode

from bot.telegram.delivery import markup
from bot.telegram.sender import classify
from scheduler.alerts import OutgoingAlert

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramAlertSender:
    """Sends alerts through a `telegram.Bot`; `read_timeout` bounds each request's wait."""

    def __init__(self, bot: Bot, read_timeout: float | None = None) -> None:
        self.bot = bot
        self.read_timeout = read_timeout

    async def send(self, alert: OutgoingAlert) -> int:
        """Post or edit; the message id, or a scheduler.dispatcher `SendError`."""
        extra: dict[str, Any] = {"parse_mode": ParseMode.HTML,
                                 "reply_markup": markup(alert.buttons)}
        if self.read_timeout is not None:
            extra["read_timeout"] = self.read_timeout
        try:
            if alert.edit_message_id is not None:
                if alert.caption:
                    await self.bot.edit_message_caption(
                        chat_id=alert.chat_id, message_id=alert.edit_message_id,
                        caption=alert.text, **extra)
                else:
                    await self.bot.edit_message_text(
                        alert.text, chat_id=alert.chat_id, message_id=alert.edit_message_id,
                        link_preview_options=_NO_PREVIEW, **extra)
                return alert.edit_message_id
            if alert.reply_to is not None:
                extra["reply_parameters"] = ReplyParameters(alert.reply_to,
                                                            allow_sending_without_reply=True)
            sent = await self.bot.send_message(alert.chat_id, alert.text,
                                               link_preview_options=_NO_PREVIEW, **extra)
        except tg.TelegramError as exc:
            raise classify(exc) from exc
        return int(sent.message_id)
