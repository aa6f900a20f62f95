"""The "concepts" second detector: a body part or function near an abnormal state, as classes.

The rules (knowledge/triage.yaml) list the exact state words each body part takes, and the
n-gram detector needs a phrase of the bank to be close; a red flag worded with a state word
nobody listed for that part ("breathing badly", "sight lost", "cheek twice the size") slips
past both. This detector reads concept groups (``knowledge/concepts.yaml``): per red-flag sign
group an ANCHOR family (the body part or function: breath, breathing, air, lungs ...) and a
STATE family (abnormal states: badly, hard, noisy, tight, short ...), optional ``needs`` word
lists (intensity or time words the tier depends on: "fast", "by the hour"), ``unless`` words
(normal or exertion explanations: "after a run") and a day window. A live clause (negated,
hypothetical, joking and story clauses already dropped by the rules' machinery) with an anchor
and a state within a few words of each other raises the group's sign and tier; staff see
``close to: breathing + badly (concepts)``.

Words are read through the project's normaliser (the clauses arrive normalised by
knowledge/text.py: shorthand expanded, typos corrected toward the triage vocabulary), and any
word still unknown is corrected toward this file's words by the project's ``Speller`` (edit
distance, dropped vowels, dropped g), so typos of concept words are handled as a class.

Pure: the only I/O is reading the data file; no environment is read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.findings import Finding

__all__ = ["ConceptDetector", "ConceptFinding", "ConceptGroup", "Concepts", "ConceptsError",
           "load_concepts"]

_PACKAGED_FILE = "concepts.yaml"
_TIERS = ("emergency", "urgent")
_GROUP_KEYS = {"id", "sign", "tier", "anchors", "states", "window", "needs", "unless", "days"}
_REQUIRED = {"id", "sign", "tier", "anchors", "states"}
_WORD = re.compile(r"[a-z0-9]+")
_ENTRY = re.compile(r"^[a-z0-9]+\*?(?: [a-z0-9]+\*?)*$")
_MAX_WINDOW = 8


class ConceptsError(ValueError):
    """The concepts file is missing or malformed; names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


# one entry of a family: its words; a word ending in "*" is a prefix
Entry = tuple[str, ...]


@dataclass(frozen=True)
class ConceptGroup:
    """One sign group: anchors near states raise ``sign`` at ``tier``."""

    id: str
    sign: str
    tier: str
    anchors: tuple[Entry, ...]
    states: tuple[Entry, ...]
    window: int
    needs: tuple[tuple[Entry, ...], ...]
    unless: tuple[Entry, ...]
    day_from: int | None
    day_to: int | None
    line: int

    def applies_on(self, day: int | None) -> bool:
        if day is None:
            return True
        if self.day_from is not None and day < self.day_from:
            return False
        return self.day_to is None or day <= self.day_to


@dataclass(frozen=True)
class Concepts:
    """Every group of the file, and the file's name (for errors)."""

    groups: tuple[ConceptGroup, ...]
    path: str

    def words(self) -> tuple[str, ...]:
        """Every whole word (not prefix) the groups name: the speller's vocabulary."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for entry in (*group.anchors, *group.states, *group.unless,
                          *(e for need in group.needs for e in need)):
                for word in entry:
                    seen.setdefault(word.rstrip("*"), None)
        return tuple(seen)


def _entries(path: str, value: object, line: int, what: str) -> tuple[Entry, ...]:
    from knowledge.yamlfile import LineList

    if not isinstance(value, list) or not value:
        raise ConceptsError(path, line, f"{what} must be a non-empty list of words")
    lines = value.item_lines if isinstance(value, LineList) else [line] * len(value)
    out: list[Entry] = []
    for item, item_line in zip(value, lines, strict=True):
        text = str(item).strip().lower() if isinstance(item, (str, int)) else ""
        if not _ENTRY.match(text):
            raise ConceptsError(path, item_line, f"{what}: {item!r} must be lowercase words "
                                "(a word may end in '*' for a prefix)")
        if any(len(word.rstrip("*")) < 3 for word in text.split() if word.endswith("*")):
            raise ConceptsError(path, item_line, f"{what}: prefix {item!r} is too short")
        out.append(tuple(text.split()))
    return tuple(out)


def load_concepts(path: str | Path | None = None) -> Concepts:
    """The packaged ``knowledge/concepts.yaml`` or the file at ``path``; ConceptsError if bad."""
    from importlib import resources

    from knowledge.yamlfile import DataFileError, LineDict, read_yaml

    if path is None:
        path = Path(str(resources.files("knowledge").joinpath(_PACKAGED_FILE)))
    name = str(path)
    try:
        root = read_yaml(Path(path))
    except DataFileError as exc:
        raise ConceptsError(name, exc.line or None, exc.reason) from exc
    if not isinstance(root, LineDict):
        raise ConceptsError(name, 1, "the file must be a mapping with 'version', 'window' and "
                            "'groups'")
    for key in ("version", "window", "groups"):
        if key not in root:
            raise ConceptsError(name, 1, f"missing {key!r}")
    default_window = root["window"]
    common = (_entries(name, root["unless"], root.line_of("unless"), "unless")
              if "unless" in root else ())
    if not isinstance(default_window, int) or not 0 < default_window <= _MAX_WINDOW:
        raise ConceptsError(name, root.line_of("window"),
                            f"'window' must be a whole number from 1 to {_MAX_WINDOW}")
    items = root["groups"]
    if not isinstance(items, list) or not items:
        raise ConceptsError(name, root.line_of("groups"), "'groups' must be a non-empty list")
    groups: list[ConceptGroup] = []
    seen: set[str] = set()
    for node in items:
        line = node.line if isinstance(node, LineDict) else root.line_of("groups")
        if not isinstance(node, LineDict):
            raise ConceptsError(name, line, "a group must be a mapping with id, sign, tier, "
                                "anchors and states")
        unknown = set(node) - _GROUP_KEYS
        if unknown:
            key = sorted(map(str, unknown))[0]
            raise ConceptsError(name, node.line_of(key), f"unknown field {key!r}")
        missing = _REQUIRED - set(node)
        if missing:
            raise ConceptsError(name, line, f"a group needs {', '.join(sorted(missing))}")
        gid = str(node["id"])
        if gid in seen:
            raise ConceptsError(name, node.line_of("id"), f"duplicate group id {gid!r}")
        seen.add(gid)
        tier = node["tier"]
        if tier not in _TIERS:
            raise ConceptsError(name, node.line_of("tier"),
                                f"{gid}: tier {tier!r} must be emergency or urgent")
        window = node.get("window", default_window)
        if not isinstance(window, int) or not 0 <= window <= _MAX_WINDOW:
            raise ConceptsError(name, node.line_of("window"),
                                f"{gid}: window must be a whole number from 0 to {_MAX_WINDOW}")
        needs_raw = node.get("needs", [])
        if not isinstance(needs_raw, list):
            raise ConceptsError(name, node.line_of("needs"), f"{gid}: needs must be a list of "
                                "word lists")
        needs = tuple(_entries(name, need, node.line_of("needs"), f"{gid}: needs")
                      for need in needs_raw)
        days = node.get("days", {})
        if not isinstance(days, dict) or set(days) - {"from", "to"} or not all(
                isinstance(v, int) and v >= 0 for v in days.values()):
            raise ConceptsError(name, node.line_of("days"), f"{gid}: days must be "
                                "{from: N, to: M} with whole numbers")
        groups.append(ConceptGroup(
            id=gid, sign=str(node["sign"]), tier=str(tier),
            anchors=_entries(name, node["anchors"], node.line_of("anchors"), f"{gid}: anchors"),
            states=_entries(name, node["states"], node.line_of("states"), f"{gid}: states"),
            window=window, needs=needs,
            unless=(*common, *(_entries(name, node["unless"], node.line_of("unless"),
                                        f"{gid}: unless") if "unless" in node else ())),
            day_from=days.get("from"), day_to=days.get("to"), line=line))
    return Concepts(tuple(groups), name)


# ----------------------------------------------------------------------------- matching

# what an entry is in a group: 0 anchor, 1 state, 2 unless, 3+ the group's needs lists
_ANCHOR, _STATE, _UNLESS, _NEEDS = 0, 1, 2, 3


def _word_fits(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


@dataclass(frozen=True)
class ConceptFinding(Finding):
    """A clause with an anchor near a state: ``close to: breathing + badly (concepts)``."""

    @property
    def reason(self) -> str:
        return f"close to: {self.phrase} ({self.detector})"


# (group index, role, entry)
_Use = tuple[int, int, Entry]


class ConceptDetector:
    """Anchor near state, per sign group (``knowledge/concepts.yaml``)."""

    name = "concepts"
    # second_opinion lets a second detector overrule an urgent reading of the rules to an
    # emergency only with a score this far above its threshold: a concept match is whole
    threshold = 0.5
    score = 1.0

    def __init__(self, concepts: Concepts) -> None:
        from knowledge.text import Speller

        self.concepts = concepts
        vocabulary = concepts.words()
        self._vocabulary = frozenset(vocabulary)
        self._speller = Speller(vocabulary)
        # every entry indexed by its first word (exact), or in a list when that is a prefix
        self._exact: dict[str, list[_Use]] = {}
        self._prefixed: dict[str, list[_Use]] = {}
        for index, group in enumerate(concepts.groups):
            roles: list[tuple[int, tuple[Entry, ...]]] = [
                (_ANCHOR, group.anchors), (_STATE, group.states), (_UNLESS, group.unless),
                *((_NEEDS + n, need) for n, need in enumerate(group.needs))]
            for role, entries in roles:
                for entry in entries:
                    use = (index, role, entry)
                    if entry[0].endswith("*"):
                        self._prefixed.setdefault(entry[0][:-1], []).append(use)
                    else:
                        self._exact.setdefault(entry[0], []).append(use)

        self._prefix_sizes = sorted({len(prefix) for prefix in self._prefixed})

    def _words(self, clause: str) -> list[str]:
        """The clause's words, each one that is neither a word of this file nor English (nor
        too short to tell) corrected toward this file's words by the project's speller (the
        clause was corrected toward the triage vocabulary already)."""
        from knowledge.text import english_words

        english, vocabulary = english_words(), self._vocabulary
        words = _WORD.findall(clause)
        unknown = [index for index, word in enumerate(words)
                   if not (word in vocabulary or word in english or len(word) < 4
                           or word.isdigit())]
        # a clause mostly of words that are not English is another language, not typos (as
        # the project's ``Speller.correct`` leaves it)
        if not unknown or (len(words) > 3 and len(unknown) > len(words) / 2):
            return words
        for index in unknown:
            words[index] = self._speller.word(words[index])
        return words

    def _found(self, words: Sequence[str]) -> dict[tuple[int, int], list[tuple[int, int, str]]]:
        """(group, role) -> the spans (start, end, text) of its entries in ``words``."""
        found: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
        size = len(words)
        for start, word in enumerate(words):
            uses = list(self._exact.get(word, ()))
            for prefix_size in self._prefix_sizes:
                if prefix_size > len(word):
                    break
                uses += self._prefixed.get(word[:prefix_size], ())
            for index, role, entry in uses:
                end = start + len(entry)
                if end > size or not all(_word_fits(p, w) for p, w in zip(
                        entry[1:], words[start + 1:end], strict=True)):
                    continue
                found.setdefault((index, role), []).append(
                    (start, end, " ".join(words[start:end])))
        return found

    def match(self, group: ConceptGroup, words: Sequence[str]) -> tuple[str, str] | None:
        """(anchor, state) of the closest pair of ``group`` within its window, or None."""
        index = self.concepts.groups.index(group)
        return self._pair(index, group, self._found(words))

    def _pair(self, index: int, group: ConceptGroup,
              found: dict[tuple[int, int], list[tuple[int, int, str]]]) -> tuple[str, str] | None:
        anchors, states = found.get((index, _ANCHOR)), found.get((index, _STATE))
        if not anchors or not states or (index, _UNLESS) in found:
            return None
        if any((index, _NEEDS + n) not in found for n in range(len(group.needs))):
            return None
        best: tuple[int, str, str] | None = None
        for s_start, s_end, state in states:
            for a_start, a_end, anchor in anchors:
                if a_start < s_end and s_start < a_end:
                    continue  # the same words: a part is not its own state
                gap = s_start - a_end if a_end <= s_start else a_start - s_end
                if gap <= group.window and (best is None or gap < best[0]):
                    best = (gap, anchor, state)
        return None if best is None else (best[1], best[2])

    def detect(self, clauses: Sequence[str], day: int | None) -> Finding | None:
        """The most serious group any live clause raises (file order within a tier)."""
        best: Finding | None = None
        groups = [(index, group) for index, group in enumerate(self.concepts.groups)
                  if group.applies_on(day)]
        for clause in clauses:
            words = self._words(clause)
            if len(words) < 2:
                continue
            found = self._found(words)
            if not found:
                continue
            for index, group in groups:
                if best is not None and _TIERS.index(group.tier) >= _TIERS.index(best.tier):
                    continue
                pair = self._pair(index, group, found)
                if pair is None:
                    continue
                best = ConceptFinding(group.tier, group.sign, f"{pair[0]} + {pair[1]}",
                                      self.score, clause, self.name)
                if group.tier == _TIERS[0]:
                    return best
        return best
