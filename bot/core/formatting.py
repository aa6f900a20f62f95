"""Telegram HTML helpers: split long messages cleanly and turn HTML into terminal text.

Telegram refuses messages over 4,096 characters. `split_html` cuts at paragraph, then
line, then word boundaries, never inside a tag or an entity such as ``&amp;``, and closes
tags still open at a cut (re-opening them in the next part), so every part parses.
"""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;")
_SEPARATORS = ("\n\n", "\n", " ")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Parts of `text`, each at most `limit` UTF-16 units and each valid HTML on its own."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    budget = max(limit - 200, limit // 2)  # room for tags re-opened/closed at the cut
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > budget:
        cut = _cut_point(rest, budget)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [p for p in _balance(parts) if p.strip()]


def _cut_point(text: str, budget: int) -> int:
    """Index to cut `text` at: the last good boundary within `budget` UTF-16 units."""
    end = _prefix_chars(text, budget)
    window = text[:end]
    for separator in _SEPARATORS:
        index = window.rfind(separator)
        if index > end // 3 and _safe(text, index):
            return index + len(separator)
    index = end
    while index > 1 and not _safe(text, index):
        index -= 1
    return index


def _prefix_chars(text: str, budget: int) -> int:
    """How many characters of `text` fit in `budget` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def _safe(text: str, index: int) -> bool:
    """True when `index` is not inside a tag or an entity."""
    for match in _TOKEN.finditer(text, max(0, index - 300), min(len(text), index + 300)):
        if match.start() < index < match.end():
            return False
    return True


def _balance(parts: list[str]) -> list[str]:
    """Close tags left open at the end of a part and re-open them at the start of the next."""
    balanced: list[str] = []
    carried: list[str] = []  # opening tags (full text) still open
    for part in parts:
        body = "".join(carried) + part
        stack: list[tuple[str, str]] = []
        for match in _TAG.finditer(body):
            closing, name = match.group(1), match.group(2).lower()
            if closing:
                if stack and stack[-1][0] == name:
                    stack.pop()
            else:
                stack.append((name, match.group(0)))
        closers = "".join(f"</{name}>" for name, _ in reversed(stack))
        balanced.append(body + closers)
        carried = [tag for _, tag in stack]
    return balanced


def html_to_text(text: str) -> str:
    """Plain text for a terminal: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))
