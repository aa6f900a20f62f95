"""Loading the language files ``knowledge/languages/<code>.yaml`` into language packs, every
problem named with file and line (unknown sign ids, review-tier signs, missing templates or
placeholders, the clinic named the English way, a missing or malformed ``clinic`` section,
empty phrases, bad YAML)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from knowledge.catalogue import Wording
from knowledge.errors import KBError, Problem, ProblemCollector
from knowledge.multilingual.fold import fold
from knowledge.multilingual.hours import parse_hours
from knowledge.multilingual.lexicon import (
    SYSTEMIC_SIGN,
    TIER_RANK,
    LanguagePack,
    Phrase,
    Vocabulary,
)
from knowledge.multilingual.lexicons import Lexicons
from knowledge.text import answer_words
from knowledge.triage import Sign
from knowledge.typed_answers import FOLLOW_UP_KEYS, answer_lists
from knowledge.yamlfile import DataFileError, LineDict, LineList, Yaml, parse_yaml, read_text

LANGUAGES_DIR = Path(__file__).parent.parent / "languages"
TEMPLATE_KEYS = ("emergency", "urgent", "forwarded", "english_only", "smalltalk")
# templates a language may leave out (the English one of knowledge/messages.yaml is used):
# a routine review recognised in the language, passed on with what to watch for; the safety
# line repeated while a red flag is still open (bot/core/desk/patients.py)
OPTIONAL_TEMPLATE_KEYS = ("review_forwarded", "alert_open_emergency", "alert_open_urgent")

_REQUIRED = {"language", "name", "native", "messages", "negations", "signs", "clinic"}
_REQUIRED_HINTS = {"clinic": " (quotes: the marks around the clinic's configured name, e.g. "
                             "['«', '»']; emergency: the emergency number text used when none "
                             "is configured)"}
# what a template is filled with (knowledge/catalogue.py `Catalogue._clinic_values`)
_CLINIC_VALUES = {"clinic": "c", "Clinic": "C", "clinic_named": "", "clinic_contact": "",
                  "emergency": "112"}
# the English name ("the clinic" when none is set) where the language's own noun belongs
_ENGLISH_NAME = re.compile(r"\{[Cc]linic\}")
_ENGLISH_NAME_REASON = ("name the clinic with this language's own word, then {clinic_named} "
                        "(the configured name in quotes, or nothing), not {clinic} (English: "
                        "'the clinic' when no name is set)")
_OPTIONAL = {"negations_after", "resolved", "hedges", "hypothetical", "clause_words",
             "shorthand", "fever_context", "smalltalk", "negative_suffix", "conditional_suffix",
             "hypothetical_after", "hypothetical_lead", "mild", "not_typos", "note", "story",
             "follow_ups",
             "question_words", "generic_articles", "first_person", "figures", "protocol",
             "delight", "over", "earlier",
             "sign_advice", "check", "hours", "relatives",
             "not_resolved", "joiners", "booking", "onset", "not_sign", "instead",
             "confirmed", "inability", "concord", "no_more", "no_longer", "verb_negations",
             "verb_negation_kept", "not_hedged_before"}


def load_lexicons(signs: Iterable[Sign], directory: Path | None = None) -> Lexicons:
    """Load every ``<code>.yaml`` in ``directory`` (default: the packaged one) now: the
    validation ``aftercare kb check`` runs.

    Raises ``KBError`` listing every problem with file and line (unknown sign ids, review-tier
    signs, missing templates or placeholders, empty phrases, bad YAML).
    """
    by_id = {sign.id: sign for sign in signs}
    packs: dict[str, LanguagePack] = {}
    problems = []
    for path in language_files(directory):
        pack, found = read_pack(path, by_id)
        problems.extend(found)
        if pack is not None:
            packs[pack.code] = pack
    if problems:
        raise KBError(problems)
    return Lexicons(packs, by_id)


def lazy_lexicons(signs: Iterable[Sign], directory: Path | None = None) -> Lexicons:
    """The lexicons of every ``<code>.yaml`` in ``directory`` (default: the packaged one), each
    file read on the first message that asks for its language, or by ``Lexicons.load_all``. A
    file's problems raise ``KBError`` then. The product's start-up (bot/datafiles.py
    `load_advisor`: ``aftercare run``, the demo, ``aftercare ask``) calls ``load_all``, so a
    broken file stops it with file and line (about 0.07 s of CPU for the ten packaged files);
    what loads an advisor without it (tests, benchmarks) reads only the languages it meets."""
    by_id = {sign.id: sign for sign in signs}
    return Lexicons(LazyPacks(language_files(directory), by_id), by_id)


def language_files(directory: Path | None = None) -> list[Path]:
    """The language files, in code order (the file name is the language code)."""
    return sorted((directory or LANGUAGES_DIR).glob("*.yaml"))


def read_pack(path: Path, signs: Mapping[str, Sign]) -> tuple[LanguagePack | None,
                                                                list[Problem]]:
    """One language file parsed: its pack (None when it has problems) and its problems.

    The same file with the same text, read against signs of the same ids and tiers (all that
    the file is checked against), gives the same pack once per process (`_PACKS`): a pack is
    not changed by use (its typo index is built on first use, the same each time; its cache
    of patients' words is emptied by ``forget_texts`` with every other). ``kb check`` and
    every advisor's language files (``Advisor.load``, ``load_all`` at start-up) read the same
    ten files; parsing them took about 0.07 s of CPU each time. A file with problems is
    parsed, and reports them, each time."""
    out = ProblemCollector(str(path))
    try:
        text = read_text(path)
    except DataFileError as exc:
        out.add(exc.line, exc.reason)
        return None, out.problems
    key = (str(path), text, tuple(sorted((name, sign.tier) for name, sign in signs.items())))
    with _PACKS_LOCK:
        known = _PACKS.get(key)
    if known is not None:
        return known, []
    try:
        raw = parse_yaml(text, str(path))
    except DataFileError as exc:
        out.add(exc.line, exc.reason)
        return None, out.problems
    pack = parse_pack(raw, path, signs, out)
    if pack is None or out.problems:
        return None, out.problems
    with _PACKS_LOCK:
        _PACKS[key] = pack
        while len(_PACKS) > _PACKS_KEPT:
            del _PACKS[next(iter(_PACKS))]  # the oldest
    return pack, out.problems


# (file, its text, the signs' ids and tiers) -> its pack, oldest first
_PACKS: dict[tuple[str, str, tuple[tuple[str, str], ...]], LanguagePack] = {}
_PACKS_KEPT = 32  # the packaged languages, and a few more (a clinic's or a test's copies)
_PACKS_LOCK = threading.Lock()  # a reload, and a lazy pack, load in other threads


class LazyPacks(Mapping[str, LanguagePack]):
    """Language packs by code, each file parsed on its first lookup (once, under a lock, so two
    threads asking at once parse it once). The codes are the files' names: listing them, or
    asking whether a code is there, reads no file."""

    def __init__(self, files: Iterable[Path], signs: Mapping[str, Sign]) -> None:
        self._files = {path.stem: path for path in files}
        self._signs = signs
        self._packs: dict[str, LanguagePack] = {}
        self._lock = threading.Lock()

    def __getitem__(self, code: str) -> LanguagePack:
        pack = self._packs.get(code)
        if pack is not None:
            return pack
        path = self._files[code]  # KeyError for a language without a file, as a dict's
        with self._lock:
            if code not in self._packs:
                pack, problems = read_pack(path, self._signs)
                if problems or pack is None:
                    raise KBError(problems)
                self._packs[code] = pack
            return self._packs[code]

    def __contains__(self, code: object) -> bool:
        return code in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def parse_pack(raw: Yaml, path: Path, signs: Mapping[str, Sign],
                out: ProblemCollector) -> LanguagePack | None:
    if not isinstance(raw, LineDict):
        out.add(1, "a language file must be a mapping (language, name, native, messages, ...)")
        return None
    for key in sorted(_REQUIRED - raw.keys()):
        out.add(raw.line, f"missing {key!r}{_REQUIRED_HINTS.get(key, '')}")
    for key in sorted(raw.keys() - _REQUIRED - _OPTIONAL):
        out.add(raw.line_of(key), f"unknown key {key!r}")
    if out.problems:
        return None
    code = str(raw["language"])
    if path.stem != code:
        out.add(raw.line_of("language"), f"language {code!r} does not match the file name")
    vocab = Vocabulary()

    def words(key: str) -> list[str]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            out.add(raw.line_of(key), f"{key} must be a list of words or phrases (quote words "
                                      "YAML reads as true/false: 'no', 'yes', 'on', 'off')")
            return []
        return [fold(v).strip() for v in value]

    def slots_of(text: str, line: int, what: str) -> tuple[frozenset[int], ...]:
        slots = []
        for part in fold(text).split():
            alternatives = set()
            for alt in part.split("|"):
                prefix = alt.endswith("*")
                word = alt.rstrip("*")
                if not word:
                    out.add(line, f"{what}: empty word in {text!r}")
                    continue
                if prefix and len(word) < 2:
                    out.add(line, f"{what}: stem {alt!r} is too short")
                alternatives.add(vocab.add(word, prefix))
            slots.append(frozenset(alternatives))
        if not slots:
            out.add(line, f"{what}: empty phrase")
        return tuple(slots)

    def sequences(key: str) -> tuple[tuple[frozenset[int], ...], ...]:
        if key not in raw:
            return ()
        value = raw[key]
        if not isinstance(value, LineList):
            out.add(raw.line_of(key), f"{key} must be a list")
            return ()
        return tuple(slots_of(str(item), line, key)
                     for item, line in zip(value, value.item_lines, strict=True))

    def check_text(text: str, line: int, what: str) -> None:
        """A patient text's placeholders: the clinic's values only, the clinic named in the
        language's own way."""
        if _ENGLISH_NAME.search(text):
            out.add(line, f"{what}: {_ENGLISH_NAME_REASON}")
        try:
            text.format(**_CLINIC_VALUES)
        except (KeyError, IndexError, ValueError) as exc:
            out.add(line, f"{what}: bad placeholder ({exc})")

    messages = raw["messages"]
    templates: dict[str, str] = {}
    if not isinstance(messages, LineDict):
        out.add(raw.line_of("messages"), "messages must be a mapping")
    else:
        for key in (*TEMPLATE_KEYS, *OPTIONAL_TEMPLATE_KEYS):
            text = messages.get(key)
            if key in OPTIONAL_TEMPLATE_KEYS and text is None:
                continue
            if not isinstance(text, str) or not text.strip():
                out.add(messages.line, f"messages: missing template {key!r}")
                continue
            check_text(text, messages.line_of(key), f"messages.{key}")
            templates[key] = " ".join(text.split())
        if "emergency" in templates and "{emergency}" not in templates["emergency"]:
            out.add(messages.line_of("emergency"), "messages.emergency must name {emergency}")
        if "urgent" in templates and "{clinic_named}" not in templates["urgent"]:
            out.add(messages.line_of("urgent"), "messages.urgent must name the clinic: this "
                                                "language's word for it, then {clinic_named}")
    wording = parse_wording(raw, out)

    hours = parse_hours(raw, out)

    phrases: list[Phrase] = []
    sign_map = raw["signs"]
    if not isinstance(sign_map, LineDict):
        out.add(raw.line_of("signs"), "signs must map sign ids to lists of phrases")
    else:
        for sign_id, items in sign_map.items():
            line = sign_map.line_of(sign_id)
            sign = signs.get(str(sign_id))
            if sign is None:
                out.add(line, f"unknown sign id {sign_id!r} (not in triage.yaml)")
                continue
            if sign.tier not in TIER_RANK:
                out.add(line, f"sign {sign_id!r} is {sign.tier}: only emergency and urgent "
                              "signs are read in other languages")
                continue
            if not isinstance(items, LineList) or not items:
                out.add(line, f"{sign_id}: must be a non-empty list of phrases")
                continue
            for item, item_line in zip(items, items.item_lines, strict=True):
                if not isinstance(item, str) or not item.strip():
                    out.add(item_line, f"{sign_id}: phrases must be text")
                    continue
                whole = item.startswith("sentence:")
                far = whole or item.startswith("far:")
                body = item.removeprefix("sentence:").removeprefix("far:")
                slots = slots_of(body, item_line, sign_id)
                if slots:
                    phrases.append(Phrase(str(sign_id), slots, item, item_line, far, whole))

    by_literal: dict[int, list[int]] = {}
    for index, phrase in enumerate(phrases):
        for slot in phrase.slots:
            for literal_id in slot:
                by_literal.setdefault(literal_id, []).append(index)

    shorthand: dict[str, tuple[str, ...]] = {}
    raw_short = raw.get("shorthand", {})
    if not isinstance(raw_short, dict):
        out.add(raw.line_of("shorthand"), "shorthand must map chat words to their full form")
    else:
        for short, full in raw_short.items():
            shorthand[fold(str(short))] = tuple(fold(str(full)).split())

    def suffix(key: str) -> re.Pattern[str] | None:
        source = raw.get(key)
        if source is None:
            return None
        try:
            return re.compile(fold(str(source)))
        except re.error as exc:
            out.add(raw.line_of(key), f"{key}: bad pattern ({exc})")
            return None

    def literal_set(key: str) -> frozenset[int]:
        return frozenset(i for seq in sequences(key) for slot in seq for i in slot)

    def sub_sequences(section: Yaml, key: str, what: str) -> tuple[tuple[frozenset[int], ...], ...]:
        if not isinstance(section, LineDict) or key not in section:
            return ()
        value = section[key]
        if not isinstance(value, LineList):
            out.add(section.line_of(key), f"{what}.{key} must be a list")
            return ()
        return tuple(slots_of(str(item), line, f"{what}.{key}")
                     for item, line in zip(value, value.item_lines, strict=True))

    def sub_literals(section: Yaml, key: str, what: str) -> frozenset[int]:
        """Every literal of a section's list (``booking.sessions``), as one set."""
        return frozenset(i for seq in sub_sequences(section, key, what) for slot in seq
                         for i in slot)

    def section(name: str, keys: frozenset[str], shape: str) -> LineDict | None:
        """A mapping of word lists (``booking``, ``story``); its unknown keys are problems."""
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, LineDict):
            out.add(raw.line_of(name), f"{name} must map {shape} to lists")
            return None
        for key in sorted(value.keys() - keys):
            out.add(value.line_of(key), f"{name}: unknown key {key!r}")
        return value

    booking = section("booking", frozenset({"sessions", "ahead", "before"}), "sessions and ahead")
    story = section("story", frozenset({"others", "past", "present", "not_past"}),
                    "others, past, present and not_past")
    story_others = sub_literals(story, "others", "story")

    other_senses: dict[str, tuple[tuple[frozenset[int], ...], ...]] = {}
    raw_senses = raw.get("not_sign")
    if raw_senses is not None:
        if not isinstance(raw_senses, LineDict):
            out.add(raw.line_of("not_sign"), "not_sign must map sign ids ('a|b') to lists")
        else:
            for key in raw_senses:
                found = sub_sequences(raw_senses, key, "not_sign")
                for sign_id in str(key).split("|"):
                    if sign_id not in signs:
                        out.add(raw_senses.line_of(key), f"not_sign: unknown sign {sign_id!r}")
                        continue
                    other_senses[sign_id] = other_senses.get(sign_id, ()) + found

    follow_ups: dict[str, tuple[str, str]] = {}
    buttons = ("", "")
    typed: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    raw_follow = raw.get("follow_ups")
    if raw_follow is not None:
        if not isinstance(raw_follow, LineDict):
            out.add(raw.line_of("follow_ups"), "follow_ups must be a mapping")
        else:
            yes, no = raw_follow.get("yes_label"), raw_follow.get("no_label")
            if not (isinstance(yes, str) and yes.strip() and isinstance(no, str) and no.strip()):
                out.add(raw_follow.line, "follow_ups needs 'yes_label' and 'no_label'")
            else:
                buttons = (yes.strip(), no.strip())
            typed = _typed_answers(raw_follow, buttons, out)
            for qid, item in raw_follow.items():
                if qid in FOLLOW_UP_KEYS:
                    continue
                text = item.get("text") if isinstance(item, LineDict) else None
                no_reply = item.get("no_reply") if isinstance(item, LineDict) else None
                if not (isinstance(text, str) and text.strip() and isinstance(no_reply, str)
                        and no_reply.strip()):
                    out.add(raw_follow.line_of(qid), f"follow_ups.{qid} needs 'text' and "
                                                     "'no_reply'")
                    continue
                check_text(text, raw_follow.line_of(qid), f"follow_ups.{qid}.text")
                check_text(no_reply, raw_follow.line_of(qid), f"follow_ups.{qid}.no_reply")
                follow_ups[str(qid)] = (" ".join(text.split()), " ".join(no_reply.split()))

    sign_advice: dict[str, str] = {}
    raw_advice = raw.get("sign_advice")
    if raw_advice is not None:
        if not isinstance(raw_advice, LineDict):
            out.add(raw.line_of("sign_advice"), "sign_advice must map group ids to texts")
        else:
            for group, text in raw_advice.items():
                if not isinstance(text, str) or not text.strip():
                    out.add(raw_advice.line_of(group), f"sign_advice.{group} must be text")
                    continue
                check_text(text, raw_advice.line_of(group), f"sign_advice.{group}")
                sign_advice[str(group)] = " ".join(text.split())

    checks: list[Phrase] = []
    raw_checks = raw.get("check")
    if raw_checks is not None:
        if not isinstance(raw_checks, LineDict):
            out.add(raw.line_of("check"), "check must map question ids to lists of phrases")
        else:
            for qid, items in raw_checks.items():
                if not isinstance(items, LineList) or not items:
                    out.add(raw_checks.line_of(qid), f"check.{qid}: a non-empty list")
                    continue
                for item, item_line in zip(items, items.item_lines, strict=True):
                    far = str(item).startswith("far:")
                    slots = slots_of(str(item).removeprefix("far:"), item_line, f"check.{qid}")
                    if slots:
                        checks.append(Phrase(str(qid), slots, str(item), item_line, far))

    pack = LanguagePack(
        code=code,
        name=str(raw["name"]),
        native=str(raw["native"]),
        messages=templates,
        phrases=tuple(phrases),
        vocabulary=vocab,
        by_literal={k: tuple(v) for k, v in by_literal.items()},
        negations=frozenset(words("negations")),
        negations_after=frozenset(words("negations_after")),  # a word or a word pair
        resolved=literal_set("resolved"),
        hedges=sequences("hedges"),
        hypothetical=sequences("hypothetical"),
        figures=sequences("figures"),
        not_resolved=sequences("not_resolved"),
        joiners=frozenset(words("joiners")),
        booking_sessions=sub_literals(booking, "sessions", "booking"),
        booking_ahead=sub_literals(booking, "ahead", "booking"),
        booking_before=sub_literals(booking, "before", "booking"),
        onset=sequences("onset"),
        instead=sequences("instead"),
        no_more=sequences("no_more"),
        no_longer=sequences("no_longer"),
        confirmed=sequences("confirmed"),
        inability=suffix("inability"),
        concord=frozenset(words("concord")),
        other_senses=other_senses,
        protocol=sequences("protocol"),
        delight=sequences("delight"),
        over=sequences("over"),
        earlier=sequences("earlier"),
        not_hedged_before=literal_set("not_hedged_before"),
        verb_negations=frozenset(words("verb_negations")),
        verb_negation_kept=frozenset(words("verb_negation_kept")),
        clause_words=frozenset(words("clause_words")),
        shorthand=shorthand,
        fever_context=literal_set("fever_context"),
        mild=literal_set("mild"),
        not_typos=frozenset(words("not_typos")),
        smalltalk=frozenset(w for phrase in words("smalltalk") for w in phrase.split()),
        negative_suffix=suffix("negative_suffix"),
        conditional_suffix=suffix("conditional_suffix"),
        hypothetical_after=bool(raw.get("hypothetical_after", False)),
        path=str(path),
        story_others=story_others,
        question_words=literal_set("question_words"),
        hypothetical_lead=sequences("hypothetical_lead"),
        generic_articles=frozenset(words("generic_articles")),
        first_person=frozenset(words("first_person")),
        story_past=sub_sequences(story, "past", "story"),
        story_not_past=sub_sequences(story, "not_past", "story"),
        story_present=sub_sequences(story, "present", "story"),
        follow_ups=follow_ups,
        buttons=buttons,
        typed_answers=typed,
        sign_advice=sign_advice,
        checks=tuple(checks),
        systemic=tuple(Phrase(SYSTEMIC_SIGN, p.slots[1:], p.text, p.line, True)
                       for p in phrases
                       if p.sign == SYSTEMIC_SIGN and p.far and len(p.slots) > 1),
        hours=hours,
        relative_re=relative_pattern(words("relatives")),
        wording=wording,
    )
    return pack


def _typed_answers(raw_follow: LineDict, buttons: tuple[str, str],
                   out: ProblemCollector) -> tuple[frozenset[str], frozenset[str]]:
    """The language's rule-out answers typed instead of tapped: its ``yes_words`` /
    ``no_words`` (optional) and its two button labels, in ``answer_words`` form."""
    yes, no = answer_lists(raw_follow, out.path, out.problems)
    labels = [answer_words(label) for label in buttons]
    return (yes | {labels[0]}) - {""}, (no | {labels[1]}) - {""}


def parse_wording(raw: LineDict, out: ProblemCollector) -> Wording | None:
    """The ``clinic`` section: how the templates speak of the clinic. ``quotes``: the opening
    and closing marks around the configured name that ``{clinic_named}`` puts after the
    language's own word for the clinic ("la clínica «Rosewood Skin»"); ``emergency``: the
    language's text for ``{emergency}`` while no emergency number is configured."""
    section = raw["clinic"]
    if not isinstance(section, LineDict):
        out.add(raw.line_of("clinic"), "clinic must map 'quotes' and 'emergency'"
                                       f"{_REQUIRED_HINTS['clinic']}")
        return None
    for key in sorted(section.keys() - {"quotes", "emergency"}):
        out.add(section.line_of(key), f"clinic: unknown key {key!r}")
    quotes, emergency = section.get("quotes"), section.get("emergency")
    found = True
    if "quotes" not in section:
        out.add(raw.line_of("clinic"), "clinic: missing 'quotes' (the marks around the "
                                       "clinic's configured name: [opening, closing], "
                                       "e.g. ['«', '»'])")
        found = False
    elif not (isinstance(quotes, list) and len(quotes) == 2
              and all(isinstance(q, str) and q.strip() and not set(q) & set("{}\n")
                      for q in quotes)):
        out.add(section.line_of("quotes"), "clinic.quotes must be two marks, opening and "
                                           "closing, e.g. ['«', '»'] (no braces)")
        found = False
    if "emergency" not in section:
        out.add(raw.line_of("clinic"), "clinic: missing 'emergency' (the emergency number "
                                       "text used when none is configured, e.g. "
                                       "'112 en la UE, ...')")
        found = False
    elif not (isinstance(emergency, str) and any(ch.isdigit() for ch in emergency)
              and not set(emergency) & set("{}")):
        out.add(section.line_of("emergency"), "clinic.emergency must be text naming the "
                                              "emergency numbers (digits, no braces)")
        found = False
    if not found:
        return None
    assert isinstance(quotes, list) and isinstance(emergency, str)
    return Wording((str(quotes[0]), str(quotes[1])), " ".join(emergency.split()))


def relative_pattern(openers: Iterable[str]) -> re.Pattern[str] | None:
    """A relative clause between commas opened by one of ``openers`` (folded words; a
    trailing ``*`` takes any ending: ``котор*``)."""
    alternatives = sorted({re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "")
                           for w in openers if w.strip("*")}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r",\s*(?:" + "|".join(alternatives) + r")\b[^,.!?;\n]{3,80},")
