"""Rules Telegram enforces beyond parameter types (text length, markup, command names).

``check_semantics`` raises :class:`ParamError` with Telegram's wording when a request is
well-typed but would still be refused, e.g. an empty or >4096-character message, HTML that
does not parse, a caption over 1024 characters or an invalid bot command.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fake_telegram.formatting import EntityParseError, parse_text, utf16_len
from tests.fake_telegram.spec import ParamError

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def render(params: dict[str, Any], key: str = "text",
           mode_key: str = "parse_mode") -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of ``params[key]`` as Telegram would store them."""
    try:
        text, entities = parse_text(str(params.get(key, "")), params.get(mode_key))
    except EntityParseError as exc:
        raise ParamError(str(exc)) from exc
    except ValueError as exc:
        raise ParamError(str(exc)) from exc
    if "entities" in params and key == "text":
        entities = list(params["entities"])
    if "caption_entities" in params and key == "caption":
        entities = list(params["caption_entities"])
    return text, entities


def _check_message_text(params: dict[str, Any], required: bool) -> None:
    if "text" not in params and not required:
        return
    text, _ = render(params)
    if not text.strip():
        raise ParamError("Bad Request: message text is empty")
    if utf16_len(text) > MAX_TEXT:
        raise ParamError("Bad Request: message is too long")


def _check_caption(params: dict[str, Any]) -> None:
    if "caption" not in params:
        return
    caption, _ = render(params, "caption")
    if utf16_len(caption) > MAX_CAPTION:
        raise ParamError("Bad Request: message caption is too long")


def _check_commands(params: dict[str, Any]) -> None:
    for command in params.get("commands", []):
        if not _COMMAND_RE.match(str(command.get("command", ""))):
            raise ParamError("Bad Request: BOT_COMMAND_INVALID")
        description = str(command.get("description", ""))
        if not description.strip():
            raise ParamError("Bad Request: command description is empty")
        if len(description) > 256:
            raise ParamError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")


def check_semantics(method: str, params: dict[str, Any]) -> None:
    """Raise ParamError if Telegram would refuse this (already type-checked) request."""
    if method == "sendMessage":
        _check_message_text(params, required=True)
    elif method == "editMessageText":
        _check_message_text(params, required="rich_message" not in params)
    elif method == "setMyCommands":
        _check_commands(params)
    elif method == "answerCallbackQuery" and len(str(params.get("text", ""))) > MAX_CALLBACK_ANSWER:
        raise ParamError("Bad Request: MESSAGE_TOO_LONG")
    if "caption" in params:
        _check_caption(params)
    elif "parse_mode" in params and method != "sendMessage":
        render(params, "text")  # validates parse_mode value even without text
