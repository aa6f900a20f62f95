"""Find what in this test process still holds a patient's words: `holders_of(word)`.

A privacy test (tests/test_conversation.py) asks it after /delete, so it must not miss a
holder. `gc.get_objects()` alone misses two kinds: what `gc.freeze()` moved to the permanent
generation (tests/conftest.py freezes everything that exists once the tests are collected,
such as a module-level cache dict, and in Python 3.11 `gc.get_objects()` skips that
generation), and the dicts and tuples the collector untracks because they hold only atomic
values (a dict of strings). So the search walks the object graph with `gc.get_referents`,
which lists every object an object holds, tracked or not, frozen or not: from every tracked
object, the module table, every thread's frames, the current context's variables and the
running loop's tasks. The frames (and coroutines) of the code that is asking are left out:
the test's own locals hold the word it looks for."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
import types
from itertools import compress, repeat
from operator import not_
from typing import Any

_CHUNK = 4096  # objects per `gc.get_referents` call (a chunk that holds the word is split)
_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None))  # they hold nothing
_RUNNERS = (types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)
_RUNNER_SET = frozenset(_RUNNERS)


def holders_of(word: str, *roots: object) -> int:
    """How many live objects hold a string with ``word`` in it: `len(holders(word, *roots))`."""
    return len(_search(word, roots))


def holders(word: str, *roots: object) -> list[Any]:
    """The live objects that hold a string with ``word`` in it (case-insensitive), directly:
    a dict (key or value), list, tuple, set, an instance's attributes, a closure's cell, a
    suspended coroutine's locals. `roots`: more places to start from (whatever they reach
    is searched too)."""
    return _search(word, roots)


def _search(word: str, roots: tuple[object, ...]) -> list[Any]:
    """`holders`, called without unpacking (a call with ``*roots`` packs its arguments in a
    tuple that holds the word, which the walk would find)."""
    stack: set[int] = set()
    frame: types.FrameType | None = sys._getframe()
    while frame is not None:  # this call, the test that asks, and what runs the test
        stack.add(id(frame))
        frame = frame.f_back
    others = [f for thread, f in sys._current_frames().items()
              if thread != threading.get_ident()]
    try:
        tasks: list[object] = list(asyncio.all_tasks())
    except RuntimeError:  # no running loop
        tasks = []
    enabled = gc.isenabled()
    gc.disable()  # no collection (its finalizers free objects, whose ids get reused) meanwhile
    try:
        start = [sys.modules, contextvars.copy_context(), *roots, *others, *tasks]
        start.extend(gc.get_objects())
        found: list[Any] = []
        _walk(word.lower(), start, stack | {id(found), id(start)}, found)
        return found
    finally:
        if enabled:
            gc.enable()


def _walk(word: str, start: list[Any], stack: set[int], found: list[Any]) -> None:
    """Breadth first from `start`, each object once; the objects that hold a string with
    `word` go to `found`. The loops over objects run in C (`map`, `compress`, sets)."""
    walk = _Walk(word, stack)
    frontier: list[Any] = []
    walk.visit(start, frontier)
    while frontier:
        following: list[Any] = []
        for at in range(0, len(frontier), _CHUNK):
            chunk = frontier[at:at + _CHUNK]
            if walk.visit(_held(chunk), following):
                found.extend(walk.holders(chunk))
        frontier = following


class _Walk:
    """The word; the ids of the objects the walk has reached (`seen`), of the strings it has
    read (`read`) and of those with the word (`hits`); the asking stack; what each type met
    is to the walk."""

    def __init__(self, word: str, stack: set[int]) -> None:
        self.word, self.stack = word, stack
        self.seen = set(stack)
        self.seen.add(id(self))
        self.read: set[int] = set()
        self.hits: set[int] = set()
        self.leaves = set(_LEAVES)  # hold nothing (exact types: a subclass may have a dict)
        self.texts: set[type] = {str, bytes, bytearray}  # and their subclasses
        self.typed = self.leaves | self.texts | _RUNNER_SET

    def visit(self, held: list[Any], following: list[Any]) -> bool:
        """Whether `held` has a string with the word; what is new in it and can hold things
        goes to `following` (not a coroutine or generator running on the asking stack)."""
        kinds = list(map(type, held))
        for cls in set(kinds) - self.typed:
            self.typed.add(cls)
            if issubclass(cls, str | bytes | bytearray):
                self.texts.add(cls)
        texts = [*compress(held, map(self.texts.__contains__, kinds))]
        hit = self._read(dict(zip(map(id, texts), texts, strict=True)))
        others = [*compress(held, map(not_, map(self.leaves.__contains__, kinds)))]
        by_id = dict(zip(map(id, others), others, strict=True))
        new = set(by_id).difference(self.seen)  # (a dict view minus a set walks the set)
        self.seen |= new
        fresh = list(map(by_id.__getitem__, new))
        if not _RUNNER_SET.isdisjoint(map(type, fresh)):
            fresh = [obj for obj in fresh if not isinstance(obj, _RUNNERS)
                     or id(_frame(obj)) not in self.stack]
        following.extend(fresh)
        return hit

    def _read(self, texts: dict[int, Any]) -> bool:
        """Whether one of `texts` (by id) has the word; each is read once."""
        new = set(texts).difference(self.read)
        if new:
            self.read |= new
            unread = list(map(texts.__getitem__, new))
            if _has_word(self.word, unread):
                needle = self.word.encode()
                self.hits.update(id(text) for text in unread if (
                    self.word if isinstance(text, str) else needle) in text.lower())
        return not self.hits.isdisjoint(texts)

    def holders(self, objects: list[Any]) -> list[Any]:
        """Which of `objects` hold a string with the word (halving: holders are few)."""
        held = _held(objects)
        if self.hits.isdisjoint(map(id, held)):
            return []
        if len(objects) == 1:
            return objects
        half = len(objects) // 2
        return self.holders(objects[:half]) + self.holders(objects[half:])


def _has_word(word: str, texts: list[Any]) -> bool:
    """Whether one of `texts` (strings, bytes) has `word`, in any case."""
    is_str = list(map(isinstance, texts, repeat(str)))
    if word in "\0".join(compress(texts, is_str)).lower():
        return True
    return not all(is_str) and word.encode() in b"\0".join(
        compress(texts, map(not_, is_str))).lower()


def _frame(runner: Any) -> Any:
    """The frame of a coroutine or generator (None once it has finished)."""
    for name in ("cr_frame", "gi_frame", "ag_frame"):
        if hasattr(runner, name):
            return getattr(runner, name)
    return None


def _held(objects: list[Any]) -> list[Any]:
    """What `objects` hold: `gc.get_referents`, plus a dict's keys (a dict whose keys are
    all strings does not list them: strings make no cycles)."""
    held = gc.get_referents(*objects)
    for mapping in compress(objects, map(isinstance, objects, repeat(dict))):
        held.extend(mapping)
    return held
