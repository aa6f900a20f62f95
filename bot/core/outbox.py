"""`Reply`s through the web desk's outbox (storage/desk_outbox.py) and back.

The web desk turns the replies of a staff action into `OutgoingItem`s (`to_items`); the bot
turns each claimed item back into the same `Reply` (`from_payload`) and sends it as the
Telegram handlers would (bot/telegram/desk_sender.py). Only plain values are stored (a staff
answer's `Relay` too: it is audited once the bot has delivered it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.conversation import Reply
from bot.core.replies import Relay
from storage.desk_outbox import OutgoingItem

_FIELDS = ("text", "photo", "document", "reply_to", "card_for", "card_kind")


def to_items(replies: Sequence[Reply], report_id: int | None) -> list[OutgoingItem]:
    """One outbox item per reply that names its chat (notices and chat-less replies dropped)."""
    items = []
    for reply in replies:
        if reply.notice or reply.to_chat is None:
            continue
        payload: dict[str, Any] = {name: getattr(reply, name) for name in _FIELDS}
        payload["buttons"] = [[list(button) for button in row] for row in reply.buttons]
        if reply.relay is not None:
            relay = reply.relay
            payload["relay"] = {"report_id": relay.report_id, "actor": relay.actor,
                                "note": relay.note, "split": relay.split,
                                "reply_to": relay.reply_to}
        items.append(OutgoingItem(reply.to_chat, payload, report_id))
    return items


def from_payload(chat_id: int, payload: dict[str, Any]) -> Reply:
    """The `Reply` an item was made from."""
    buttons = tuple(tuple((str(label), str(data)) for label, data in row)
                    for row in payload.get("buttons") or ())
    relayed = payload.get("relay")
    relay = (Relay(int(relayed["report_id"]), int(relayed["actor"]), str(relayed["note"]),
                   bool(relayed.get("split")), relayed.get("reply_to"))
             if isinstance(relayed, dict) else None)
    return Reply(str(payload.get("text") or ""), buttons, to_chat=chat_id,
                 photo=payload.get("photo"), document=payload.get("document"),
                 reply_to=payload.get("reply_to"), card_for=payload.get("card_for"),
                 card_kind=str(payload.get("card_kind") or "card"), relay=relay)
