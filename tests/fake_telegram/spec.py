"""Load the Bot API description (api.json) and check request parameters against it.

The fake server calls :func:`validate_params` for every request: it resolves the method
(case-insensitively, like Telegram), decodes form values (JSON-encoded objects/arrays,
numeric strings, "true"/"false") and checks each value against the documented types,
recursing into object types such as ``InlineKeyboardMarkup``.  It returns the decoded
parameters or a Telegram-style error description.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SPEC_PATH = Path(__file__).with_name("api.json")

PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
_INT_RE = re.compile(r"^-?\d+$")
_DISCRIMINATOR_RE = re.compile(r"(?:must be|always)\s+[“\"]?([A-Za-z0-9_]+)")
# InlineKeyboardButton fields that do not count as the button's single "action".
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})
_URL_RE = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)
MAX_CALLBACK_DATA_BYTES = 64


@dataclass(frozen=True)
class UploadedFile:
    """A file part received in a multipart request."""

    name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


class ParamError(Exception):
    """A request parameter failed validation; ``str(exc)`` is the Telegram description."""


@functools.lru_cache(maxsize=1)
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """Parse api.json once per process."""
    with path.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    logger.debug("loaded %s (%d methods)", spec.get("version"), len(spec["methods"]))
    return spec


@functools.lru_cache(maxsize=1)
def _method_index() -> dict[str, str]:
    return {name.lower(): name for name in load_spec()["methods"]}


def resolve_method(name: str) -> str | None:
    """Return the canonical method name (Telegram matches names case-insensitively)."""
    return _method_index().get(name.lower())


def method_fields(method: str) -> list[dict[str, Any]]:
    """Documented parameters of ``method``."""
    fields: list[dict[str, Any]] = load_spec()["methods"][method].get("fields", [])
    return fields


def method_returns(method: str) -> list[str]:
    """Documented return types of ``method``."""
    returns: list[str] = load_spec()["methods"][method].get("returns", [])
    return returns


def validate_params(
    method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
) -> dict[str, Any]:
    """Decode and check ``raw`` parameters of ``method``; raise :class:`ParamError`."""
    fields = {f["name"]: f for f in method_fields(method)}
    attached = _attach_names(raw)
    for name in list(raw) + list(files):
        if name not in fields and name not in attached:
            raise ParamError(f"Bad Request: unknown parameter {name}")
    decoded: dict[str, Any] = {}
    for name, spec_field in fields.items():
        value: Any = files.get(name, raw.get(name))
        if value is None:
            if spec_field["required"]:
                raise ParamError(_missing_description(method, name))
            continue
        decoded[name] = _convert_union(spec_field["types"], value, name, files)
    return decoded


def _missing_description(method: str, name: str) -> str:
    if name == "text" and method.startswith("send"):
        return "Bad Request: message text is empty"
    return f"Bad Request: parameter {name} is required"


def _attach_names(raw: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for value in raw.values():
        text = value if isinstance(value, str) else json.dumps(value)
        found.update(re.findall(r"attach://([A-Za-z0-9_\-]+)", text))
    return found


def _convert_union(
    types: list[str], value: Any, path: str, files: dict[str, UploadedFile]
) -> Any:
    errors: list[ParamError] = []
    for type_name in types:
        try:
            return _convert(type_name, value, path, files)
        except ParamError as exc:
            errors.append(exc)
    object_errors = [e for e, t in zip(errors, types, strict=False) if t not in PRIMITIVES]
    raise (object_errors or errors)[0]


def _convert(type_name: str, value: Any, path: str, files: dict[str, UploadedFile]) -> Any:
    if type_name.startswith("Array of "):
        return _convert_array(type_name[len("Array of "):], value, path, files)
    if type_name in PRIMITIVES:
        return _convert_primitive(type_name, value, path, files)
    return _convert_object(type_name, value, path, files)


def _convert_primitive(
    type_name: str, value: Any, path: str, files: dict[str, UploadedFile]
) -> Any:
    if type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return int(value)
    elif type_name == "Float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
            return value.lower() in {"true", "1"}
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif type_name == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif type_name == "InputFile":
        return _convert_input_file(value, path, files)
    raise ParamError(f"Bad Request: invalid {path} specified: expected {type_name}")


def _convert_input_file(value: Any, path: str, files: dict[str, UploadedFile]) -> Any:
    if isinstance(value, UploadedFile):
        return {"upload": value.filename, "size": len(value.data)}
    if isinstance(value, str) and value.startswith("attach://"):
        if value[len("attach://"):] not in files:
            raise ParamError(f"Bad Request: file for {path} not found in the request")
        return value
    if isinstance(value, str) and value:
        return value
    raise ParamError(f"Bad Request: invalid file for {path}")


def _maybe_json(value: Any, path: str, expected: type) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ParamError(f"Bad Request: can't parse {path} JSON object") from exc
    if not isinstance(value, expected):
        kind = "an array" if expected is list else "an object"
        raise ParamError(f"Bad Request: can't parse {path}: expected {kind}")
    return value


def _convert_array(
    inner: str, value: Any, path: str, files: dict[str, UploadedFile]
) -> list[Any]:
    items = _maybe_json(value, path, list)
    return [_convert(inner, item, f"{path}[{i}]", files) for i, item in enumerate(items)]


def _convert_object(
    type_name: str, value: Any, path: str, files: dict[str, UploadedFile]
) -> dict[str, Any]:
    obj: dict[str, Any] = _maybe_json(value, path, dict)
    type_spec = load_spec()["types"][type_name]
    subtypes: list[str] = type_spec.get("subtypes", [])
    if subtypes:
        return _convert_abstract(subtypes, obj, path, files)
    fields = {f["name"]: f for f in type_spec.get("fields", [])}
    if not fields:  # e.g. CallbackGame: any object is fine
        return obj
    for key in obj:
        if key not in fields:
            raise ParamError(f"Bad Request: can't parse {path}: unknown field \"{key}\" "
                             f"in {type_name}")
    result: dict[str, Any] = {}
    for name, spec_field in fields.items():
        if obj.get(name) is None:
            if spec_field["required"]:
                raise ParamError(f"Bad Request: can't parse {path}: field \"{name}\" of "
                                 f"{type_name} is required")
            continue
        result[name] = _convert_union(spec_field["types"], obj[name], f"{path}.{name}", files)
    _extra_object_checks(type_name, result, path)
    return result


def _discriminators(type_name: str) -> dict[str, str]:
    fixed: dict[str, str] = {}
    for spec_field in load_spec()["types"][type_name].get("fields", []):
        match = _DISCRIMINATOR_RE.search(spec_field.get("description", ""))
        if spec_field["name"] in {"type", "source", "status"} and match:
            fixed[spec_field["name"]] = match.group(1)
    return fixed


def _convert_abstract(
    subtypes: list[str], obj: dict[str, Any], path: str, files: dict[str, UploadedFile]
) -> dict[str, Any]:
    matching = [
        sub for sub in subtypes
        if all(obj.get(k) == v for k, v in _discriminators(sub).items())
        and _discriminators(sub)
    ]
    candidates = matching or subtypes
    converted: dict[str, Any] = _convert_union(candidates, obj, path, files)
    return converted


def _extra_object_checks(type_name: str, obj: dict[str, Any], path: str) -> None:
    if type_name == "InlineKeyboardButton":
        check_inline_button(obj)


def check_inline_button(button: dict[str, Any]) -> None:
    """Enforce Telegram's rules for one inline keyboard button."""
    if not button.get("text"):
        raise ParamError("Bad Request: can't parse inline keyboard button: text is empty")
    actions = [k for k in button if k not in _BUTTON_DECORATION]
    if len(actions) != 1:
        raise ParamError(
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must have "
            f"exactly one optional action field, got {sorted(actions)}"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise ParamError("Bad Request: BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not _URL_RE.match(str(url)):
        raise ParamError(f"Bad Request: inline keyboard button URL '{url}' is invalid: "
                         "Wrong HTTP URL")
