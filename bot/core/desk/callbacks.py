"""The data a card's buttons carry ("st:take:12:7"): it names what the button was for, it
never authorises anything (the desk looks the card up server-side)."""

from __future__ import annotations

from storage.ids import parse_callback

PREFIX = "st"
ACTIONS = ("take", "reply", "resolve", "pause")


def callback_data(action: str, report_id: int, patient_id: int) -> str:
    """"st:take:12:7": report 12 of patient 7 (64 bytes at most; it names what the button
    was for, it does not authorise anything)."""
    return f"{PREFIX}:{action}:{report_id}:{patient_id}"


def card_press(data: str) -> tuple[str, int, int | None] | None:
    """("take", 12, 7) from "st:take:12:7" (patient None on cards posted before patients
    were named: "st:take:12"); None when malformed (storage.ids `parse_callback`)."""
    parsed = parse_callback(data, PREFIX, counts=(2, 1), actions=ACTIONS)
    if parsed is None or not all(parsed.numbers):
        return None
    report_id, *patient = parsed.numbers
    return parsed.action, report_id, patient[0] if patient else None
