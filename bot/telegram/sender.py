"""A `Sender` over python-telegram-bot: sends a check-in with its answer buttons.

Maps Telegram's errors onto the dispatcher's: 429 -> `RetryAfter`; 403 blocked/deactivated,
403 "bot can't initiate conversation with a user" (nobody pressed Start in that private
chat) and 400 chat not found -> `ChatUnreachable`; other 400s -> `PermanentError`; timeouts,
network errors and 5xx -> `TransientError`. An unrecognised 403 is treated as transient
(Telegram has been seen to answer "can't send messages" for a few minutes).
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram import error as tg

from scheduler.dispatcher import (
    ChatUnreachable,
    OutgoingCheckin,
    PermanentError,
    RetryAfter,
    TransientError,
)
from storage.models import InactiveReason

log = logging.getLogger(__name__)


def keyboard(message: OutgoingCheckin) -> InlineKeyboardMarkup | None:
    """One button per row, in plan order."""
    if not message.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]
                                 for label, data in message.buttons])


def retry_after_seconds(exc: tg.RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds. PTB 22.2+ holds it as a timedelta and, opted in
    by ``PTB_TIMEDELTA`` (bot/telegram/__init__.py), returns one; before the opt-in, or in
    an older PTB, it is an int. Both read the same here, with no deprecation warning."""
    value: dt.timedelta | int | float = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def classify(exc: tg.TelegramError) -> Exception:
    """The dispatcher error for a Telegram error."""
    text = str(exc).lower()
    if isinstance(exc, tg.RetryAfter):
        return RetryAfter(retry_after_seconds(exc), str(exc))
    if isinstance(exc, tg.Forbidden):
        if "blocked" in text:
            return ChatUnreachable(InactiveReason.BLOCKED, str(exc))
        if "deactivated" in text:
            return ChatUnreachable(InactiveReason.DEACTIVATED, str(exc))
        if "initiate conversation" in text:  # never opened a private chat with the bot
            return ChatUnreachable(InactiveReason.CHAT_NOT_FOUND, str(exc))
        return TransientError(str(exc))
    if isinstance(exc, tg.BadRequest):  # before NetworkError: BadRequest subclasses it
        if "chat not found" in text or "user not found" in text:
            return ChatUnreachable(InactiveReason.CHAT_NOT_FOUND, str(exc))
        return PermanentError(str(exc))
    if isinstance(exc, tg.TimedOut):
        return TransientError(f"timed out ({type(exc.__cause__).__name__}): {exc}")
    return TransientError(f"{type(exc).__name__}: {exc}")


class TelegramSender:
    """Sends check-ins through a `telegram.Bot` (the Application's bot, or a standalone one)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: OutgoingCheckin) -> int:
        """Send; return the message id or raise a dispatcher `SendError`."""
        try:
            sent = await self.bot.send_message(message.chat_id, message.text,
                                               reply_markup=keyboard(message))
        except tg.TelegramError as exc:
            raise classify(exc) from exc
        return int(sent.message_id)
