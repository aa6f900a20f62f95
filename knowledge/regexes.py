"""Compiling the data files' regular expressions, optionally from a store of compiled programs.

`compile(source)` is ``re.compile(source)``. Parsing a pattern is most of the cost of compiling
it, and the triage rules and the scope guard are a few hundred patterns (about a quarter of a
second of every ``aftercare run`` start-up). A process may install a `ProgramStore` with
`use_store` (bot/datafiles.py does when AFTERCARE_REGEX_CACHE_DIR is set): the compiled
program of a pattern is then kept there under a hash of the pattern and of this Python's
regular-expression engine, and a later process builds the same compiled pattern from it
without parsing. What is read back is checked (its pattern text, then the engine's own check
of the program); anything unreadable is compiled as usual. No I/O here: the store does it.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import sys
from importlib import import_module
from typing import Any, Protocol

_sre: Any = import_module("_sre")  # the regular-expression engine re itself compiles with
_re_parser: Any = import_module("re._parser")
_re_compiler: Any = import_module("re._compiler")
_ENGINE = f"{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}|{sys.maxunicode}|1"


class ProgramStore(Protocol):
    """Compiled programs by key (bytes; the store may lose or refuse any of them)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, blob: bytes) -> None: ...


_store: ProgramStore | None = None


def use_store(store: ProgramStore | None) -> None:
    """Keep and reuse compiled programs in `store` from now on in this process (None: stop)."""
    global _store
    _store = store


def compile(source: str) -> re.Pattern[str]:
    """``re.compile(source)``; a bad pattern raises `re.error` as there."""
    store = _store
    if store is None:
        return re.compile(source)
    key = hashlib.sha256(f"{_ENGINE}|{source}".encode()).hexdigest()
    blob = store.get(key)
    if blob is not None:
        pattern = _from_blob(source, blob)
        if pattern is not None:
            return pattern
    program = _program(source)
    pattern = _sre.compile(source, *program)
    store.put(key, marshal.dumps((source, program)))
    return pattern  # type: ignore[no-any-return]


def _program(source: str) -> tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]:
    """What re._compiler.compile hands the engine for `source` (its parsed, compiled code)."""
    parsed = _re_parser.parse(source, 0)
    code = [int(op) for op in _re_compiler._code(parsed, 0)]
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return parsed.state.flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)


def _from_blob(source: str, blob: bytes) -> re.Pattern[str] | None:
    """The pattern a stored program builds, or None when it is not one for `source`."""
    try:
        stored, program = marshal.loads(blob)
        if stored != source:
            return None
        return _sre.compile(source, *program)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a damaged entry: compile the pattern instead
        return None
