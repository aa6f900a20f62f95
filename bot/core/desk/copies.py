"""Where a report's cards are: its newest card in the staff chat (for threading), the card a
staff message replies to, and the edits owed to every on-call copy when the report changes."""

from __future__ import annotations

import asyncio

from bot.core.desk.kit import DeskKit
from bot.core.ports import CardOutbox, DeskReports
from storage.reports import CardInfo

CARD_LOOKUP_TRIES = 10  # a reply to a message the bot has only just posted ...
CARD_LOOKUP_WAIT = 0.1  # ... is looked up again this often (seconds)


class CardCopies:
    """Looks cards up and owes the edits of a report's copies."""

    def __init__(self, kit: DeskKit, store: DeskReports, outbox: CardOutbox) -> None:
        self.kit = kit
        self.store = store
        self.outbox = outbox  # what the staff chat is owed (storage.alerts `AlertSql`)

    async def group_card(self, report_id: int) -> int | None:
        """The message id of the report's newest card in the staff chat (for threading)."""
        if self.kit.staff_chat is None:
            return None
        card = await self.store.latest_card(report_id, chat_id=self.kit.staff_chat)
        return card.message_id if card else None

    async def sync(self, report_id: int) -> None:
        """The report was taken, resolved or reopened: owe an edit of each on-call copy of
        its card, so every copy shows who has it."""
        if await self.outbox.owe_copy_edits(report_id, self.kit.staff_chat, self.kit.now()):
            self.kit.wake()

    async def replied_to(self, chat_id: int, reply_to: int | None,
                         replied_to_bot: bool) -> CardInfo | None:
        """The card (or threaded message) a staff message replies to. A message the bot has
        just posted may not be registered yet (its id is stored once Telegram answers the
        send), so a reply to one of the bot's messages is looked up again for a moment."""
        if reply_to is None:
            return None
        for _ in range(CARD_LOOKUP_TRIES):
            card = await self.store.card(chat_id, reply_to)
            if card is not None or not replied_to_bot:
                return card
            await asyncio.sleep(CARD_LOOKUP_WAIT)
        return None
