"""The blind batches stay blind: no run of seven words of a blind message is copied into the
material the rules, phrase banks, lexicons and knowledge base are tuned on.

Blind sets (held out, read here only to be kept out): every ``tests/data/*blind*.yaml`` with
messages, that is ``triage_blind_*.yaml`` and the answer-quality ``answers_blind_*.yaml``; every
``text`` of each is read through the project's normaliser (``knowledge.text.clean``: lowercase,
unicode and apostrophes folded, held-down letters cut, chat shorthand expanded, punctuation
dropped) and cut into word 7-grams. (``fold`` is ``clean`` and 30 two-word joins such as "make
up" -> "makeup"; its joins over whole files cost more than a second, and change nothing a copy
of seven words would show.)

Tuned material, read as plain text so that comments count as much as values, each file as one
run of words through the same normaliser (a phrase wrapped over two lines is still one phrase):

- every ``.py`` and ``.yaml`` file under ``knowledge/``: the rules, phrase banks, concept
  families, language lexicons, knowledge base and the code whose comments give examples;
- every file of ``tests/data/`` whose name does not contain "blind": ``triage_classes.yaml``,
  ``concept_classes.yaml`` and ``answer_classes.yaml`` (the class cases each fix is written
  against), ``triage_dev.yaml``, ``languages_dev.yaml`` and ``answers_dev.yaml`` (the development
  sets the rules, lexicons and matcher are built and checked on) and ``eval_questions.yaml`` (held
  out from the knowledge base's examples, but its misses are read and fixed while tuning the
  matcher, so it is development material too). A new data file is scanned unless its name says
  it is blind.

Not scanned: the blind sets themselves, ``blind_scores.md`` (the scores, which may quote a missed
message), ``blind_predated.yaml`` (below) and ``kb_blind_overlap.yaml``. That last one is the
recorded list of knowledge-base example questions that may stay although a blind message comes
close, because each was in the knowledge base before that answer batch was written (``before``) or
is one of the guidance's own phrasings (``guidance``); a 7-gram of such a question (on its own
line of ``knowledge/kb/``, under its entry) shared only with those answer batches is allowed here
too, and with no other batch. Its rows name answer batches (``before: [3]``) or triage batches
(``before_triage: [41]``); the triage rows were generated once, by a script run over git history
(the question's line was added in a commit older than the one that added the batch), because this
test does not call git (a CI clone may be shallow).

Written before the batch: a new batch is written sealed, outside the repository, by a writer
who never saw the tuned files, so a 7-gram it shares with them on the day it lands is two writers
meeting on the same words, and no copy (the tuned line could not have been taken from a batch
nobody could read). When a batch is added, ``python -m tests.test_blind_paste --record NAME``
(before anything is tuned on it) appends those grams to ``blind_predated.yaml``; such a gram is
allowed for that batch only, and any later copy of the batch's wording still fails.

Everyday speech: a 7-gram found in at least ``COMMON`` (3) distinct blind batches, each written
independently by a different writer, is how people say it ("i feel like im going to pass out",
"can i have a glass of wine"), not a copy of one message; it is allowed, and
``test_everyday_seven_grams_are_few_and_listed`` prints how many such shared grams of the tuned
files were allowed, and which (``pytest -rA``). A gram in one or two batches is a copy.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml

from knowledge.text import clean
from tests.yamldata import load_yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
N = 7
PREDATED = DATA / "blind_predated.yaml"
COMMON = 3  # distinct blind batches a 7-gram must be in to count as everyday speech
# A line break as a word: each file is cleaned in one call (a call per line took seconds) and
# the words keep their line numbers. Lowercase letters, no run of three: ``clean`` keeps it.
_BREAK = "qzxjbreakqzxj"
# a blind message's text, in any of its item's fields' orders ("- {text: ..." or "..., text: ...")
_TEXT = re.compile(r"""[{,]\s*text:\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')""")
_ITEM = re.compile(r"^\s*- ", re.MULTILINE)
_KB_ID = re.compile(r"^\s*-\s+id:\s*(\S+)")
_KB_QUESTION = re.compile(r"^\s*-\s+(.+?)\s*$")
# the two tests that read the scan run in one pytest-xdist worker, which scans once
pytestmark = pytest.mark.xdist_group("blind_paste")


def cleaned_lines(text: str) -> list[list[str]]:
    """The words of each line of `text`, read through the project's normaliser."""
    lines = clean(text.replace("\n", f" {_BREAK} ")).split(_BREAK)
    return [line.split() for line in lines]


def _grams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + N]) for i in range(len(words) - N + 1)}


def _scalar(quoted: str) -> str:
    if quoted.startswith("'"):
        return quoted[1:-1].replace("''", "'")
    try:
        return str(json.loads(quoted))
    except ValueError:  # a YAML escape JSON lacks
        return str(yaml.safe_load(quoted))


def blind_texts(path: Path) -> list[str]:
    """The messages of a blind set: every item's quoted ``text`` (read without a YAML parse,
    which took a second for the forty sets; each item must have one)."""
    source = path.read_text("utf-8")
    texts = [_scalar(quoted) for quoted in _TEXT.findall(source)]
    assert len(texts) == len(_ITEM.findall(source)), f"{path.name}: an item without a quoted text"
    return texts


def blind_sets() -> list[Path]:
    """Every held-out set of messages in tests/data (not the overlap list, not the scores)."""
    return sorted(path for path in DATA.glob("*blind*.yaml")
                  if path.name not in ("kb_blind_overlap.yaml", PREDATED.name))


@cache
def blind_grams() -> dict[tuple[str, ...], set[str]]:
    """Every word 7-gram of every blind message, with the names of the sets it is in."""
    grams: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for path in blind_sets():
        name = path.stem
        for words in cleaned_lines("\n".join(blind_texts(path))):
            for gram in _grams(words):
                grams[gram].add(name)
    return grams


def tuned_files() -> list[Path]:
    """The files whose wording must not come from a blind set."""
    knowledge = [path for path in (ROOT / "knowledge").rglob("*")
                 if path.suffix in (".py", ".yaml") and "__pycache__" not in path.parts]
    data = [path for path in DATA.iterdir() if path.is_file() and "blind" not in path.name]
    return sorted(knowledge + data)


def allowed_overlap() -> dict[tuple[str, str], set[str] | None]:
    """(entry, cleaned question) -> the answer batches it may share words with (None: any)."""
    allowed: dict[tuple[str, str], set[str] | None] = {}
    for row in load_yaml(DATA / "kb_blind_overlap.yaml"):
        batches = None if row.get("guidance") else (
            {f"answers_blind_{batch}" for batch in row.get("before", [])}
            | {f"triage_blind_{batch}" for batch in row.get("before_triage", [])})
        allowed[(row["entry"], clean(row["question"]))] = batches
    return allowed


def predated() -> dict[tuple[str, ...], set[str]]:
    """7-gram -> the batches it was already in the tuned files before (``--record``)."""
    grams: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for row in load_yaml(PREDATED) or []:
        for gram in row["grams"]:
            grams[tuple(gram.split())].add(row["batch"])
    return grams


def find_copies(blind: dict[tuple[str, ...], set[str]], files: list[Path],
                allowed: dict[tuple[str, str], set[str] | None],
                common: list[str] | None = None,
                before: dict[tuple[str, ...], set[str]] | None = None) -> list[str]:
    """One line per blind 7-gram found in a tuned file: file, line, the shared words, the sets.
    A gram in ``COMMON`` or more blind batches is everyday speech: not a copy, listed in
    `common` when given."""
    copies: list[str] = []
    kb_dir = ROOT / "knowledge" / "kb"
    for path in files:
        source = path.read_text("utf-8")
        questions: dict[int, tuple[str, str]] = {}  # line -> (entry, cleaned question), kb only
        if path.parent == kb_dir:
            entry = ""
            for number, line in enumerate(source.split("\n"), 1):
                if found := _KB_ID.match(line):
                    entry = found.group(1)
                elif found := _KB_QUESTION.match(line):
                    questions[number] = (entry, clean(found.group(1)))
        words: list[str] = []
        lines: list[int] = []
        for number, line_words in enumerate(cleaned_lines(source), 1):
            words.extend(line_words)
            lines.extend([number] * len(line_words))
        for i in range(len(words) - N + 1):
            gram = tuple(words[i:i + N])
            sets = blind.get(gram)
            if sets is None:
                continue
            # A gram is excused when every batch it is in either had it before it was written
            # (``before``) or is a batch the KB question may share words with (``allowed``).
            excused = before.get(gram, set()) if before is not None else set()
            if sets <= excused:
                continue
            first, last = lines[i], lines[i + N - 1]
            if first == last and questions.get(first) in allowed:
                batches = allowed[questions[first]]
                if batches is None or sets <= batches | excused:
                    continue
            where = f"{first}" if first == last else f"{first}-{last}"
            name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            if len(sets) >= COMMON:
                if common is not None:
                    common.append(f"{name}:{where}: {' '.join(gram)!r} ({len(sets)} batches)")
                continue
            copies.append(f"{name}:{where}: {' '.join(gram)!r} (in {', '.join(sorted(sets))})")
    return copies


@cache
def scan() -> tuple[list[str], list[str]]:
    """The copies and the everyday 7-grams of the tuned files, scanned once for both tests."""
    common: list[str] = []
    blind = blind_grams()
    assert len(blind) > 10_000, "the blind sets were not read"
    return find_copies(blind, tuned_files(), allowed_overlap(), common, predated()), common


def record(batch: str) -> int:
    """Append to ``blind_predated.yaml`` the 7-grams `batch` shares with the tuned files as they
    are now; run once, when the batch is added, before anything is tuned on it."""
    path = DATA / f"{batch}.yaml"
    grams = {gram: {batch} for words in cleaned_lines("\n".join(blind_texts(path)))
             for gram in _grams(words)}
    found = sorted({line.split(": ", 1)[1].rsplit(" (in ", 1)[0].strip("'")
                    for line in find_copies(grams, tuned_files(), allowed_overlap())})
    if found:
        with PREDATED.open("a", encoding="utf-8") as out:
            out.write(f"- batch: {batch}\n  grams:\n")
            out.writelines(f"    - {gram!r}\n" for gram in found)
    return len(found)


@pytest.fixture(scope="module", autouse=True)
def _scanned_for_this_module_only() -> Iterator[None]:
    """The blind 7-grams and the scan are kept while this module's tests run and dropped
    after them: some 125,000 tuples that the worker's garbage collector, and tests/holders.py's
    searches of the worker's memory (the privacy tests), would otherwise walk again and again
    for the rest of the run."""
    yield
    scan.cache_clear()
    blind_grams.cache_clear()


def test_no_tuned_file_copies_seven_words_of_a_blind_message() -> None:
    """A blind batch measures the product only while its wording stays out of what is tuned:
    a rule comment, phrase, lexicon entry, example question or class case sharing seven words in
    a row with a blind message was copied from it. Reword it in our own words (same class, same
    tier), never the blind message."""
    copies, _ = scan()
    assert not copies, f"{len(copies)} blind 7-grams in tuned files:\n" + "\n".join(copies)


def test_everyday_seven_grams_are_few_and_listed() -> None:
    """How many 7-grams of the tuned files were let through as everyday speech (in three or more
    blind batches), printed with each one (``pytest -rA``) so the allowance can be read; a
    sudden jump means the threshold is being used as a loophole."""
    _, common = scan()
    print(f"{len(common)} everyday 7-grams allowed (in {COMMON}+ blind batches):")
    print("\n".join(common))
    assert len(common) < 150, f"{len(common)} everyday 7-grams:\n" + "\n".join(common)


def test_a_pasted_blind_message_is_found(tmp_path: Path) -> None:
    """The scan finds a blind message pasted into a comment, wrapped over two lines, in other
    case and punctuation, and says where; a file of other words passes."""
    text = blind_texts(blind_sets()[-1])[0]
    words = text.upper().split()
    assert len(words) >= N, text
    blind = {gram: {"triage_blind_x"} for gram in _grams(cleaned_lines(text)[0])}
    pasted = tmp_path / "pasted.yaml"
    pasted.write_text("key: value\n# e.g. " + ", ".join(words[:3]) + "\n#   "
                      + " ".join(words[3:]) + "!\n", "utf-8")
    other = tmp_path / "other.yaml"
    other.write_text("# " + " ".join(reversed(words)) + "\n", "utf-8")
    copies = find_copies(blind, [pasted, other], {})
    assert copies and all(copy.startswith(f"{pasted}:2-3: ") for copy in copies[:1]), copies
    assert all("pasted.yaml" in copy and "(in triage_blind_x)" in copy for copy in copies), copies



def test_a_kb_question_shared_with_an_allowed_and_a_later_batch_is_excused_only_when_predated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KB question may share words with the answer batch it was written before; a later batch
    that happens to use the same words is excused only if ``--record`` noted the gram as already
    there when that batch arrived: both excuses together clear the gram, either alone does not."""
    import tests.test_blind_paste as scan_module
    kb = tmp_path / "knowledge" / "kb"
    kb.mkdir(parents=True)
    entry = kb / "topic.yaml"
    entry.write_text("- id: topic\n  questions:\n    - when may i return to the pool properly\n",
                     "utf-8")
    monkeypatch.setattr(scan_module, "ROOT", tmp_path)
    gram: tuple[str, ...] = ("when", "may", "i", "return", "to", "the", "pool")
    blind = {gram: {"answers_blind_x", "triage_blind_y"}}
    allowed: dict[tuple[str, str], set[str] | None] = {
        ("topic", "when may i return to the pool properly"): {"answers_blind_x"}}
    assert find_copies(blind, [entry], allowed, before={gram: {"triage_blind_y"}}) == []
    assert find_copies(blind, [entry], allowed, before={}), "a later batch, not recorded"
    assert find_copies(blind, [entry], {}, before={gram: {"triage_blind_y"}}), "not allowed"

if __name__ == "__main__":  # python -m tests.test_blind_paste --record triage_blind_NN
    if len(sys.argv) != 3 or sys.argv[1] != "--record":
        sys.exit("usage: python -m tests.test_blind_paste --record triage_blind_NN")
    print(f"{record(sys.argv[2])} 7-grams recorded as written before {sys.argv[2]}")
