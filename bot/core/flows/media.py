"""Input that is not a question: stickers, voice notes, photos (a caption is read as text),
messages in group chats, and the user blocking or unblocking the bot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.flows.base import FlowKit
from bot.core.replies import Reply
from storage import InactiveReason

TextHandler = Callable[[int, int, str, str], Awaitable[list[Reply]]]


class MediaFlow:
    """Media, group chats, blocks and unblocks."""

    def __init__(self, kit: FlowKit, on_text: TextHandler) -> None:
        self.kit = kit
        self.on_text = on_text  # a caption goes where a typed message would
        self._warned_groups: set[int] = set()

    async def media(self, user_id: int, chat_id: int, first_name: str, kind: str,
                    caption: str | None = None) -> list[Reply]:
        """A sticker, voice note, photo, ...: a short reply; a caption is read as text."""
        replies: list[Reply] = []
        if caption and caption.strip():
            replies += await self.on_text(user_id, chat_id, first_name, caption)
        key = kind if kind in self.kit.messages.raw("media") else "other"
        return replies + self.kit.say(f"media.{key}")

    def group_message(self, chat_id: int) -> list[Reply]:
        """A message in a group chat: one "private chats only" line per group, then silence."""
        if chat_id in self._warned_groups:
            return []
        self._warned_groups.add(chat_id)
        return self.kit.say("group_only")

    async def blocked(self, *, user_id: int | None = None, chat_id: int | None = None) -> None:
        """The user blocked the bot (403 on a send, or a my_chat_member "kicked")."""
        if chat_id is not None and chat_id == self.kit.settings.staff_chat_id:
            return
        if user_id is not None:
            await self.kit.patients.mark_inactive(InactiveReason.BLOCKED, telegram_id=user_id)
        elif chat_id is not None:
            await self.kit.patients.mark_inactive(InactiveReason.BLOCKED, chat_id=chat_id)

    async def unblocked(self, user_id: int) -> None:
        """The user unblocked the bot (my_chat_member back to "member")."""
        await self.kit.patients.reactivate(user_id)
