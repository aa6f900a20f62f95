"""YAML reading that remembers line numbers, so every data-file problem can name file and line.

Mappings load as ``LineDict`` and sequences as ``LineList``; both carry the line where they
start and the line of each key or item. Syntax errors become ``DataFileError`` with the line
PyYAML reports.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from knowledge.errors import KBError, Problem

# A value loaded from a data file (a `LineDict`, a `LineList`, a string, a number...): a
# payload of unknown shape, which each parser checks before it trusts it.
Yaml: TypeAlias = Any


class DataFileError(ValueError):
    """A problem in a data file, located by path and line."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@contextmanager
def data_file_problems() -> Iterator[None]:
    """Inside: a ``DataFileError`` (unreadable or malformed file) becomes a ``KBError`` naming
    its file, line and reason, the error every loader raises for ``aftercare kb check``."""
    try:
        yield
    except DataFileError as exc:
        raise KBError([Problem(exc.path, exc.line, exc.reason)]) from exc


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping loaded from YAML, with ``line`` and ``key_lines``."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):  # type: ignore[type-arg]
    """A sequence loaded from YAML, with ``line`` and ``item_lines``."""

    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML has it (about ten times faster: start-up time), else pure Python
FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(FAST_SAFE_LOADER):  # type: ignore[misc,valid-type]
    """SafeLoader whose mappings and sequences keep their line numbers."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    _refuse_duplicate_keys(node)
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _refuse_duplicate_keys(node: yaml.MappingNode) -> None:
    """A key written twice in one mapping is an error at the second one's line: PyYAML would
    keep the later value silently, so half of an edited entry (a sign's second ``patterns:``,
    a topic id pasted twice) would vanish without a word. Keys a merge (``<<``) brings in may
    be overridden, as YAML allows."""
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        line = key_node.start_mark.line + 1
        if key_node.value in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key_node.value!r} (first at line {seen[key_node.value]})",
                key_node.start_mark)
        seen[key_node.value] = line


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors raise ``DataFileError`` with the failing line."""
    return parse_yaml(read_text(path), str(path))


def file_text(path: Path | Traversable) -> str:
    """The text of a data file as it is on disk (OSError, UnicodeDecodeError when it cannot be
    read): every data file is read here, so a test can hand any loader a broken copy."""
    return path.read_text(encoding="utf-8")


def read_text(path: Path) -> str:
    """A data file's text; ``DataFileError`` (line 0) when it cannot be read."""
    try:
        return file_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(str(path), 0, f"cannot read file: {exc}") from exc


def parse_yaml(text: str, name: str) -> Any:
    """Parse the text of the data file ``name``, as ``read_yaml`` does.

    The same file with the same text is parsed once per process (`_PARSED`): each call
    returns a new copy of that parse (`_copy`: new mappings and lists, with their lines),
    which its caller may change as it likes. A process reads the same files again and again
    (every `build_services` the message catalogue, every ``kb check`` and ``Advisor.load``
    the knowledge base and language files); a copy costs about a tenth of a parse. A text
    that does not parse is not kept: it fails again the same way."""
    key = (name, text)
    with _PARSED_LOCK:
        parsed = _PARSED.get(key, _MISSING)
        if parsed is not _MISSING:
            _PARSED.move_to_end(key)
    if parsed is _MISSING:
        parsed = _parse(text, name)
        with _PARSED_LOCK:
            _PARSED[key] = parsed
            while len(_PARSED) > _PARSED_KEPT:
                _PARSED.popitem(last=False)
    return _copy(parsed, {})


_PARSED: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (name, text) -> parse, oldest first
_PARSED_KEPT = 64  # the product's data files, and some more a process reads (a clinic's copies)
_PARSED_LOCK = threading.Lock()  # a reload reads the files in a worker thread
_MISSING = object()
_ATOMS = frozenset({str, int, float, bool, type(None), bytes})  # what needs no copy


def _parse(text: str, name: str) -> Yaml:
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(name, line, f"invalid YAML: {problem}") from exc


def _copy(value: Yaml, copies: dict[int, Yaml]) -> Yaml:
    """A copy of a parse, as a new parse of the same text would make it: new mappings and
    lists with the same lines; a node that YAML shares (an alias of an anchor) shared the same
    way in the copy (`copies`: each container's copy by the original's id)."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    made = copies.get(id(value))
    if made is not None:
        return made
    if kind is LineDict:
        mapping = copies[id(value)] = LineDict()
        for key, item in value.items():
            mapping[key if type(key) in _ATOMS else _copy(key, copies)] = (
                item if type(item) in _ATOMS else _copy(item, copies))
        mapping.line = value.line
        mapping.key_lines = dict(value.key_lines)
        return mapping
    if kind is LineList:
        sequence = copies[id(value)] = LineList()
        sequence.extend([item if type(item) in _ATOMS else _copy(item, copies)
                         for item in value])
        sequence.line = value.line
        sequence.item_lines = list(value.item_lines)
        return sequence
    made = copies[id(value)] = copy.deepcopy(value)  # a date, a set, an ordered map's pairs
    return made


def data_text(packaged: str, path: str | Path | None) -> tuple[str, str]:
    """(name, text) of a data file: the one packaged in ``knowledge/`` under ``packaged``, or
    the file at ``path``. Raises OSError when the file cannot be read."""
    if path is None:
        resource = resources.files("knowledge").joinpath(packaged)
        return str(resource), file_text(resource)
    return str(path), file_text(Path(path))
