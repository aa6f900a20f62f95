"""Reading ids that people type or that arrive in callback data, within the columns' ranges.

``str.isdigit`` accepts "²" and other digits ``int()`` refuses, and an 11-digit report number
overflows PostgreSQL's 32-bit integer column: both used to raise before a refusal could be
audited. These functions return None for anything that is not a plain ASCII number in range.

`parse_callback` is the one reader of button data with numbers in it ("ci:12:0" of a check-in,
"st:take:12:7" of a staff card): a stale, forged or truncated button gives None, never an error.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

INT32_MAX = 2**31 - 1  # report, session and check-in ids (INTEGER)
INT64_MAX = 2**63 - 1  # Telegram user and chat ids (BIGINT)


def row_id(text: str) -> int | None:
    """A positive id of one of our rows ("12", "#12"), or None."""
    value = text.strip().removeprefix("#")
    if not value or not (value.isascii() and value.isdecimal()) or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= INT32_MAX else None


def telegram_id(text: str) -> int | None:
    """A Telegram user or chat id ("123456", "-100123"), or None."""
    value = text.strip()
    digits = value.removeprefix("-")
    if not digits or not (digits.isascii() and digits.isdecimal()) or len(digits) > 19:
        return None
    number = int(value)
    return number if -INT64_MAX <= number <= INT64_MAX and number != 0 else None


@dataclass(frozen=True)
class Callback:
    """Button data read by `parse_callback`: its action word ("" when it has none) and numbers."""

    action: str
    numbers: tuple[int, ...]


def parse_callback(data: str, prefix: str, counts: Collection[int],
                   actions: Collection[str] | None = None) -> Callback | None:
    """"<prefix>[:<action>]:<n>[:<n>...]" read strictly, or None: the prefix, an action among
    `actions` when they are given, then as many numbers as one of `counts` allows, each plain
    ASCII digits within a row id's range (0 allowed: a choice index; callers refuse a 0 id)."""
    parts = data.split(":")
    if parts[0] != prefix:
        return None
    rest, action = parts[1:], ""
    if actions is not None:
        if not rest or rest[0] not in actions:
            return None
        action, rest = rest[0], rest[1:]
    if len(rest) not in counts:
        return None
    numbers = []
    for part in rest:
        if not (part.isascii() and part.isdecimal()) or len(part) > 10 or int(part) > INT32_MAX:
            return None
        numbers.append(int(part))
    return Callback(action, tuple(numbers))
