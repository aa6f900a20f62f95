"""Fault injection and rate limiting for the fake Telegram server.

``FaultRule`` describes one scripted failure (or delay) for a method; ``RateLimiter``
enforces Telegram's flood limits (messages per chat per second, messages per second
overall) with a sliding one-second window, answering 429 with ``retry_after``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
         "instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def error_body(error_code: int, description: str | None = None,
               retry_after: int | None = None) -> dict[str, Any]:
    """The exact JSON Telegram answers with on errors."""
    if error_code == 429 and retry_after is None:
        retry_after = 3
    text = description or DEFAULT_DESCRIPTIONS.get(error_code, "Error")
    body: dict[str, Any] = {"ok": False, "error_code": error_code,
                            "description": text.format(retry_after=retry_after)}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def is_send_method(method: str) -> bool:
    """Methods that post a message into a chat (blocked users refuse these)."""
    return method.startswith(("send", "copy", "forward"))


@dataclass
class FaultRule:
    """One scripted answer: an error, a delay, or both; consumed ``times`` times."""

    method: str  # canonical name or "*"
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None
    delay: float = 0.0

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Does this rule apply to a call of ``method`` for ``chat_id``?"""
        if self.times <= 0:
            return False
        if self.method != "*" and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def body(self) -> dict[str, Any] | None:
        """The error JSON to answer with, or None for a delay-only rule."""
        if self.error_code is None:
            return None
        return error_body(self.error_code, self.description, self.retry_after)


class RateLimiter:
    """Sliding-window limits: ``global_per_sec`` sends overall, ``per_chat_per_sec`` each chat."""

    def __init__(self, global_per_sec: int | None = 30, per_chat_per_sec: int | None = 1,
                 window: float = 1.0) -> None:
        self.global_per_sec = global_per_sec
        self.per_chat_per_sec = per_chat_per_sec
        self.window = window
        self._all: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self.rejected = 0

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def check(self, chat_id: int | None, now: float | None = None) -> int | None:
        """Record a send and return None, or return retry_after seconds if over a limit."""
        now = time.monotonic() if now is None else now
        self._trim(self._all, now)
        chat_times = self._per_chat.setdefault(chat_id or 0, deque())
        self._trim(chat_times, now)
        if self.per_chat_per_sec is not None and len(chat_times) >= self.per_chat_per_sec:
            self.rejected += 1
            return 1
        if self.global_per_sec is not None and len(self._all) >= self.global_per_sec:
            self.rejected += 1
            return max(1, math.ceil(self._all[0] + self.window - now))
        self._all.append(now)
        chat_times.append(now)
        return None
