"""What each Bot API method returns in the fake, computed from :class:`TelegramState`.

Handlers receive already validated, decoded parameters and return the ``result`` value of
Telegram's ``{"ok": true, "result": ...}`` answer, or raise :class:`ApiError` for answers
Telegram gives to valid requests (message to edit not found, message is not modified,
webhook conflicts, invalid file_id, ...).  Methods without a handler get a generic answer
based on their documented return type.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fake_telegram.semantics import render
from tests.fake_telegram.spec import method_returns
from tests.fake_telegram.state import DEFAULT_ALLOWED_UPDATES, TelegramState, now

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a content and reply markup of the "
                "current message")


class ApiError(Exception):
    """An error answer for a request that passed validation."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description


def inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    """The reply_markup to echo in a Message (Telegram only echoes inline keyboards)."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return copy.deepcopy(markup)
    return None


class ApiHandlers:
    """Implementations of the Bot API methods the project uses."""

    def __init__(self, state: TelegramState, max_poll_wait: float = 1.0) -> None:
        self.state = state
        self.max_poll_wait = max_poll_wait
        self.poll_generation = 0  # bumped by each getUpdates; an older waiting one gets 409
        self.closing = False  # the server is stopping: a waiting getUpdates answers at once
        # called when a call changes state before it is answered (a getUpdates confirms the
        # updates before it and may be held a while): `FakeTelegram` wakes its waits then
        self.changed: Callable[[], None] = lambda: None
        self.poll_waits: list[float] = []  # how long each getUpdates might be held (seconds)
        self.table: dict[str, Handler] = {
            "getMe": self.get_me, "sendMessage": self.send_message,
            "sendPhoto": self.send_photo, "sendDocument": self.send_document,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message, "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook, "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info, "getChat": self.get_chat,
            "getFile": self.get_file, "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands, "deleteMyCommands": self.delete_my_commands,
            "getChatMember": self.get_chat_member,
        }

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Run the handler for ``method`` or produce a generic result."""
        handler = self.table.get(method)
        if handler is not None:
            return await handler(params)
        return self.generic_result(method, params)

    def generic_result(self, method: str, params: dict[str, Any]) -> Any:
        """A plausible answer for methods the fake does not model."""
        returns = method_returns(method)
        first = returns[0] if returns else "Boolean"
        if first == "Message" and isinstance(params.get("chat_id"), int):
            return self.state.bot_message(params["chat_id"])
        if first.startswith("Array of"):
            return []
        return True

    # identity / misc -------------------------------------------------------
    async def get_me(self, params: dict[str, Any]) -> Any:
        return dict(self.state.bot_user)

    async def get_chat(self, params: dict[str, Any]) -> Any:
        chat = self.state.chat(params["chat_id"])
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    async def get_chat_member(self, params: dict[str, Any]) -> Any:
        user = {"id": params["user_id"], "is_bot": False, "first_name": "Patient"}
        return {"status": "member", "user": user}

    async def get_file(self, params: dict[str, Any]) -> Any:
        stored = self.state.files.get(params["file_id"])
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return stored.as_file()

    async def set_my_commands(self, params: dict[str, Any]) -> Any:
        self.state.commands = list(params["commands"])
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> Any:
        return list(self.state.commands)

    async def delete_my_commands(self, params: dict[str, Any]) -> Any:
        self.state.commands = []
        return True

    # sending ---------------------------------------------------------------
    async def send_message(self, params: dict[str, Any]) -> Any:
        text, entities = render(params)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(params, content)

    async def send_photo(self, params: dict[str, Any]) -> Any:
        stored = self._stored_upload(params["photo"], "photos", "jpg")
        sizes = [{"file_id": stored["file_id"], "file_unique_id": stored["file_unique_id"],
                  "width": w, "height": h, "file_size": stored.get("file_size", 0)}
                 for w, h in ((90, 90), (320, 320), (800, 800))]
        return self._send(params, {"photo": sizes, **self._caption(params)})

    async def send_document(self, params: dict[str, Any]) -> Any:
        document = self._stored_upload(params["document"], "documents", "bin")
        return self._send(params, {"document": document, **self._caption(params)})

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        if "caption" not in params:
            return {}
        caption, entities = render(params, "caption")
        return {"caption": caption, **({"caption_entities": entities} if entities else {})}

    def _stored_upload(self, value: Any, folder: str, extension: str) -> dict[str, Any]:
        if isinstance(value, dict) and "upload" in value:
            filename = str(value["upload"] or f"file.{extension}")
            stored = self.state.add_file(b"\0" * int(value["size"]), folder,
                                         filename.rsplit(".", 1)[-1])
            meta = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.content), "file_name": filename}
            return meta
        known = self.state.files.get(str(value))
        unique = known.file_unique_id if known else f"AQAD{abs(hash(value)) % 10**12}"
        return {"file_id": str(value), "file_unique_id": unique}

    def _send(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        markup = inline_markup(params)
        if markup is not None:
            content["reply_markup"] = markup
        reply = params.get("reply_parameters")
        if reply:
            replied = self.state.get_message(params["chat_id"], reply["message_id"])
            if replied is None and not reply.get("allow_sending_without_reply"):
                raise ApiError(400, "Bad Request: message to be replied not found")
            if replied is not None:
                content["reply_to_message"] = replied
        return self.state.bot_message(params["chat_id"], **content)

    # editing -----------------------------------------------------------------
    def _target(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake")
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.state.get_message(params["chat_id"], params["message_id"])
        if message is None:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        if message["from"]["id"] != self.state.bot_user["id"] and action == "edit":
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _commit_edit(self, message: dict[str, Any], changed: dict[str, Any],
                     markup: dict[str, Any] | None) -> dict[str, Any]:
        keys = ("text", "entities", "caption", "reply_markup")
        before = {k: message.get(k) for k in keys}
        changed = {**changed, "reply_markup": markup}
        for key, value in changed.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        if before == {k: message.get(k) for k in keys}:
            raise ApiError(400, NOT_MODIFIED)
        message["edit_date"] = now()
        self.state.store_message(message)
        return copy.deepcopy(message)

    async def edit_message_text(self, params: dict[str, Any]) -> Any:
        message = self._target(params, "edit")
        text, entities = render(params)
        return self._commit_edit(message, {"text": text, "entities": entities or None},
                                 inline_markup(params))

    async def edit_message_caption(self, params: dict[str, Any]) -> Any:
        message = self._target(params, "edit")
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = render(params, "caption")
        return self._commit_edit(message, {"caption": caption or None,
                                           "caption_entities": entities or None},
                                 inline_markup(params))

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        message = self._target(params, "edit")
        return self._commit_edit(message, {}, inline_markup(params))

    async def delete_message(self, params: dict[str, Any]) -> Any:
        self._target(params, "delete")
        del self.state.messages[(params["chat_id"], params["message_id"])]
        return True

    # updates / webhooks --------------------------------------------------------
    async def get_updates(self, params: dict[str, Any]) -> Any:
        if self.state.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self.state.allowed_updates = (frozenset(allowed) if allowed
                                          else DEFAULT_ALLOWED_UPDATES)
        self.poll_generation += 1  # like Telegram: a new poll ends one still waiting with 409
        mine = self.poll_generation
        self.state.new_update.set()  # wake an older waiting poll so it sees it was replaced
        self.state.confirm(params.get("offset"))
        limit = max(1, min(100, int(params.get("limit", 100))))
        wait = min(float(params.get("timeout", 0)), self.max_poll_wait)
        self.poll_waits.append(wait)
        self.changed()  # a new poll, and the updates it confirmed
        deadline = time.monotonic() + wait
        while True:
            if mine != self.poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                    "sure that only one bot instance is running")
            updates = self.state.deliverable(limit)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or self.closing:
                return updates
            self.state.new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.new_update.wait(), remaining)

    def close(self) -> None:
        """The server is stopping: long polls waiting now (and any later) answer at once,
        so stopping never waits for a poll's timeout."""
        self.closing = True
        self.state.new_update.set()

    async def set_webhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook_url = str(params["url"])
        self.state.webhook_secret = params.get("secret_token")
        if params.get("drop_pending_updates"):
            self.state.pending.clear()
        return True

    async def delete_webhook(self, params: dict[str, Any]) -> Any:
        self.state.webhook_url = ""
        self.state.webhook_secret = None
        if params.get("drop_pending_updates"):
            self.state.pending.clear()
        return True

    async def get_webhook_info(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {"url": self.state.webhook_url,
                                "has_custom_certificate": False,
                                "pending_update_count": len(self.state.pending)}
        if self.state.webhook_url:
            info["max_connections"] = 40
        return info

