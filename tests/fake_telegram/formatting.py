"""Parse message text the way Telegram does for ``parse_mode``, to catch bad markup in tests.

``parse_text(text, parse_mode)`` returns the plain text Telegram would store plus the
entities it would create.  For ``HTML`` only Telegram's tags and the entities ``&lt; &gt;
&amp; &quot;`` (plus numeric ones) are accepted; anything else raises
:class:`EntityParseError` whose message mimics Telegram's
"Bad Request: can't parse entities: ..." answer.  Markdown modes are passed through.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

PARSE_MODES = frozenset({"HTML", "Markdown", "MarkdownV2"})

_TAG_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
    "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([A-Za-z]+));")
_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(r"""\s*([A-Za-z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


class EntityParseError(ValueError):
    """Markup that Telegram would refuse."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Bad Request: can't parse entities: {detail}")


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) for ``text`` under ``parse_mode``."""
    plain, entities = _parse_cached(text, parse_mode)
    return plain, [dict(entity) for entity in entities]


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Parsing is pure: each request is validated and then stored, so parse it once."""
    if parse_mode is None or parse_mode == "":
        return text, []
    if parse_mode not in PARSE_MODES:
        raise ValueError("Bad Request: unsupported parse_mode")
    if parse_mode != "HTML":
        return text, []
    return _HtmlParser(text).parse()


class _HtmlParser:
    """A small re-implementation of Telegram's HTML entity parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, pos: int) -> int:
        return len(self.text[:pos].encode("utf-8"))

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.out_len += utf16_len(chunk)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "<":
                self.parse_tag()
            elif char == "&":
                self.parse_entity()
            else:
                self.emit(char)
                self.pos += 1
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        return "".join(self.out), sorted(self.entities, key=lambda e: e["offset"])

    def parse_entity(self) -> None:
        match = _ENTITY_RE.match(self.text, self.pos)
        if match is None or (match.group(3) and match.group(3) not in _NAMED_ENTITIES):
            raise EntityParseError(
                f"Unsupported HTML entity or unescaped \"&\" at byte offset "
                f"{self.byte_offset(self.pos)}")
        if match.group(3):
            self.emit(_NAMED_ENTITIES[match.group(3)])
        else:
            code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
            self.emit(chr(code) if 0 < code < 0x110000 else "\ufffd")
        self.pos = match.end()

    def parse_tag(self) -> None:
        start = self.pos
        end = self.text.find(">", start)
        if end == -1:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {self.byte_offset(start)}")
        body = self.text[start + 1:end]
        if body.startswith("/"):
            self.close_tag(body[1:].strip().lower(), start)
        else:
            self.open_tag(body, start)
        self.pos = end + 1

    def open_tag(self, body: str, start: int) -> None:
        match = _TAG_NAME_RE.match(body)
        name = match.group(0).lower() if match else body[:10]
        if match is None or name not in _TAG_ENTITY:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(start)}')
        attrs = {
            a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
            for a in _ATTR_RE.finditer(body[match.end():]) if a.group(1)
        }
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler" at byte offset '
                                   f"{self.byte_offset(start)}")
        if name == "a" and not attrs.get("href"):
            raise EntityParseError(f"Tag \"a\" must have attribute \"href\" at byte offset "
                                   f"{self.byte_offset(start)}")
        self.stack.append(_Open(name, self.out_len, attrs))

    def close_tag(self, name: str, start: int) -> None:
        if not self.stack:
            raise EntityParseError(
                f'Unexpected end tag at byte offset {self.byte_offset(start)}')
        opened = self.stack.pop()
        if opened.tag != name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self.byte_offset(start)}, '
                f'expected "</{opened.tag}>", found "</{name}>"')
        self.add_entity(opened)

    def add_entity(self, opened: _Open) -> None:
        length = self.out_len - opened.start
        if length == 0:
            return
        entity: dict[str, Any] = {
            "type": _TAG_ENTITY[opened.tag], "offset": opened.start, "length": length}
        if opened.tag == "a":
            entity["url"] = opened.attrs["href"]
        if opened.tag == "tg-emoji" and "emoji-id" in opened.attrs:
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        if opened.tag == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)
