"""What the core says back: `Reply` (a chat message or a button notice) and its buttons.

Replies are Telegram HTML with every user or knowledge-base text escaped; `as_replies`
splits a long text under Telegram's 4,096-character limit (buttons on the last part).
Both the patient flows (bot/core/flows/) and the staff desk (bot/core/desk/) return these;
bot/telegram/delivery.py and the terminal demo turn them into sends or prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.formatting import split_html

Button = tuple[str, str]  # (label, callback_data)
Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """One thing to say: a chat message (to the user, or to `to_chat`) or a button notice.

    `notice` replies are the short text shown when a button is pressed (answerCallbackQuery),
    not chat messages. Staff-side extras (bot/core/desk/): `photo` / `document` send a Telegram
    file id with `text` as caption, `reply_to` threads under a message of `to_chat`,
    `card_for` asks the sender to record the sent message as a card of that report, and
    `relay` marks a staff answer to a patient: once it is delivered the sender calls
    `Relays.relay_done` (audit, "Sent" for staff), if it fails `Relays.relay_failed`;
    `to_patient` marks a staff-side message to a report's patient (`to_chat` is their chat),
    as opposed to the staff chat or a staff member's private chat.
    """

    text: str
    buttons: Buttons = ()
    to_chat: int | None = None
    notice: bool = False
    photo: str | None = None
    document: str | None = None
    reply_to: int | None = None
    card_for: int | None = None
    card_kind: str = "card"
    relay: Relay | None = None
    to_patient: bool = False


@dataclass(frozen=True)
class Relay:
    """A staff answer on its way to a patient (the last part of it, when it is sent in
    parts): audited as "replied" and confirmed to staff only once it has been delivered.
    `split`: a photo or document whose caption would have been too long went with its text
    as a separate message; `reply_to`: the staff message to thread the confirmation under;
    `chat`: where that message is when it is not the staff chat (an on-call staff member's
    private chat)."""

    report_id: int
    actor: int
    note: str
    split: bool = False
    reply_to: int | None = None
    chat: int | None = None


def as_replies(text: str, buttons: Buttons = ()) -> list[Reply]:
    """Already-safe HTML as replies, split under Telegram's limit (buttons on the last part)."""
    parts = split_html(text) or [""]
    return [Reply(part, buttons if i == len(parts) - 1 else ())
            for i, part in enumerate(parts)]
