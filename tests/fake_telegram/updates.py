"""Builders for realistic incoming updates (what a patient does in the Telegram app).

:class:`UpdateHelpers` is mixed into the fake server: every helper builds the JSON Telegram
would send, stores the message (so the bot can reply to / edit it), pushes the update onto
the getUpdates queue and returns the update dict.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fake_telegram.formatting import utf16_len
from tests.fake_telegram.state import TelegramState, now

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def user_object(user_id: int, first_name: str = "Ana", language_code: str = "en",
                username: str | None = None) -> dict[str, Any]:
    """A Telegram ``User`` for a human."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                            "language_code": language_code}
    if username:
        user["username"] = username
    return user


def command_entities(text: str) -> list[dict[str, Any]]:
    """The ``bot_command`` entity Telegram adds for a leading /command."""
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


class UpdateHelpers:
    """Mixin: build and push updates. Needs ``self.state`` and ``self.push_update``."""

    state: TelegramState

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    # building blocks ------------------------------------------------------
    def _private_chat(self, user: dict[str, Any], chat_id: int | None) -> dict[str, Any]:
        chat = {"id": chat_id if chat_id is not None else user["id"], "type": "private",
                "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _user_message(self, user_id: int, content: dict[str, Any], *, first_name: str = "Ana",
                      chat_id: int | None = None, chat_type: str = "private",
                      language_code: str = "en", title: str = "Clinic group") -> dict[str, Any]:
        user = user_object(user_id, first_name, language_code)
        if chat_type == "private":
            chat = self._private_chat(user, chat_id)
        else:
            chat = {"id": chat_id if chat_id is not None else -1000000000000 - user_id,
                    "type": chat_type, "title": title}
        self.state.remember_chat(chat)
        message = {"message_id": self.state.next_message_id(chat["id"]), "from": user,
                   "chat": chat, "date": now(), **content}
        self.state.store_message(message)
        return message

    def _push_message(self, message: dict[str, Any], key: str = "message") -> dict[str, Any]:
        return self.push_update({"update_id": self.state.next_update_id(), key: message})

    def _file_meta(self, content: bytes, folder: str, extension: str) -> dict[str, Any]:
        stored = self.state.add_file(content, folder, extension)
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(content)}

    # public helpers --------------------------------------------------------
    def user_message(self, user_id: int, text: str, first_name: str = "Ana",
                     chat_id: int | None = None, chat_type: str = "private",
                     language_code: str = "en", reply_to_message_id: int | None = None,
                     ) -> dict[str, Any]:
        """A text message; a leading /command gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        message = self._user_message(user_id, content, first_name=first_name, chat_id=chat_id,
                                     chat_type=chat_type, language_code=language_code)
        if reply_to_message_id is not None:
            replied = self.state.get_message(message["chat"]["id"], reply_to_message_id)
            if replied is not None:
                message["reply_to_message"] = replied
        return self._push_message(message)

    def group_message(self, user_id: int, text: str, chat_id: int = -1001234567890,
                      chat_type: str = "supergroup", first_name: str = "Ana",
                      title: str = "Clinic group") -> dict[str, Any]:
        """A text message in a group/supergroup (negative chat id)."""
        content: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        message = self._user_message(user_id, content, first_name=first_name, chat_id=chat_id,
                                     chat_type=chat_type, title=title)
        return self._push_message(message)

    def user_sticker(self, user_id: int, emoji: str = "👍", first_name: str = "Ana",
                     chat_id: int | None = None) -> dict[str, Any]:
        """A sticker message."""
        sticker = {**self._file_meta(b"RIFF-webp-sticker", "stickers", "webp"),
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        message = self._user_message(user_id, {"sticker": sticker}, first_name=first_name,
                                     chat_id=chat_id)
        return self._push_message(message)

    def user_voice(self, user_id: int, duration: int = 4, first_name: str = "Ana",
                   chat_id: int | None = None, content: bytes = b"OggS-fake-voice",
                   ) -> dict[str, Any]:
        """A voice note."""
        voice = {**self._file_meta(content, "voice", "oga"), "duration": duration,
                 "mime_type": "audio/ogg"}
        message = self._user_message(user_id, {"voice": voice}, first_name=first_name,
                                     chat_id=chat_id)
        return self._push_message(message)

    def user_document(self, user_id: int, file_name: str = "report.pdf",
                      mime_type: str = "application/pdf", caption: str | None = None,
                      first_name: str = "Ana", chat_id: int | None = None,
                      content: bytes = b"%PDF-1.4 fake") -> dict[str, Any]:
        """A document (file) message, optionally captioned."""
        document = {**self._file_meta(content, "documents", file_name.rsplit(".", 1)[-1]),
                    "file_name": file_name, "mime_type": mime_type}
        body: dict[str, Any] = {"document": document}
        if caption:
            body["caption"] = caption
        message = self._user_message(user_id, body, first_name=first_name, chat_id=chat_id)
        return self._push_message(message)

    def user_photo(self, user_id: int, caption: str | None = None, first_name: str = "Ana",
                   chat_id: int | None = None, content: bytes = b"\xff\xd8\xff fake jpeg",
                   ) -> dict[str, Any]:
        """A photo message: three sizes like Telegram sends."""
        sizes = []
        for width, height in ((90, 67), (320, 240), (1280, 960)):
            sizes.append({**self._file_meta(content, "photos", "jpg"),
                          "width": width, "height": height})
        body: dict[str, Any] = {"photo": sizes}
        if caption:
            body["caption"] = caption
        message = self._user_message(user_id, body, first_name=first_name, chat_id=chat_id)
        return self._push_message(message)

    def user_location(self, user_id: int, latitude: float = 45.815, longitude: float = 15.982,
                      first_name: str = "Ana", chat_id: int | None = None) -> dict[str, Any]:
        """A shared location."""
        location = {"latitude": latitude, "longitude": longitude}
        message = self._user_message(user_id, {"location": location}, first_name=first_name,
                                     chat_id=chat_id)
        return self._push_message(message)

    def edited_message(self, user_id: int, message_id: int, text: str,
                       chat_id: int | None = None) -> dict[str, Any]:
        """The user edits an earlier text message."""
        target = chat_id if chat_id is not None else user_id
        original = self.state.get_message(target, message_id)
        if original is None:
            user = user_object(user_id)
            original = {"message_id": message_id, "from": user,
                        "chat": self._private_chat(user, chat_id), "date": now()}
        original.update({"text": text, "edit_date": now()})
        original.pop("entities", None)
        if command_entities(text):
            original["entities"] = command_entities(text)
        self.state.store_message(original)
        return self._push_message(original, key="edited_message")

    def callback_query(self, user_id: int, data: str, message_id: int,
                       chat_id: int | None = None, first_name: str = "Ana") -> dict[str, Any]:
        """The user taps an inline button on message ``message_id``."""
        user = user_object(user_id, first_name)
        target = chat_id if chat_id is not None else user_id
        message = self.state.get_message(target, message_id)
        if message is None:  # pretend the bot sent it, so edits of it work
            message = {"message_id": message_id, "from": dict(self.state.bot_user),
                       "chat": self.state.chat(target), "date": now(), "text": "..."}
            self.state.store_message(message)
        query = {"id": str(uuid.uuid4().int)[:19], "from": user, "message": message,
                 "chat_instance": str(-(abs(hash(target)) % 10**18)), "data": data}
        return self.push_update({"update_id": self.state.next_update_id(),
                                 "callback_query": query})

    def my_chat_member(self, user_id: int, new_status: str = "kicked",
                       old_status: str = "member", first_name: str = "Ana") -> dict[str, Any]:
        """The user blocks (``kicked``) or unblocks (``member``) the bot."""
        user = user_object(user_id, first_name)
        chat = self._private_chat(user, None)
        bot = dict(self.state.bot_user)
        new_member: dict[str, Any] = {"user": bot, "status": new_status}
        if new_status == "kicked":
            new_member["until_date"] = 0
        change = {"chat": chat, "from": user, "date": now(),
                  "old_chat_member": {"user": bot, "status": old_status},
                  "new_chat_member": new_member}
        return self.push_update({"update_id": self.state.next_update_id(),
                                 "my_chat_member": change})

    def build_update(self, kind: str, **kwargs: Any) -> dict[str, Any]:
        """Dispatch by name (used by the control API): kind="message" -> user_message."""
        builders = {
            "message": self.user_message, "text": self.user_message,
            "group_message": self.group_message, "sticker": self.user_sticker,
            "voice": self.user_voice, "document": self.user_document,
            "photo": self.user_photo, "location": self.user_location,
            "edited_message": self.edited_message, "callback_query": self.callback_query,
            "my_chat_member": self.my_chat_member,
        }
        if kind not in builders:
            raise ValueError(f"unknown update kind {kind!r}; known: {sorted(builders)}")
        result: dict[str, Any] = builders[kind](**kwargs)  # type: ignore[operator]
        return result
