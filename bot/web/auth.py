"""Signing in to the web desk with Telegram, and the CSRF token of every form.

`check_login` verifies Telegram Login Widget data exactly as Telegram documents it
(core.telegram.org/widgets/login, "Checking authorization"): the data-check-string is every
received field except ``hash``, sorted by name, as ``key=value`` lines joined by a line feed;
the secret key is SHA-256 of the bot token; the data is genuine when ``hash`` is the
hexadecimal HMAC-SHA-256 of the data-check-string under that key. Data older than `MAX_AGE`
(``auth_date``) is refused, and so is a payload used before (storage/desk_logins.py).

`sign_login` produces such data (the demo's sign-in button and the tests use it; in
production only Telegram has the token's users sign).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

MAX_AGE = dt.timedelta(days=1)
CLOCK_SKEW = dt.timedelta(minutes=5)  # auth_date this far ahead of our clock still counts
CSRF_FIELD = "csrf"


class LoginRefused(Exception):
    """The login data is not acceptable; `reason` says why (shown on the sign-in page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TelegramLogin:
    """A verified sign-in."""

    telegram_id: int
    first_name: str
    username: str | None
    auth_date: dt.datetime
    hash: str


def data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but ``hash``, sorted by name, as ``key=value`` lines."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def _signature(fields: Mapping[str, str], token: str) -> str:
    secret = hashlib.sha256(token.encode()).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def check_login(fields: Mapping[str, str], token: str, now: dt.datetime,
                max_age: dt.timedelta = MAX_AGE) -> TelegramLogin:
    """The verified login, or `LoginRefused` with the reason."""
    given = fields.get("hash", "")
    if not given or "id" not in fields or "auth_date" not in fields:
        raise LoginRefused("incomplete sign-in data")
    if not hmac.compare_digest(_signature(fields, token), given.lower()):
        raise LoginRefused("the sign-in data is not signed by Telegram for this bot")
    try:
        telegram_id = int(fields["id"])
        auth_date = dt.datetime.fromtimestamp(int(fields["auth_date"]), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise LoginRefused("malformed sign-in data") from None
    if now - auth_date > max_age:
        raise LoginRefused("the sign-in data is more than a day old: sign in again")
    if auth_date - now > CLOCK_SKEW:
        raise LoginRefused("the sign-in data is dated in the future")
    return TelegramLogin(telegram_id, fields.get("first_name", ""), fields.get("username"),
                         auth_date, given.lower())


def sign_login(token: str, telegram_id: int, first_name: str, auth_date: dt.datetime,
               **extra: str) -> dict[str, str]:
    """Login Widget data for this user, signed with `token` (as Telegram would)."""
    fields = {"id": str(telegram_id), "first_name": first_name,
              "auth_date": str(int(auth_date.timestamp())), **extra}
    fields["hash"] = _signature(fields, token)
    return fields


def new_csrf_token() -> str:
    """A fresh per-session token for the forms."""
    return secrets.token_urlsafe(32)


def csrf_ok(session_token: str | None, form_token: object) -> bool:
    """True when the form carries the session's token."""
    return (isinstance(session_token, str) and isinstance(form_token, str) and bool(form_token)
            and hmac.compare_digest(session_token, form_token))


def cookie_secret(configured: str | None, token: str | None) -> str:
    """The key that signs session cookies: AFTERCARE_DESK_SECRET, else derived from the bot
    token (every replica gets the same), else random (sessions end with the process)."""
    if configured:
        return configured
    if token:
        return hmac.new(token.encode(), b"aftercare web desk sessions", hashlib.sha256).hexdigest()
    return secrets.token_hex(32)
