"""`Reply`s through the desk outbox (storage/desk_outbox.py) and back.

The web desk and the Telegram staff handlers turn the replies of a staff action into
`OutgoingItem`s (`to_items`); the bot turns each claimed item back into the same `Reply`
(`from_payload`) and sends it (bot/telegram/desk_sender.py). Only plain values are stored (a
staff answer's `Relay` too: it is audited once the bot has delivered it). Besides the reply,
an item says where the action was taken (`origin`: "web" or "telegram"; the sender audits a
web message's delivery as before) and whether staff are to be told when a message to the
patient that is not an answer is given up (`tell`: a Telegram action without an answer, as
staff were told before the outbox; an answer's failure is told through `relay_failed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.conversation import Reply
from bot.core.replies import Relay
from storage.desk_outbox import OutgoingItem

_FIELDS = ("text", "photo", "document", "reply_to", "card_for", "card_kind", "to_patient")
WEB = "web"
TELEGRAM = "telegram"


def report_of(replies: Sequence[Reply]) -> int | None:
    """The report a staff action's replies are about (an answer's, else a card's), if any."""
    for reply in replies:
        if reply.relay is not None:
            return reply.relay.report_id
    return next((r.card_for for r in replies if r.card_for is not None), None)


def to_items(replies: Sequence[Reply], report_id: int | None,
             origin: str = WEB) -> list[OutgoingItem]:
    """One outbox item per reply that names its chat (notices and chat-less replies dropped)."""
    answering = any(r.relay is not None for r in replies)
    items = []
    for reply in replies:
        if reply.notice or reply.to_chat is None:
            continue
        payload: dict[str, Any] = {name: getattr(reply, name) for name in _FIELDS}
        payload["buttons"] = [[list(button) for button in row] for row in reply.buttons]
        payload["origin"] = origin
        if origin == TELEGRAM and reply.to_patient and not answering:
            payload["tell"] = True
        if reply.relay is not None:
            relay = reply.relay
            payload["relay"] = {"report_id": relay.report_id, "actor": relay.actor,
                                "note": relay.note, "split": relay.split,
                                "reply_to": relay.reply_to, "chat": relay.chat}
        items.append(OutgoingItem(reply.to_chat, payload, report_id))
    return items


def from_payload(chat_id: int, payload: dict[str, Any],
                 staff_chat: int | None = None) -> Reply:
    """The `Reply` an item was made from (rows written before `to_patient` was stored: a
    message to any chat but the staff chat was to a patient)."""
    buttons = tuple(tuple((str(label), str(data)) for label, data in row)
                    for row in payload.get("buttons") or ())
    relayed = payload.get("relay")
    relay = (Relay(int(relayed["report_id"]), int(relayed["actor"]), str(relayed["note"]),
                   bool(relayed.get("split")), relayed.get("reply_to"), relayed.get("chat"))
             if isinstance(relayed, dict) else None)
    to_patient = payload.get("to_patient")
    return Reply(str(payload.get("text") or ""), buttons, to_chat=chat_id,
                 photo=payload.get("photo"), document=payload.get("document"),
                 reply_to=payload.get("reply_to"), card_for=payload.get("card_for"),
                 card_kind=str(payload.get("card_kind") or "card"), relay=relay,
                 to_patient=bool(to_patient) if to_patient is not None
                 else chat_id != staff_chat)
