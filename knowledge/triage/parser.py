"""Loading the rules: ``knowledge/triage.yaml`` parsed and validated into compiled signs, vocab
tables and word lists; a malformed file fails with file, line and reason."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import yaml

from knowledge.text import Speller, possessives
from knowledge.triage.engine import Triage
from knowledge.triage.errors import TriageFileError
from knowledge.triage.frames import frame_keys, read_frames
from knowledge.triage.prefilter import Alternatives, Info
from knowledge.triage.rules import Fever, Language, Matcher, Rule, Sign, WordLists
from knowledge.triage.slots import READING_PREFIX, READINGS, SLOT_KEYS, SlotWords
from knowledge.triage.tiers import CHECK, FEVER_READING, REVIEW, TIER_RANK
from knowledge.yamlfile import FAST_SAFE_LOADER, data_text

log = logging.getLogger("knowledge.triage")
PACKAGED_FILE = "triage.yaml"


def load_triage(path: str | Path | None = None, compile_now: bool = True) -> Triage:
    """Load triage rules: the packaged ``knowledge/triage.yaml``, or the file at ``path``.

    Raises TriageFileError (a ValueError) naming the file, line and reason when it is malformed.
    ``compile_now=False`` leaves each sign's patterns to be compiled when a message first needs
    them (``rules.Rule``; start-up time): a bad one raises TriageFileError then, naming its
    sign's line; everything else is checked now.

    The same file with the same text is parsed once per process (``_parsed``).
    """
    try:
        name, text = data_text(PACKAGED_FILE, path)
    except OSError as exc:
        raise TriageFileError(
            str(path), None, f"cannot read the file ({exc.strerror or exc})"
        ) from exc
    triage = _parsed(name, text, compile_now)
    log.info("loaded %d triage signs from %s", len(triage.signs), name)
    return triage


def _parsed(name: str, text: str, compile_now: bool) -> Triage:
    """The rules the text of file ``name`` describes, shared by every load of the same file and
    text in a process (``_lazily_parsed``). With ``compile_now`` every rule's regex is compiled
    before they are returned: the same rules and regexes a parse that compiles as it goes
    makes, since that is the one thing ``compile_now`` changes (``RulesParser.rule``). When
    one does not compile, the file is parsed that way instead, to fail naming the bad
    pattern's own line."""
    triage, rules = _lazily_parsed(name, text)
    if compile_now:
        try:
            for rule in rules:
                _ = rule.compiled
        except TriageFileError:
            return RulesParser(name, compile_now=True).parse(text)
    return triage


@lru_cache(maxsize=8)
def _lazily_parsed(name: str, text: str) -> tuple[Triage, tuple[Rule, ...]]:
    """The rules of file ``name``, each compiled on first use (about 0.6 s of CPU for the
    packaged file, and as much again to compile every rule), and every rule made, parsed once
    per process for the same file and text: a ``Triage`` is not changed by use (a rule
    compiled on first use is compiled once for every holder; ``with_detectors`` builds a new
    one). A process that loads the rules more than once (``aftercare ask`` and ``kb check``
    run in one test process, the bots a fork server forks after loading the advisor) parses
    them once. A file that fails is parsed again each time."""
    parser = RulesParser(name, compile_now=False)
    return parser.parse(text), tuple(parser.rules)


_ID_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
_VOCAB_REF = re.compile(r"<([a-z_]+)>")
_FORBIDDEN_IN_PATTERN = re.compile(r"\(\?P[<=]|\\[1-9]")
_ESCAPES = re.compile(r"\\[a-zA-Z]")  # "\bnot\s" -> " not " so negation words are seen
_STR_TAG = "tag:yaml.org,2002:str"
_TOP_KEYS = {"version", "fever", "language", "vocab", "signs"}
_LANGUAGE_KEYS = {
    "vocabulary",
    "jokes",
    "story",
    "hedges",
    "negations",
    "clause_breaks",
    "sentence_breaks",
    "hypothetical",
    "hypothetical_ends",
    "cancelled_after",
}
# a hesitation set off by commas, read like filler: "was, like, kind of, a sort of greenish"
_HEDGE = r"(?:(?:a|some)\s+)?(?:kind|sort)\s+of|kinda|sorta"
_LANGUAGE_OPTIONAL = {"filler", "intensifiers", "arrows", "inability", "degree_words",
                      "hypothetical_confirmed", "cancelled_next", "pronouns", "spelling_only",
                      "readings", "register", "dictation", "confusions"}
_PRONOUN_KEYS = {"things", "played_down", "compounds"}
_READINGS_KEYS = {"concessive", "state_start", "owned"}
_READINGS_OPTIONAL = {"bridge"} | frame_keys()
_BRIDGE_KEYS = {"parts", "adverbs", "verbs"}
_OWNED_KEYS = {"pointing", "what", "at"}
_FEVER_KEYS = {"celsius", "fahrenheit", "context", "not_after", "not_before"}
_SIGN_REQUIRED = {"id", "tier", "rule", "patterns"}
_SIGN_OPTIONAL = {"days", "unknown_day", "with", "without", "unless", "note", "ask", "fading"}
_STORY_KEYS = {"present", "others", "past", "first_person"}
_STORY_OPTIONAL = {"simple_past", "asks", "asks_now", "self_past", "hearsay", "hearsay_fine",
                   "hearsay_asks", "closed", "someone", "own_future", "told",
                   "other_cause"}


def _joined(sources: list[tuple[str, yaml.Node]]) -> str:
    """Patterns as one alternation, each in a group of its own, tried in the file's order."""
    return "|".join(f"(?:{source})" for source, _ in sources)


class RulesParser:
    """Turns the YAML node tree into compiled rules, failing with the line of the bad node."""

    def __init__(self, path: str, compile_now: bool = True) -> None:
        self.path = path
        self.compile_now = compile_now
        self.rules: list[Rule] = []  # every rule made, in the file's order
        self.vocab: dict[str, str] = {}
        self.negation_re: re.Pattern[str] | None = None
        self.word_memo: dict[str, Info] = {}  # the groups the patterns share, read once

    def fail(self, node: yaml.Node | None, reason: str) -> NoReturn:
        line = node.start_mark.line + 1 if node is not None else None
        raise TriageFileError(self.path, line, reason)

    # -- entry point
    def parse(self, text: str) -> Triage:
        try:
            root = yaml.compose(text, Loader=FAST_SAFE_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise TriageFileError(self.path, line, f"invalid YAML: {exc.problem}") from exc
        except yaml.YAMLError as exc:
            raise TriageFileError(self.path, None, f"invalid YAML: {exc}") from exc
        if root is None:
            raise TriageFileError(self.path, 1, "the file is empty")
        top = self.mapping(root, "the file", _TOP_KEYS, {"slots"})
        self.version(top["version"])
        self.vocab = self.parse_vocab(top["vocab"])
        lang = self.parse_language(top["language"])
        if "slots" in top:
            lang = replace(lang, slots=self.parse_slots(top["slots"]))
        fever = self.parse_fever(top["fever"])
        signs = self.parse_signs(top["signs"])
        return Triage(signs, lang, fever, self.path)

    def version(self, node: yaml.Node) -> None:
        if self.integer(node, "version") != 1:
            self.fail(node, "unsupported version (expected 1)")

    # -- sections
    def parse_vocab(self, node: yaml.Node) -> dict[str, str]:
        vocab: dict[str, str] = {}
        for key_node, value_node in self.pairs(node, "vocab"):
            name = key_node.value
            if not re.fullmatch(r"[a-z_]+", name):
                self.fail(key_node, f"vocab name {name!r} must be lowercase letters and _")
            self.vocab = vocab  # earlier entries may be used by later ones
            vocab[name] = self.regex_source(value_node, f"vocab {name!r}")
        return vocab

    def parse_language(self, node: yaml.Node) -> Language:
        section = self.mapping(node, "language", _LANGUAGE_KEYS, _LANGUAGE_OPTIONAL)
        vocabulary = self.parse_vocabulary(section["vocabulary"])
        negation_re = self.regex_list(section["negations"], "negations")
        self.negation_re = negation_re
        story = self.mapping(section["story"], "story", _STORY_KEYS, _STORY_OPTIONAL)
        jokes = self.mapping(section["jokes"], "jokes", {"markers", "hyperbole"},
                             {"figures", "turns", "real", "earnest"})
        lists = self.word_lists(section)
        language = Language(
            speller=Speller(vocabulary, plain=self.parse_vocabulary(section["spelling_only"])
                            if "spelling_only" in section else ()),
            joke_re=self.regex_list(jokes["markers"], "jokes.markers"),
            hyperbole_re=self.regex_list(jokes["hyperbole"], "jokes.hyperbole"),
            story_present_re=self.regex_list(story["present"], "story.present"),
            story_other_re=self.regex_list(story["others"], "story.others"),
            story_past_re=self.regex_list(story["past"], "story.past"),
            first_person_re=self.regex_list(story["first_person"], "story.first_person"),
            story_simple_past_re=self.optional_list(story, "simple_past", "story"),
            story_asks_re=self.optional_list(story, "asks", "story"),
            story_asks_now_re=self.optional_list(story, "asks_now", "story"),
            story_self_past_re=self.optional_list(story, "self_past", "story"),
            story_closed_re=self.optional_list(story, "closed", "story"),
            story_someone_re=self.optional_list(story, "someone", "story"),
            story_own_future_re=self.optional_list(story, "own_future", "story"),
            story_told_re=self.optional_list(story, "told", "story"),
            story_other_cause_re=self.optional_list(story, "other_cause", "story"),
            hearsay_re=self.optional_list(story, "hearsay", "story"),
            hearsay_fine_re=self.optional_list(story, "hearsay_fine", "story"),
            hearsay_asks_re=self.optional_list(story, "hearsay_asks", "story"),
            figure_re=self.optional_list(jokes, "figures", "jokes"),
            joke_turn_re=self.optional_list(jokes, "turns", "jokes"),
            joke_real_re=self.optional_list(jokes, "real", "jokes"),
            joke_earnest_re=self.optional_list(jokes, "earnest", "jokes"),
            hedge_re=self.regex_list(section["hedges"], "hedges"),
            negation_re=negation_re,
            clause_re=self.regex_list(section["clause_breaks"], "clause_breaks"),
            sentence_re=self.regex_list(section["sentence_breaks"], "sentence_breaks"),
            hypothetical_re=self.regex_list(section["hypothetical"], "hypothetical"),
            hypothetical_end_re=self.regex_list(section["hypothetical_ends"], "hypothetical_ends"),
            cancelled_after_re=self.compile(
                self.regex_source(section["cancelled_after"], "cancelled_after"),
                section["cancelled_after"],
                "cancelled_after",
            ),
            # a person's "'s" kept (vocab `kin`, when the file has it)
            possessive_re=possessives(self.vocab.get("kin", "")),
            words=lists,
            hypothetical_confirmed_re=(
                self.regex_list(section["hypothetical_confirmed"], "hypothetical_confirmed")
                if "hypothetical_confirmed" in section else None),
            cancelled_next_re=(
                self.regex_list(section["cancelled_next"], "cancelled_next")
                if "cancelled_next" in section else None),
        )
        return replace(language, split=self.split(
            (jokes, "figures", "jokes.figures"), (section, "hypothetical", "hypothetical"),
            (story, "present", "story.present")))

    def split(self, *lists: tuple[dict[str, yaml.Node], str, str]
              ) -> dict[str, Alternatives]:
        """The language's large pattern lists that run on every message or sentence, split
        into their patterns (``prefilter.Alternatives``), by the joined regex's source."""
        found = {}
        for section, key, what in lists:
            if key in section:
                sources = self.sources(section[key], what)
                found[_joined(sources)] = Alternatives([source for source, _ in sources],
                                                       self.word_memo)
        return found

    def word_lists(self, section: dict[str, yaml.Node]) -> WordLists:
        """The optional word lists of the language section: filler, intensifiers, arrows,
        inability and degree words."""
        lists = WordLists()
        if "filler" in section:
            filler = self.alternation(section["filler"], "filler")
            lists.comma_filler_re = self.compile(
                rf"(?:^|,)\s*(?:(?:{filler}|{_HEDGE})\s*(?:,|\.{{2,}}|\u2026)\s*)+(?:{_HEDGE}\s*,?\s*)?"
                # an ellipsis after the filler is part of the pause: "is, er, ... shut"
                r"(?:(?:\.{2,}|\u2026)\s*)?",
                section["filler"], "filler")
            lists.filler_re = self.compile(rf"\b(?:{filler}|{_HEDGE})\b", section["filler"],
                                           "filler")
        if "intensifiers" in section:
            stacked = self.alternation(section["intensifiers"], "intensifiers")
            lists.stacked_re = self.compile(rf"\b({stacked})(?:\s*,?\s*\1\b)+",
                                            section["intensifiers"], "intensifiers")
        if "arrows" in section:
            arrows = self.mapping(section["arrows"], "arrows", {"worse", "better"}, set())
            worse = self.characters(arrows["worse"], "arrows.worse")
            lists.better_arrows = self.characters(arrows["better"], "arrows.better")
            lists.arrows_re = re.compile(f"(?:[{re.escape(worse)}]\ufe0f?)+"
                                         f"|(?:[{re.escape(lists.better_arrows)}]\ufe0f?)+")
        if "inability" in section:
            lists.inability = frozenset(self.words(section["inability"], "inability"))
        if "degree_words" in section:
            lists.degree_words = frozenset(self.words(section["degree_words"], "degree_words"))
        if "pronouns" in section:
            pronouns = self.mapping(section["pronouns"], "pronouns", _PRONOUN_KEYS, set())
            lists.pronoun_thing_re, lists.played_down_re, lists.part_compound_re = (
                self.whole_words(pronouns[key], f"pronouns.{key}")
                for key in ("things", "played_down", "compounds"))
        if "readings" in section:
            self.readings(section["readings"], lists)
        if "register" in section:
            lists.register = self.register(section["register"])
            lists.register_re = re.compile(
                r"(?<![a-z])(?:" + "|".join(re.escape(phrase) for phrase in sorted(
                    lists.register, key=len, reverse=True)) + r")(?![a-z])")
        if "dictation" in section:
            lists.dictation = self.dictation(section["dictation"])
        if "confusions" in section:
            lists.confusions = self.register(section["confusions"], "confusions")
            lists.confusions_re = re.compile(
                r"(?<![a-z])(?:" + "|".join(re.escape(word) for word in sorted(
                    lists.confusions, key=len, reverse=True)) + r")(?![a-z])")
        return lists

    def dictation(self, node: yaml.Node) -> tuple[tuple[re.Pattern[str], str], ...]:
        """Punctuation dictated as words: each mark (one of , . ? ! ;) and the pattern of the
        words a voice typist says for it."""
        marks: list[tuple[re.Pattern[str], str]] = []
        for key_node, value_node in self.pairs(node, "dictation"):
            mark = key_node.value
            if mark not in {",", ".", "?", "!", ";"}:
                self.fail(key_node, f"dictation: {mark!r} must be one of , . ? ! ;")
            marks.append((self.regex_one(value_node, f"dictation {mark!r}"), mark))
        return tuple(marks)

    def register(self, node: yaml.Node, name: str = "register") -> dict[str, str]:
        """The register (or the real-word confusions): each regional or older phrase
        (lowercase words, single spaces) and the plain words it is read as."""
        register: dict[str, str] = {}
        for key_node, value_node in self.pairs(node, name):
            phrase = key_node.value
            words = self.string(value_node, f"{name} {phrase!r}")
            for text, node_ in ((phrase, key_node), (words, value_node)):
                if not re.fullmatch(r"[a-z]+(?: [a-z]+)*", text):
                    self.fail(node_, f"{name}: {text!r} must be lowercase words")
            register[phrase] = words
        return register

    def readings(self, node: yaml.Node, lists: WordLists) -> None:
        """The word lists of the readings made again (knowledge/triage/prepare.py), each set in
        its frame: the concessive aside's opening words (after a comma), the words that open a
        clause's state (never part of the aside), and a temperature owned as the writer's
        reading ("thats what my thermometer says", "im at that right now"); the bridged
        reading's frame (``bridge``) and the frames of the others (knowledge/triage/frames.py).
        """
        section = self.mapping(node, "readings", _READINGS_KEYS, _READINGS_OPTIONAL)
        opening = self.alternation(section["concessive"], "readings.concessive")
        lists.concessive_re = self.compile(rf",\s*(?=(?:{opening})\b)", section["concessive"],
                                           "readings.concessive")
        state = self.alternation(section["state_start"], "readings.state_start")
        lists.state_start_re = self.compile(rf"\s*(?:{state})\b", section["state_start"],
                                            "readings.state_start")
        if "bridge" in section:
            lists.bridge_re = self.bridge(section["bridge"])
        lists.frames = read_frames(self, section)
        owned = self.mapping(section["owned"], "readings.owned", _OWNED_KEYS, set())
        pointing, what, at = (self.alternation(owned[key], f"readings.owned.{key}")
                              for key in ("pointing", "what", "at"))
        lists.owned_reading_re = self.compile(
            # the number asked about in a question ("would 38.6 be a fever?"), then a later
            # sentence that points at it as the writer's reading, not denied after
            r"(?<![\w.])(\d{2,3}(?:\.\d)?)(?:\s*(?:°|degrees?|deg)?\s*(?:c|f)\b)?[^.!?\n]*\?+\s*"
            rf"(?:[^.!?\n]*?\b)?(?:(?:{pointing})\s+(?:(?:exactly|literally|actually|just)\s+)?"
            rf"(?:{what})|{at})(?!\s+(?:is\s+)?(?:not|never|no)\b)",
            section["owned"], "readings.owned")

    def bridge(self, node: yaml.Node) -> re.Pattern[str]:
        """The frame of the bridged reading (prepare.py `_bridged`): a subject whose head is one
        of ``parts`` (up to eight words before it: "the cut just under the left side of my chin")
        from the start of its clause and up to two ``adverbs`` after it ("the sight in my eye
        just, ..., went"), an insertion set off by commas, dashes or brackets (groups 2-4), and
        right after it up to three ``adverbs`` and one of ``verbs``; group 1 is the subject."""
        lists = self.mapping(node, "readings.bridge", _BRIDGE_KEYS, set())
        part, adverb, verb = (self.alternation(lists[key], f"readings.bridge.{key}")
                              for key in ("parts", "adverbs", "verbs"))
        return self.compile(
            r"(?:^|(?<=[.!?;:\n,])|(?<=\band)|(?<=\bbut)|(?<=\bso)|(?<=\bplus)|(?<=\bnow))"
            rf"(\s*(?:[a-z0-9]+\s+){{0,8}}?(?:{part})(?:\s+(?:{adverb})){{0,2}})"
            r"(?:\s*,\s*([^.!?;\n]{2,220}?)\s*,|\s+-\s+([^.!?\n]{2,120}?)\s+-"
            r"|\s*\(([^()\n]{2,120})\)\s*,?)"
            rf"(?=\s*(?:(?:{adverb})\s+){{0,3}}(?:{verb})\b)", node, "readings.bridge")

    def whole_words(self, node: yaml.Node, what: str) -> re.Pattern[str]:
        """A list of word patterns as one regex of whole words; a pattern that matches an
        empty word (it would match everywhere) fails with its line."""
        for item in self.sequence(node, what):
            if self.compile(f"(?:{self.regex_source(item, what)})\\Z", item, what).match(""):
                self.fail(item, f"{what}: {item.value!r} matches an empty word")
        return self.compile(rf"\b(?:{self.alternation(node, what)})\b", node, what)

    def alternation(self, node: yaml.Node, what: str) -> str:
        """The patterns of a list joined as one alternation (tried in the file's order); each
        alone names its line when the whole does not compile."""
        items = self.sequence(node, what)
        if not items:
            self.fail(node, f"{what} must list at least one pattern")
        sources = [self.regex_source(item, what) for item in items]
        try:
            re.compile("|".join(sources))
        except re.error:
            for source, item in zip(sources, items, strict=True):
                self.compile(source, item, what)
            self.compile("|".join(sources), node, what)
        return "|".join(sources)

    def characters(self, node: yaml.Node, what: str) -> str:
        """A list of single characters (arrows) as one string."""
        chars = []
        for item in self.sequence(node, what):
            char = self.string(item, what)
            if len(char) != 1:
                self.fail(item, f"{what}: {char!r} must be a single character")
            chars.append(char)
        if not chars:
            self.fail(node, f"{what} must list at least one character")
        return "".join(chars)

    def words(self, node: yaml.Node, what: str) -> list[str]:
        """A list of lowercase words (or phrases of words separated by single spaces)."""
        words = []
        for item in self.sequence(node, what):
            word = self.string(item, what)
            if not re.fullmatch(r"[a-z]+(?: [a-z]+)*", word):
                self.fail(item, f"{what}: {word!r} must be lowercase words")
            words.append(word)
        return words

    def parse_vocabulary(self, node: yaml.Node) -> list[str]:
        words: list[str] = []
        for item in self.sequence(node, "vocabulary"):
            word = self.string(item, "a vocabulary word").strip().lower()
            if not re.fullmatch(r"[a-z]+", word):
                self.fail(item, f"vocabulary word {word!r} must be lowercase letters only")
            words.append(word)
        if not words:
            self.fail(node, "vocabulary must list at least one word")
        return words

    def parse_slots(self, node: yaml.Node) -> SlotWords:
        """The slot lists of the ``@reading:`` patterns (knowledge/triage/slots.py)."""
        section = self.mapping(node, "slots", set(SLOT_KEYS), set())
        return SlotWords(**{key: self.regex_list(section[key], f"slots.{key}")
                            for key in SLOT_KEYS})

    def parse_fever(self, node: yaml.Node) -> Fever:
        section = self.mapping(node, "fever", _FEVER_KEYS, {"whole_before", "not_around"})
        return Fever(
            celsius=self.number(section["celsius"], "fever.celsius"),
            fahrenheit=self.number(section["fahrenheit"], "fever.fahrenheit"),
            context=self.regex_one(section["context"], "fever.context"),
            not_after=self.regex_one(section["not_after"], "fever.not_after"),
            not_before=self.regex_one(section["not_before"], "fever.not_before"),
            whole_before=(self.regex_one(section["whole_before"], "fever.whole_before")
                          if "whole_before" in section else None),
            not_around=(self.regex_one(section["not_around"], "fever.not_around")
                        if "not_around" in section else None),
        )

    def parse_signs(self, node: yaml.Node) -> tuple[Sign, ...]:
        items = self.sequence(node, "signs")
        if not items:
            self.fail(node, "signs must not be empty")
        signs: list[Sign] = []
        seen: set[str] = set()
        for item in items:
            sign = self.parse_sign(item)
            if sign.id in seen:
                self.fail(item, f"duplicate sign id {sign.id!r}")
            seen.add(sign.id)
            signs.append(sign)
        return tuple(signs)

    def parse_sign(self, node: yaml.Node) -> Sign:
        fields = self.mapping(node, "a sign", _SIGN_REQUIRED, _SIGN_OPTIONAL)
        sign_id = self.string(fields["id"], "id")
        if not _ID_RE.match(sign_id):
            self.fail(fields["id"], f"sign id {sign_id!r} must match [a-z][a-z0-9_]*")
        tier = self.string(fields["tier"], "tier")
        if tier not in TIER_RANK:
            self.fail(
                fields["tier"],
                f"unknown tier {tier!r} (expected emergency, urgent, review or check)",
            )
        day_from, day_to = self.parse_days(fields.get("days"))
        unknown_day = True
        if "unknown_day" in fields:
            unknown_day = self.boolean(fields["unknown_day"], "unknown_day")
        with_groups: tuple[Matcher, ...] = ()
        if "with" in fields:
            with_groups = tuple(
                self.matcher(group, f"{sign_id}: with")
                for group in self.sequence(fields["with"], "with")
            )
        without = None
        if "without" in fields:
            without = self.matcher(fields["without"], f"{sign_id}: without")
        unless = None
        if "unless" in fields:
            unless = self.rule(self.sources(fields["unless"], f"{sign_id}: unless"),
                               fields["unless"], f"{sign_id}: unless")
        ask = self.string(fields["ask"], "ask") if "ask" in fields else None
        fading = self.boolean(fields["fading"], "fading") if "fading" in fields else False
        if fading and tier != REVIEW:
            self.fail(fields["fading"], f"sign {sign_id!r}: only a review sign can be fading")
        if tier == CHECK and ask is None:
            self.fail(node, f"sign {sign_id!r} of tier check needs 'ask' (a follow-up id)")
        return Sign(
            id=sign_id,
            tier=tier,
            rule=self.string(fields["rule"], "rule"),
            day_from=day_from,
            day_to=day_to,
            unknown_day=unknown_day,
            primary=self.matcher(fields["patterns"], f"{sign_id}: patterns"),
            with_groups=with_groups,
            unless=unless,
            without=without,
            source=f"{self.path}:{node.start_mark.line + 1}",
            ask=ask,
            fading=fading,
        )

    def parse_days(self, node: yaml.Node | None) -> tuple[int | None, int | None]:
        if node is None:
            return None, None
        days = self.mapping(node, "days", set(), {"from", "to"})
        if not days:
            self.fail(node, "days needs 'from' and/or 'to'")
        start = self.integer(days["from"], "days.from") if "from" in days else None
        end = self.integer(days["to"], "days.to") if "to" in days else None
        for value, key in ((start, "from"), (end, "to")):
            if value is not None and value < 0:
                self.fail(days[key], f"days.{key} must be 0 or more")
        if start is not None and end is not None and end < start:
            self.fail(node, f"days.to ({end}) is before days.from ({start})")
        return start, end

    # -- patterns
    def matcher(self, node: yaml.Node, what: str) -> Matcher:
        items = self.sequence(node, what)
        if not items:
            self.fail(node, f"{what} must list at least one pattern")
        sources: list[tuple[str, yaml.Node]] = []
        licensed: list[str] = []
        fever = False
        readings: list[str] = []
        for item in items:
            source = self.regex_source(item, what)
            if source == FEVER_READING:
                fever = True
                continue
            if source.startswith(READING_PREFIX):
                readings.append(source.removeprefix(READING_PREFIX))
                continue
            sources.append((source, item))
            if self.negation_re is not None and self.negation_re.search(_ESCAPES.sub(" ", source)):
                licensed.append(source)  # checked in the combined regex below
        rule = self.rule(sources, node, what) if sources else None
        alternatives = (Alternatives([source for source, _ in sources], self.word_memo)
                        if sources else None)
        return Matcher(rule=rule, licensed=tuple(licensed), fever=fever,
                       alternatives=alternatives, readings=tuple(readings))

    def rule(self, sources: list[tuple[str, yaml.Node]], node: yaml.Node, what: str) -> Rule:
        """A sign's ``sources`` as one lazily compiled regex; compiled now (each bad one named
        by its line) unless the parser leaves that to the first message."""
        compiled = self.combined(sources, node, what) if self.compile_now else None
        rule = Rule(_joined(sources), self.path, node.start_mark.line + 1, compiled)
        self.rules.append(rule)
        return rule

    def combined(self, sources: list[tuple[str, yaml.Node]], node: yaml.Node,
                 what: str) -> re.Pattern[str]:
        """One regex of all ``sources``; compiled once (start-up time), and only when that
        fails each one alone, to name the line of the bad one."""
        try:
            return re.compile(_joined(sources))
        except re.error:
            for source, item in sources:
                self.compile(source, item, what)
            return self.compile(_joined(sources), node, what)

    def sources(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        """The expanded patterns of a list (at least one), each with its node."""
        items = self.sequence(node, what)
        if not items:
            self.fail(node, f"{what} must list at least one pattern")
        return [(self.regex_source(item, what), item) for item in items]

    def regex_list(self, node: yaml.Node, what: str) -> re.Pattern[str]:
        return self.combined(self.sources(node, what), node, what)

    def optional_list(self, section: dict[str, yaml.Node], key: str,
                      what: str) -> re.Pattern[str] | None:
        return self.regex_list(section[key], f"{what}.{key}") if key in section else None

    def regex_one(self, node: yaml.Node, what: str) -> re.Pattern[str]:
        return self.compile(self.regex_source(node, what), node, what)

    def regex_source(self, node: yaml.Node, what: str) -> str:
        source = self.string(node, what)
        if source == FEVER_READING:
            return source
        if source.startswith(READING_PREFIX):
            if source.removeprefix(READING_PREFIX) not in READINGS:
                self.fail(node, f"{what}: unknown reading {source!r} (known: "
                          f"{', '.join(READING_PREFIX + name for name in READINGS)})")
            return source
        if _FORBIDDEN_IN_PATTERN.search(source):
            self.fail(node, f"{what}: named groups and backreferences are not allowed")

        def expand(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.vocab:
                self.fail(node, f"{what}: unknown vocab name <{name}>")
            return f"(?:{self.vocab[name]})"

        return _VOCAB_REF.sub(expand, source)

    def compile(self, source: str, node: yaml.Node, what: str) -> re.Pattern[str]:
        try:
            return re.compile(source)
        except re.error as exc:
            self.fail(node, f"{what}: bad regular expression ({exc.msg}): {source[:80]!r}")

    # -- YAML node helpers
    def mapping(
        self, node: yaml.Node, what: str, required: set[str], optional: set[str]
    ) -> dict[str, yaml.Node]:
        result: dict[str, yaml.Node] = {}
        allowed = required | optional
        for key_node, value_node in self.pairs(node, what):
            key = key_node.value
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.fail(key_node, f"unknown key {key!r} in {what} (expected: {expected})")
            result[key] = value_node
        missing = sorted(required - result.keys())
        if missing:
            self.fail(node, f"{what} is missing {', '.join(repr(m) for m in missing)}")
        return result

    def pairs(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        seen: set[str] = set()
        pairs = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, f"keys in {what} must be plain text")
            if key_node.value in seen:
                self.fail(key_node, f"duplicate key {key_node.value!r} in {what}")
            seen.add(key_node.value)
            pairs.append((key_node, value_node))
        return pairs

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR_TAG or not node.value.strip():
            self.fail(node, f"{what} must be non-empty text")
        return str(node.value)

    def integer(self, node: yaml.Node, what: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            self.fail(node, f"{what} must be a whole number")
        return int(node.value)

    def number(self, node: yaml.Node, what: str) -> float:
        tags = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        if not isinstance(node, yaml.ScalarNode) or node.tag not in tags:
            self.fail(node, f"{what} must be a number")
        return float(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.fail(node, f"{what} must be true or false")
        return node.value.lower() in ("true", "yes", "on")
