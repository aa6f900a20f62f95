"""Find what in this test process still holds a patient's words: `holders_of(word)`.

A privacy test (tests/test_conversation.py) asks it after /delete, so it must not miss a
holder. `gc.get_objects()` alone misses two kinds: what `gc.freeze()` moved to the permanent
generation (tests/conftest.py freezes everything that exists once the tests are collected,
such as a module-level cache dict, and in Python 3.11 `gc.get_objects()` skips that
generation), and the dicts and tuples the collector untracks because they hold only atomic
values (a dict of strings). So the search starts from every object the collector tracks:
`gc.get_objects()` and what was frozen, listed when it was (`freeze`, which tests/conftest.py
calls instead of `gc.freeze`; a search refuses to run if anything else froze objects). It
reads the strings each of them holds (`gc.get_referents`, plus a dict's keys) and walks on
into what they hold that the collector does not track (an untracked dict or tuple, and what
that holds), each once. A tracked object it meets there is not walked again: it is listed
already (`gc.is_tracked` says so without a lookup, which is what made the walk of the whole
graph with a set of every object's id slow). The coroutines and frames of the code that is
asking are left out: the test's own locals hold the word it looks for. (A running frame, in
any thread, shows `gc.get_referents` nothing, so running code's locals are not searched.)"""

from __future__ import annotations

import gc
import sys
import types
from collections.abc import Iterable
from itertools import chain, compress, count, repeat
from operator import not_
from typing import Any

_CHUNK = 4096  # objects per `gc.get_referents` call (a chunk that holds the word is split)
_TEXTS = (str, bytes, bytearray)  # read for the word (a subclass is walked into as well)
_TEXT_SET = frozenset(_TEXTS)
# exact types that hold nothing (a subclass may have a dict)
_ENDS = frozenset({*_TEXTS, int, float, complex, bool, type(None)})
_RUNNERS = (types.CoroutineType, types.GeneratorType, types.AsyncGeneratorType)
_ASKING = frozenset({*_RUNNERS, types.FrameType})  # what may be running the search
_FROZEN: list[Any] = []  # what `freeze` froze (kept alive, so the list stays exact)


def freeze() -> None:
    """`gc.freeze()`, remembering the objects it freezes so that a search can start from them
    (`gc.get_objects()` does not list them). The list keeps them alive (the collector never
    frees a frozen object anyway; one its last reference would have freed stays), so the
    permanent generation stays what the list holds, which a search checks by counting.

    Another thread (pytest-xdist's execnet thread, in a worker) may make objects between the
    listing and the freezing, which would then be frozen unlisted: the switch interval is
    raised meanwhile, and a freeze that froze more than was listed is undone and tried again."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    try:
        for _ in range(20):
            _FROZEN.extend(gc.get_objects())
            gc.freeze()
            if gc.get_freeze_count() == len(_FROZEN):
                return
            gc.unfreeze()
            _FROZEN.clear()
    finally:
        sys.setswitchinterval(interval)
    raise RuntimeError("could not list what gc.freeze froze (objects kept being made)")


def holders_of(word: str, *roots: object) -> int:
    """How many live objects hold a string with ``word`` in it: `len(holders(word, *roots))`."""
    return len(_search(word, roots, first=False))


def holders(word: str, *roots: object) -> list[Any]:
    """The live objects that hold a string with ``word`` in it (case-insensitive), directly:
    a dict (key or value), list, tuple, set, an instance's attributes, a closure's cell, a
    suspended coroutine's locals. `roots`: more places to start from (whatever they reach
    is searched too)."""
    return _search(word, roots, first=False)


def is_held(word: str, *roots: object) -> bool:
    """Whether a live object holds a string with ``word`` in it (``holders_of(word) > 0``):
    the same search, stopped at the first group of objects where it finds one."""
    return bool(_search(word, roots, first=True))


def _search(word: str, roots: tuple[object, ...], first: bool) -> list[Any]:
    """`holders` (with `first`: those of the first chunk that has one), called without
    unpacking (a call with ``*roots`` packs its arguments in a tuple that holds the word,
    which the search would find)."""
    if gc.get_freeze_count() != len(_FROZEN):
        raise RuntimeError("objects were frozen other than by tests.holders.freeze (the "
                           "search cannot list them, so it could miss a holder)")
    stack: set[int] = set()
    frame: types.FrameType | None = sys._getframe()
    while frame is not None:  # this call, the test that asks, and what runs the test
        stack.add(id(frame))
        frame = frame.f_back
    enabled = gc.isenabled()
    gc.disable()  # no collection (its finalizers free objects, whose ids get reused) meanwhile
    listed = gc.get_objects(0)  # the youngest first, each generation newest first: `is_held`
    try:  # stops early, a patient's words being in objects made by the test
        listed.reverse()
        for generation in (1, 2):
            older = gc.get_objects(generation)
            older.reverse()
            listed.extend(older)
            older.clear()
        listed.extend(_FROZEN)
        kinds = list(map(type, listed))
        for at in [*compress(count(), map(_ASKING.__contains__, kinds))]:
            obj = listed[at]  # a frame, coroutine or generator
            if id(obj) in stack or id(_frame(obj)) in stack:  # asking: left out
                listed[at] = None
        textual = {kind for kind in set(kinds) if issubclass(kind, _TEXTS)}
        texts = [*compress(listed, map(textual.__contains__, kinds))]
        kinds.clear()
        listed.extend(compress(roots, map(not_, map(gc.is_tracked, roots))))
        texts.extend(compress(roots, map(isinstance, roots, repeat(_TEXTS))))
        found: list[Any] = []
        _walk(_Search(word.lower(), texts), listed, found, first)
        return found
    finally:
        listed.clear()  # it holds this frame, which holds it: freed now, not by a collection
        if enabled:
            gc.enable()


def _walk(search: _Search, listed: list[Any], found: list[Any], first: bool) -> None:
    """From `listed` (every tracked object, and the untracked roots) on into what they hold
    that is not tracked, each object once; the objects that hold a string with `word` go to
    `found` (with `first`, only those of the first chunk that has one). The loops over
    objects run in C (`map`, `compress`, sets, dicts)."""
    seen: set[int] = set()  # the untracked objects reached (a tuple may be held twice)
    frontier = listed
    while frontier:
        following: list[Any] = []
        for at in range(0, len(frontier), _CHUNK):
            chunk = frontier[at:at + _CHUNK]
            hit, inner = search.read(chunk)
            if hit:
                found.extend(search.holders(chunk))
                if first:
                    return
            by_id = dict(zip(map(id, inner), inner, strict=True))
            new = set(by_id).difference(seen)  # (a dict view minus a set walks the set)
            seen |= new
            following.extend(map(by_id.__getitem__, new))
        frontier = following


class _Search:
    """The word, and the ids of the tracked strings and bytes that have it (instances of
    their subclasses: every other string is untracked, so it is read where it is held)."""

    def __init__(self, word: str, texts: list[Any]) -> None:
        """`texts`: the tracked strings and bytes."""
        self.word = word
        self.tracked = {id(text) for text in texts if _has_word(word, [text])} if _has_word(
            word, texts) else set()

    def read(self, objects: list[Any]) -> tuple[bool, list[Any]]:
        """Whether `objects` hold a string with the word; what they hold that is untracked
        and can hold things."""
        held = gc.get_referents(*objects)
        untracked = [*compress(held, map(not_, map(gc.is_tracked, held)))]
        kinds = list(map(type, untracked))
        inner = [*compress(untracked, map(not_, map(_ENDS.__contains__, kinds)))]
        texts = [*compress(untracked, map(_TEXT_SET.__contains__, kinds))]
        texts.extend(compress(inner, map(isinstance, inner, repeat(_TEXTS))))  # (subclasses)
        hit = _has_word(self.word, texts) or _has_key(
            self.word, compress(objects, map(isinstance, objects, repeat(dict))))
        if not hit and self.tracked:
            hit = not self.tracked.isdisjoint(map(id, held))
        return hit, inner

    def holders(self, objects: list[Any]) -> list[Any]:
        """Which of `objects` hold a string with the word (halving: holders are few)."""
        if not self.read(objects)[0]:
            return []
        if len(objects) == 1:
            return objects
        half = len(objects) // 2
        return self.holders(objects[:half]) + self.holders(objects[half:])


def _has_key(word: str, mappings: Iterable[dict[Any, Any]]) -> bool:
    """Whether a key of `mappings` is a string or bytes with `word` (a dict whose keys are
    all strings does not list them to `gc.get_referents`: strings make no cycles; the keys
    of any other dict it lists, so they are walked into from there)."""
    keys = list(chain.from_iterable(mappings))
    try:
        return word in "\0".join(keys).lower()
    except TypeError:  # not all strings
        return _has_word(word, [*compress(keys, map(isinstance, keys, repeat(_TEXTS)))])


def _has_word(word: str, texts: list[Any]) -> bool:
    """Whether one of `texts` (strings, bytes) has `word`, in any case."""
    if not texts:
        return False
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
