"""Reading ids that people type or that arrive in callback data, within the columns' ranges.

``str.isdigit`` accepts "²" and other digits ``int()`` refuses, and an 11-digit report number
overflows PostgreSQL's 32-bit integer column: both used to raise before a refusal could be
audited. These functions return None for anything that is not a plain ASCII number in range.
"""

from __future__ import annotations

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
