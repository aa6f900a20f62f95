"""In-memory world of the fake Telegram: chats, messages, files, the update queue.

Nothing here speaks HTTP; the server and the update helpers both work on a
:class:`TelegramState` so that, e.g., a callback query can point at the message the bot
really sent and ``editMessageText`` can refuse to edit a message that does not exist.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

BOT_ID = 7000000001
BOT_USERNAME = "aftercare_test_bot"
DEFAULT_ALLOWED_UPDATES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost",
})


def now() -> int:
    """Unix time as Telegram sends it."""
    return int(time.time())


def chat_type_for(chat_id: int) -> str:
    """Guess the chat type Telegram would report for a numeric id."""
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


@dataclass
class StoredFile:
    """A file known to the fake (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes = field(repr=False)

    def as_file(self) -> dict[str, Any]:
        """The ``File`` object returned by getFile."""
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content), "file_path": self.file_path}


class TelegramState:
    """Chats, messages, files and pending updates of one fake bot."""

    def __init__(self, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.bot_user: dict[str, Any] = {
            "id": bot_id, "is_bot": True, "first_name": "Aftercare Test", "username": username,
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.pending: list[dict[str, Any]] = []
        self.new_update = asyncio.Event()
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.commands: list[dict[str, Any]] = []
        self._update_ids = itertools.count(500_000_001)
        self._message_ids: dict[int, int] = {}
        self._file_counter = itertools.count(1)

    # ids -----------------------------------------------------------------
    def next_update_id(self) -> int:
        """Strictly increasing update ids, like Telegram."""
        return next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids increase per chat, shared by user and bot messages."""
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    # chats ---------------------------------------------------------------
    def remember_chat(self, chat: dict[str, Any]) -> None:
        """Keep the most detailed chat object seen for an id."""
        self.chats[chat["id"]] = {**self.chats.get(chat["id"], {}), **chat}

    def chat(self, chat_id: int) -> dict[str, Any]:
        """The chat object for ``chat_id`` (a private chat if never seen)."""
        known = self.chats.get(chat_id)
        if known is not None:
            return dict(known)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type_for(chat_id)}
        if chat["type"] == "private":
            chat["first_name"] = "Patient"
        else:
            chat["title"] = "Test group"
        return chat

    # messages -----------------------------------------------------------
    def store_message(self, message: dict[str, Any]) -> None:
        """Remember a message so it can be edited, deleted or referenced."""
        self.messages[(message["chat"]["id"], message["message_id"])] = message

    def get_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A deep copy of a stored message, or None."""
        found = self.messages.get((chat_id, message_id))
        return copy.deepcopy(found) if found is not None else None

    def bot_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        """Create and store a message sent by the bot."""
        message = {"message_id": self.next_message_id(chat_id), "from": dict(self.bot_user),
                   "chat": self.chat(chat_id), "date": now(), **content}
        self.store_message(message)
        return copy.deepcopy(message)

    # files ---------------------------------------------------------------
    def add_file(self, content: bytes, folder: str, extension: str) -> StoredFile:
        """Register file content and return its metadata."""
        number = next(self._file_counter)
        digest = hashlib.sha1(content + str(number).encode()).hexdigest()
        stored = StoredFile(
            file_id=f"AgACAgIAAxk{digest[:24]}", file_unique_id=f"AQAD{digest[24:36]}",
            file_path=f"{folder}/file_{number}.{extension}", content=content)
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        """Look a file up by the path used in download URLs."""
        return next((f for f in self.files.values() if f.file_path == file_path), None)

    # updates -------------------------------------------------------------
    def queue_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates and wake long-pollers."""
        self.pending.append(update)
        self.new_update.set()

    def confirm(self, offset: int | None) -> None:
        """Forget updates below ``offset`` (negative: keep only the last -offset)."""
        if offset is None:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Pending updates allowed by ``allowed_updates`` (others are dropped)."""
        self.pending = [u for u in self.pending if update_kind(u) in self.allowed_updates]
        return copy.deepcopy(self.pending[:limit])


def update_kind(update: dict[str, Any]) -> str:
    """The update's payload key, e.g. "message" or "callback_query"."""
    return next((k for k in update if k != "update_id"), "")
