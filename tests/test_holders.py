"""`tests.holders.holders`, which the privacy test asks after /delete, finds a patient's
words wherever this process keeps them, including where `gc.get_objects()` cannot see
(the helper it replaced found none of these): a module-level dict frozen before the tests ran
(tests/conftest.py freezes what exists once they are collected) and filled later; a dict of
strings in a tracked object, and a tuple of words, which the collector does not track. It
also finds them as a dict's key and in an instance of a subclass of `str` (which the
collector tracks, unlike a string), and it refuses to search if objects were frozen where it
cannot list them."""

from __future__ import annotations

import gc
import uuid
from typing import Any

import pytest

from tests import holders as holders_module
from tests.holders import holders, is_held

_KEPT: dict[str, Any] = {}  # made at import, so frozen with the rest before any test runs


class _Label(str):
    """Stands for a product's string type (a subclass of `str`, such as a `StrEnum`)."""


class _Session:
    """Stands for a product object that keeps a patient's last words in a plain dict."""

    def __init__(self) -> None:
        self.recent: dict[str, str] = {}


def test_words_kept_where_the_collector_does_not_look_are_found() -> None:
    word = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:14])  # unique
    assert not any(obj is _KEPT for obj in gc.get_objects()), "not frozen: a weaker test"
    session = _Session()
    session.recent["last"] = f"Is {word.title()} swelling normal?"
    tokens = tuple(f"my {word} hurts".split())
    gc.collect()  # untracks the tuple: it holds only strings
    assert not gc.is_tracked(session.recent) and not gc.is_tracked(tokens)
    _KEPT["last"] = f"my {word} cousin says"
    _KEPT["tokens"] = [tokens]
    notes = {f"{word} party": 1}  # a key (the dict untracked, like a tuple of strings)
    _KEPT["notes"] = [notes]
    labels = [_Label(f"{word}s")]
    assert gc.is_tracked(labels[0])
    try:
        found = {id(obj) for obj in holders(word)}
        assert found == {id(_KEPT), id(session.recent), id(tokens), id(notes), id(labels)}
        assert is_held(word)
    finally:
        _KEPT.clear()


def test_search_refuses_when_it_cannot_list_what_was_frozen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = len(holders_module._FROZEN)
    monkeypatch.setattr(gc, "get_freeze_count", lambda: frozen + 1)  # frozen elsewhere
    with pytest.raises(RuntimeError, match="frozen"):
        holders("anything")
