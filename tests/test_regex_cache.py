"""Compiled regular expressions kept between processes (knowledge/regexes.py, and the folder
AFTERCARE_REGEX_CACHE_DIR names, bot/datafiles.py): a pattern built from a stored program is
the pattern re.compile makes; a damaged or foreign entry is compiled as usual; a bad pattern
fails as in re; a folder others may write to is not used."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.datafiles import ProgramFiles
from knowledge import regexes
from tests.processes import REPO_ROOT

PATTERNS = [r"\bcan(?:no|')?t\s+breathe\b", r"(?:lips?|tongue)\s+(?:swell\w*|puff\w*)",
            r"(?P<deg>\d+(?:\.\d+)?)\s*°?\s*c\b", "ünïcode|straße", r"(?i)Fever"]
TEXTS = ["I can't breathe", "my lips swelling", "38.5 c fever", "STRASSE straße", "fever",
         "nothing here"]


class Memory:
    """A store in memory that counts what it was asked."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.hits = 0

    def get(self, key: str) -> bytes | None:
        blob = self.blobs.get(key)
        self.hits += blob is not None
        return blob

    def put(self, key: str, blob: bytes) -> None:
        self.blobs[key] = blob


@pytest.fixture
def memory() -> Iterator[Memory]:
    store = Memory()
    regexes.use_store(store)
    try:
        yield store
    finally:
        regexes.use_store(None)


def _same(a: re.Pattern[str], b: re.Pattern[str]) -> None:
    assert a == b and a.flags == b.flags and a.groupindex == b.groupindex
    for text in TEXTS:
        assert [m.span() for m in a.finditer(text)] == [m.span() for m in b.finditer(text)]
        found, expected = a.search(text), b.search(text)
        assert (found and found.groups()) == (expected and expected.groups())


def test_a_stored_program_makes_the_pattern_re_compile_makes(memory: Memory) -> None:
    first = [regexes.compile(p) for p in PATTERNS]
    assert len(memory.blobs) == len(PATTERNS) and memory.hits == 0
    again = [regexes.compile(p) for p in PATTERNS]
    assert memory.hits == len(PATTERNS)
    for pattern, a, b in zip(PATTERNS, first, again, strict=True):
        _same(a, re.compile(pattern))
        _same(b, re.compile(pattern))


def test_damaged_or_foreign_entries_are_compiled_as_usual(memory: Memory) -> None:
    regexes.compile(PATTERNS[0])
    (key,) = memory.blobs
    for bad in (b"", b"not marshal", marshal.dumps(("another pattern", (0, [1], 0, {}, ()))),
                marshal.dumps((PATTERNS[0], (32, [999, 999], 0, {}, (None,))))):
        memory.blobs[key] = bad
        _same(regexes.compile(PATTERNS[0]), re.compile(PATTERNS[0]))


def test_a_bad_pattern_fails_as_in_re(memory: Memory) -> None:
    with pytest.raises(re.error):
        regexes.compile("(unclosed")
    assert memory.blobs == {}


def test_the_folder_keeps_programs_for_the_next_process(tmp_path: Path) -> None:
    folder = tmp_path / "cache" / "regex"
    files = ProgramFiles(folder)
    files.put("abc", b"program")
    assert files.get("abc") == b"program" and ProgramFiles(folder).get("abc") == b"program"
    assert files.get("missing") is None
    assert folder.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in folder.iterdir()] == ["abc"]  # no partial file left


def test_a_folder_others_may_write_to_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "abc").write_bytes(b"planted")
    folder.chmod(0o777)
    files = ProgramFiles(folder)
    assert files.get("abc") is None
    files.put("def", b"program")
    assert not (folder / "def").exists()


def test_the_folder_keeps_the_newest_when_it_grows_too_big(tmp_path: Path) -> None:
    files = ProgramFiles(tmp_path)
    files.KEEP = 6
    for k in range(8):
        (tmp_path / f"old{k}").write_bytes(b"x")
        os.utime(tmp_path / f"old{k}", (1000 + k, 1000 + k))
    files.put("new", b"program")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "old5", "old6", "old7"]


def test_the_rules_compile_to_the_same_patterns_in_every_process(tmp_path: Path) -> None:
    """A pattern built from a set in hash order would be new text in each process: its
    stored program never found again, and one more file each start."""
    script = ("import sys\n"
              "from knowledge import regexes\n"
              "class Keys:\n"
              "    def get(self, key): return None\n"
              "    def put(self, key, blob): print(key)\n"
              "regexes.use_store(Keys())\n"
              "from knowledge.advisor import Advisor\n"
              "Advisor.load()\n")
    runs = [subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
            for seed in ("1", "2")]
    first, second = (set(run.stdout.split()) for run in runs)
    assert len(first) > 200 and first == second
