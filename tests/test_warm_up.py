"""The advisor's warm-up (`Advisor.warm_up`, started in the background by bot/warmup.py).

`Advisor.load` leaves patterns and indexes to be built when a message first needs them;
`warm_up` builds them all. Checked on the objects, not the clock: an advisor built cold (its
rules parsed afresh, not taken from the process's shared parse) has lazily built parts before
and none after, found by a generic search of everything it holds (an unset
`functools.cached_property`, a private attribute still None or a list with a None in it, on
any `knowledge` object), so a new cache of that kind that `warm_up` misses fails here; and
after it, answering a varied set of messages builds nothing more: the objects it holds are
the same before and after (caches of patients' words emptied, as `forget_texts` does), and a
first pass calls exactly the functions, as many times, that a repeat of it does. Then the
bot: `aftercare run` answers patients while a deliberately slow warm-up is still running."""

from __future__ import annotations

import ast
import asyncio
import cProfile
import functools
import gc
import logging
import pstats
import re
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import knowledge.advisor as advisor_module
from bot.warmup import WarmUp, warm_in_background
from knowledge import detectors
from knowledge.advisor import Advisor
from knowledge.multilingual import loading
from knowledge.multilingual.fold import fold_char
from knowledge.text import english_words, forget_texts
from knowledge.triage import parser
from knowledge.yamlfile import data_text
from tests.yamldata import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
KNOWLEDGE = str(ROOT / "knowledge")
RE_PACKAGE = str(Path(re.__file__).parent)  # re's parser and compiler: a pattern compiled
_LEAVES = (str, bytes, int, float, complex, bool, type(None), type, types.ModuleType,
           types.FunctionType, types.BuiltinFunctionType, types.CodeType, re.Pattern)


def held(root: object) -> dict[int, object]:
    """Every object `root` holds, directly or not (by id), but for leaves: strings, numbers,
    compiled patterns, and classes, modules and functions (which would lead to everything)."""
    seen: dict[int, object] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _LEAVES):
            continue
        seen[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return seen


def _attribute_names(obj: object) -> list[str]:
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        slots = getattr(cls, "__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return names


def lazy_parts(advisor: Advisor) -> list[str]:
    """What `advisor` holds that is still to be built on first use: on every `knowledge`
    object, each `cached_property` not computed yet, and each private attribute that is None
    or a list holding a None (a compiled pattern, an index, left for later)."""
    found = []
    for obj in held(advisor).values():
        cls = type(obj)
        if not cls.__module__.startswith("knowledge."):
            continue
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if (isinstance(value, functools.cached_property)
                        and name not in getattr(obj, "__dict__", {})):
                    found.append(f"{cls.__qualname__}.{name} (cached_property)")
        for name in _attribute_names(obj):
            if not name.startswith("_") or name.startswith("__"):
                continue
            value = getattr(obj, name, None)
            if value is None or (isinstance(value, list) and any(v is None for v in value)):
                found.append(f"{cls.__qualname__}.{name}")
    return sorted(set(found))


def cold_advisor() -> Advisor:
    """`Advisor.load()` over rules, a second detector and language packs made afresh (a
    process shares one parse of each, which other tests may have warmed), and the English word
    list read again."""
    name, text = data_text(parser.PACKAGED_FILE, None)

    def fresh_triage(*_args: Any, **_kwargs: Any) -> Any:
        return parser._lazily_parsed.__wrapped__(name, text)[0]

    def fresh_detectors(choice: str | None = detectors.DEFAULT_DETECTOR) -> tuple[Any, ...]:
        parts = (choice or "").split("+") if choice else []
        assert all(part in detectors._BANKED for part in parts), parts
        bank = detectors.load_phrase_bank()
        return tuple(detectors._banked.__wrapped__(part, bank) for part in parts)

    english_words.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(advisor_module, "load_triage", fresh_triage)
        patch.setattr(advisor_module, "load_detectors", fresh_detectors)
        patch.setattr(loading, "_PACKS", type(loading._PACKS)())
        advisor = Advisor.load()
        assert advisor.languages is not None
        advisor.languages.load_all()  # as the product's start-up does (bot/datafiles.py)
    return advisor


@pytest.fixture(scope="module")
def warmed() -> tuple[Advisor, list[str]]:
    """A cold advisor warmed up, and what it had still to build before."""
    advisor = cold_advisor()
    before = lazy_parts(advisor)
    advisor.warm_up()
    return advisor, before


def messages() -> list[tuple[str, int | None]]:
    """Questions (blind answer batch 19), other languages (the language dev set, every
    third) and red flags told every way (triage blind batch 58, every third)."""
    answers = load_yaml(DATA / "answers_blind_19.yaml")
    languages = load_yaml(DATA / "languages_dev.yaml")
    triage = load_yaml(DATA / "triage_blind_58.yaml")
    cases = [*answers, *languages["messages"][::3],
             *(triage if isinstance(triage, list) else triage["messages"])[::3]]
    return [(case["text"], case.get("day")) for case in cases]


def forget_inputs() -> None:
    """Empty what is keyed by what patients typed: the caches of their words
    (`forget_texts`), the `re` module's cache of patterns built around them, and the
    other-language folding of single characters."""
    forget_texts()
    re.purge()
    fold_char.cache_clear()


def calls(advisor: Advisor, asked: list[tuple[str, int | None]]) -> dict[str, int]:
    """How often each function of knowledge/ and of `re` ran answering `asked`, input caches
    emptied first."""
    forget_inputs()
    profile = cProfile.Profile()
    profile.enable()
    for text, day in asked:
        advisor.ask(text, day)
    profile.disable()
    counted: dict[str, int] = {}
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (path, line, function), (_, ncalls, *_rest) in stats.items():
        if path.startswith((KNOWLEDGE, RE_PACKAGE)):
            counted[f"{path}:{line} {function}"] = ncalls
    return counted


State = dict[int, tuple[str, tuple[int, ...]]]


def state(advisor: Advisor) -> State:
    """Each object the advisor holds (by id): its type, and the ids of the objects it refers
    to."""
    return {key: (type(obj).__qualname__, tuple(map(id, gc.get_referents(obj))))
            for key, obj in held(advisor).items()}


def changed(before: State, after: State) -> list[str]:
    """The types of the objects held in one state and not the other, or holding others."""
    return sorted({(before.get(key) or after[key])[0] for key in before.keys() | after.keys()
                   if before.get(key) != after.get(key)})


def test_the_search_sees_what_is_left_to_build_and_warm_up_builds_it_all(
        warmed: tuple[Advisor, list[str]]) -> None:
    advisor, before = warmed
    # the search finds each kind of lazily built part a cold advisor has (else it proves
    # nothing): whole rules, patterns one by one, licensed patterns, the n-gram detector's
    # second index, the typo index and texts of each language
    for kind in ("Rule._compiled", "Alternatives._compiled", "Matcher.licensed_res",
                 "NgramDetector._normal", "Vocabulary._deletions", "LanguagePack.texts"):
        assert any(part.startswith(kind) for part in before), (kind, before)
    assert lazy_parts(advisor) == []
    assert english_words.cache_info().currsize == 1


def test_after_warm_up_answering_builds_nothing_more(
        warmed: tuple[Advisor, list[str]]) -> None:
    advisor, _ = warmed
    asked = messages()
    forget_inputs()
    objects = state(advisor)
    first = calls(advisor, asked)
    forget_inputs()
    assert changed(objects, state(advisor)) == []  # nothing built or changed by answering
    again = calls(advisor, asked)
    more = {name: count - again.get(name, 0) for name, count in first.items()
            if count != again.get(name, 0)}
    # a function a first pass calls more often than a second: something built on first use
    assert more == {}


def test_warm_up_is_the_same_on_a_warm_advisor(warmed: tuple[Advisor, list[str]]) -> None:
    advisor, _ = warmed
    objects = state(advisor)
    advisor.warm_up()  # what a bot forked from a warm fork server does: nothing to build
    assert state(advisor) == objects


def test_a_failed_warm_up_is_logged_and_ends(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_advisor: Advisor) -> None:
        raise ValueError("no such pattern")

    with caplog.at_level(logging.WARNING, logger="bot.warmup"):
        warm = WarmUp(Advisor.__new__(Advisor), broken).start()
        assert warm.done.wait(30)
    assert isinstance(warm.failure, ValueError) and warm.cpu_seconds is None
    assert warm.thread.daemon and "no such pattern" in caplog.text


def _thread_starts(tree: ast.AST) -> Iterator[int]:
    names = ("Thread", "ThreadPoolExecutor", "ProcessPoolExecutor", "start_new_thread", "Timer")
    for node in ast.walk(tree):
        name = (node.attr if isinstance(node, ast.Attribute)
                else node.id if isinstance(node, ast.Name) else None)
        pool = isinstance(node, ast.ImportFrom) and node.module in ("concurrent.futures",
                                                                     "_thread")
        if name in names or pool:
            yield node.lineno  # type: ignore[attr-defined]


def test_knowledge_starts_no_thread() -> None:
    """knowledge/ only takes locks; the bot layer starts the warm-up's thread."""
    found = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "knowledge").rglob(
        "*.py")) for line in _thread_starts(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []
    assert list(_thread_starts(ast.parse("import threading\nthreading.Thread(target=f)"))) == [2]


async def test_the_bot_answers_while_a_slow_warm_up_still_runs(
        fake_telegram: Any, tmp_path: Path) -> None:
    """`aftercare run` (bot/telegram/app.py `serve`) starts the warm-up once it polls and does
    not wait for it: a patient is answered while the warm-up is held back."""
    from bot.telegram.app import serve
    from tests.bot_harness import bot_settings
    from tests.databases import migrated_sqlite

    migrated_sqlite(tmp_path / "bot.db")
    settings = bot_settings(fake_telegram, tmp_path, AFTERCARE_HTTP_PORT=0)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    warmed_up: list[Advisor] = []

    def slow_warm_up(advisor: Advisor) -> None:
        started.set()
        release.wait(60)  # held back until the patient has been answered
        warmed_up.append(advisor)
        finished.set()

    stop = asyncio.Event()
    bot = asyncio.create_task(serve(settings, stop, warm_up=slow_warm_up))
    try:
        assert await asyncio.to_thread(started.wait, 60), "the warm-up never started"
        fake_telegram.user_message(5, "/start")
        await fake_telegram.wait_for_messages(5, 1)
        fake_telegram.user_message(5, "can I wear makeup?")
        answer = (await fake_telegram.wait_for_messages(5, 2))[1]
        assert "makeup" in answer["text"].lower()
        assert not finished.is_set()  # answered while the warm-up was still running
        warming = [t for t in threading.enumerate() if t.name == "advisor-warm-up"]
        assert warming and all(t.daemon for t in warming)
    finally:
        release.set()
        stop.set()
        await bot
    assert await asyncio.to_thread(finished.wait, 60)
    assert len(warmed_up) == 1 and isinstance(warmed_up[0], Advisor)


def test_warm_in_background_returns_before_the_work_ends() -> None:
    release = threading.Event()
    warm = warm_in_background(Advisor.__new__(Advisor), lambda _advisor: release.wait(60))
    assert not warm.done.is_set()  # returned while the work waits
    release.set()
    assert warm.done.wait(60) and warm.failure is None and warm.cpu_seconds is not None


async def test_a_bot_told_not_to_warm_up_answers_without_it(
        fake_telegram: Any, tmp_path: Path) -> None:
    """``AFTERCARE_WARM_UP=false`` (on by default): `serve` never starts the warm-up, and the
    bot answers as ever, each message building what it needs."""
    from bot.config import Settings
    from bot.telegram.app import serve
    from tests.bot_harness import bot_settings
    from tests.databases import migrated_sqlite

    assert Settings.model_fields["warm_up"].default is True
    migrated_sqlite(tmp_path / "bot.db")
    settings = bot_settings(fake_telegram, tmp_path, AFTERCARE_HTTP_PORT=0,
                            AFTERCARE_WARM_UP="false")
    assert settings.warm_up is False
    called: list[Advisor] = []
    before = set(threading.enumerate())
    stop = asyncio.Event()
    bot = asyncio.create_task(serve(settings, stop, warm_up=called.append))
    try:
        fake_telegram.user_message(5, "/start")
        await fake_telegram.wait_for_messages(5, 1)
        fake_telegram.user_message(5, "can I wear makeup?")
        answer = (await fake_telegram.wait_for_messages(5, 2))[1]
        assert "makeup" in answer["text"].lower()
    finally:
        stop.set()
        await bot
    assert called == []
    assert not [t for t in set(threading.enumerate()) - before if t.name == "advisor-warm-up"]
