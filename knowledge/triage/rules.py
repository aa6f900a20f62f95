"""Compiled triage rules: a sign's matchers, its day window, the fever thresholds and the
language's compiled word lists (negations, hedges, clause breaks, jokes, stories...).

A sign's patterns (its matchers and its exceptions) are a ``Rule``: the regex source, compiled
when a message first needs it (start-up time: each bot process compiled some 180,000 characters
of patterns before it could answer, and a standby may answer nothing). ``load_triage`` compiles
every rule at once unless asked not to, so ``aftercare kb check`` still names the file, line and
reason of a bad pattern before any start. ``warm_up`` (of a rule, a matcher, a sign) compiles
now what is otherwise compiled on first use: the long-running processes call ``Triage.warm_up``
in the background once they answer (bot/warmup.py).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import cached_property

from knowledge.text import Speller
from knowledge.triage.errors import TriageFileError
from knowledge.triage.frames import Frames
from knowledge.triage.prefilter import Alternatives
from knowledge.triage.slots import SlotWords

_COMPILING = threading.Lock()


class Rule:
    """A regex source compiled on first use (once: threads asking at once wait for one
    compile). ``path`` and ``line`` locate it for the error a bad source raises then."""

    __slots__ = ("source", "path", "line", "_compiled")

    def __init__(self, source: str, path: str, line: int,
                 compiled: re.Pattern[str] | None = None) -> None:
        self.source = source
        self.path = path
        self.line = line
        self._compiled = compiled

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            with _COMPILING:
                if self._compiled is None:
                    try:
                        self._compiled = re.compile(self.source)
                    except re.error as exc:
                        raise TriageFileError(self.path, self.line,
                                              f"bad regular expression ({exc.msg})") from exc
                compiled = self._compiled
        return compiled

    def warm_up(self) -> None:
        """Compile now, not on a message's first need (``Triage.warm_up``)."""
        _ = self.compiled


@dataclass(frozen=True)
class Matcher:
    """A set of patterns compiled into one regex (no capturing groups: those would stop the
    regex engine's fast prefix scan). ``licensed`` are the patterns that contain a negation word
    themselves ("cant breathe"): inside their matches that word does not cancel the sign. They
    are compiled alone only when the sign first matches (start-up time: they compiled as part of
    ``regex`` already). ``alternatives``: the same patterns one by one, each with the literal
    words one of which its every match contains (``prefilter.Alternatives``): a message is
    searched only with the patterns some of whose words it has."""

    rule: Rule | None
    licensed: tuple[str, ...]
    fever: bool
    alternatives: Alternatives | None = None
    # the slot readings among the patterns ("@reading:spreading_fast": knowledge/triage/slots.py)
    readings: tuple[str, ...] = ()

    @property
    def regex(self) -> re.Pattern[str] | None:
        """The one regex of the patterns (compiled on first use); None for fever alone."""
        return None if self.rule is None else self.rule.compiled

    @cached_property
    def licensed_res(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(source) for source in self.licensed)

    def is_licensed(self, text: str, start: int) -> bool:
        return bool(self.licensed) and any(
            pattern.match(text, start) for pattern in self.licensed_res)

    def warm_up(self) -> None:
        """Compile every pattern now: the whole regex, the licensed ones, each alternative."""
        if self.rule is not None:
            self.rule.warm_up()
        _ = self.licensed_res
        if self.alternatives is not None:
            self.alternatives.warm_up()


@dataclass(frozen=True)
class Sign:
    """One red flag: id, tier, staff rule text, day window and its patterns."""

    id: str
    tier: str
    rule: str
    day_from: int | None
    day_to: int | None
    unknown_day: bool
    primary: Matcher
    with_groups: tuple[Matcher, ...]
    unless: Rule | None  # its exceptions, compiled when one of its patterns first matches
    source: str  # "file:line" of the sign, for logs
    ask: str | None = None  # the rule-out question for a "check" sign
    # what the sign is part of when named with it: a valid match of these anywhere in the
    # message stops the sign ("itchy" with "dry and flaky" on day 3 is the day's normal course)
    without: Matcher | None = None
    # a review sign that reads the state as getting better (a bruise gone yellow and fading):
    # a second detector overrules it only with a clearly closer phrase (decide.second_opinion)
    fading: bool = False

    def warm_up(self) -> None:
        """Compile every pattern of the sign now (its matchers and its exceptions)."""
        for matcher in (self.primary, *self.with_groups,
                        *((self.without,) if self.without is not None else ())):
            matcher.warm_up()
        if self.unless is not None:
            self.unless.warm_up()

    def applies_on(self, day: int | None) -> bool:
        """Whether this sign can fire on ``day`` (None = day unknown)."""
        if day is None:
            return self.unknown_day
        if self.day_from is not None and day < self.day_from:
            return False
        return self.day_to is None or day <= self.day_to


@dataclass(frozen=True)
class Fever:
    celsius: float
    fahrenheit: float
    context: re.Pattern[str]
    not_after: re.Pattern[str]
    not_before: re.Pattern[str]
    # never a temperature when a whole number follows these ("im 38": an age); a reading with
    # a decimal after them is one ("im 38.3 right now")
    whole_before: re.Pattern[str] | None = None
    # never a temperature in a sentence that says it is the weather's, a place's or a thing's
    # ("the forecast said 38 degrees", "it was 40 degrees on holiday")
    not_around: re.Pattern[str] | None = None


@dataclass
class WordLists:
    """The language section's optional word lists, compiled: discourse filler set off by commas,
    stacked intensifiers, arrows for worse/better (``better_arrows``: the better ones), negation
    words that report an inability, degree words a figure leaves behind."""

    comma_filler_re: re.Pattern[str] | None = None
    filler_re: re.Pattern[str] | None = None  # the same filler anywhere ("i think", "honestly")
    stacked_re: re.Pattern[str] | None = None
    arrows_re: re.Pattern[str] | None = None
    better_arrows: str = ""
    inability: frozenset[str] = frozenset()
    degree_words: frozenset[str] = frozenset()
    # the pronoun reading (``pronouns``): a thing put on the skin a pronoun may stand for, the
    # words that play a state down, the words that make a part word a product ("lip liner")
    pronoun_thing_re: re.Pattern[str] | None = None
    played_down_re: re.Pattern[str] | None = None
    part_compound_re: re.Pattern[str] | None = None
    # the readings made again (``readings``): a concessive aside after a comma ("even though
    # ...", "like you said ..."), a piece that opens the clause's state (never the aside's),
    # a temperature asked about and then owned as the writer's reading (group 1 the number)
    concessive_re: re.Pattern[str] | None = None
    state_start_re: re.Pattern[str] | None = None
    owned_reading_re: re.Pattern[str] | None = None
    # the bridged reading's frame (``readings.bridge``): a part, an insertion, its predicate
    bridge_re: re.Pattern[str] | None = None
    # the frames of the other readings with their lists (``readings``: labels, asides,
    # relative clauses, pronouns ...), each matching nowhere when the file leaves it out
    frames: Frames = field(default_factory=Frames)
    # a register of regional and older words (``register``: "thrapple" throat, "out cold"
    # fainted, "wabbit" worn out, "nowt" nothing), each read as the plain words it stands for
    # before the spelling is corrected: the phrases, and one pattern finding any of them
    register: dict[str, str] = field(default_factory=dict)
    register_re: re.Pattern[str] | None = None
    # punctuation dictated as words (``dictation``: "comma", "full stop", "question mark"),
    # each pattern read as its mark before the register and the speller
    dictation: tuple[tuple[re.Pattern[str], str], ...] = ()
    # real words typed for a sign word (``confusions``: "feint" faint, "hivs" hives), which
    # the speller leaves alone: read as the sign word when the sentence names another sign
    # word (the vocabulary's own, or another confusion), after the spelling is corrected
    confusions: dict[str, str] = field(default_factory=dict)
    confusions_re: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Language:
    speller: Speller
    joke_re: re.Pattern[str]
    hyperbole_re: re.Pattern[str]
    story_present_re: re.Pattern[str]
    story_other_re: re.Pattern[str]
    story_past_re: re.Pattern[str]
    # a simple past ("my friend had hives") is a story only when the message asks about the
    # patient's own risk ("will i get that?", "just curious"); the patient's own history ("as a
    # kid", "last time ... this time") is a story whoever it is about
    story_simple_past_re: re.Pattern[str] | None
    story_asks_re: re.Pattern[str] | None
    story_self_past_re: re.Pattern[str] | None
    # figures of speech built on symptom words ("choking on the price", "dying to see results",
    # "this queue is killing me"): a hit inside one is set aside, laughing or not
    figure_re: re.Pattern[str] | None
    first_person_re: re.Pattern[str]
    hedge_re: re.Pattern[str]
    negation_re: re.Pattern[str]
    clause_re: re.Pattern[str]
    sentence_re: re.Pattern[str]
    hypothetical_re: re.Pattern[str]
    hypothetical_end_re: re.Pattern[str]
    cancelled_after_re: re.Pattern[str]
    # a person's "'s" kept a possessive while preparing a message ("my friend's lips"): the
    # words for people are vocab ``kin`` (knowledge.text.possessives)
    possessive_re: re.Pattern[str]
    # word lists of the rules file read while preparing a message (see ``WordLists``)
    words: WordLists = field(default_factory=WordLists)
    # the patient says, outside the question, that they have it now ("what should someone do if
    # their lips swell? asking for myself, mine are"): the question is no hypothetical
    hypothetical_confirmed_re: re.Pattern[str] | None = None
    # a sign in a clause with no verb, cancelled by the next clause as its predicate ("the
    # swelling on my cheek, going down now"): matched from the hit's end to that clause's end
    cancelled_next_re: re.Pattern[str] | None = None
    # a turn to the present after laughter ("but now", "still"): the laughter before it does not
    # cover what follows ("i laughed at first but now i cant breathe")
    joke_turn_re: re.Pattern[str] | None = None
    # a hyperbole word told as a real event in its sentence (after the session, minutes or hours
    # ago): laughter does not make it a joke ("lol i passed out an hour ago after my session")
    joke_real_re: re.Pattern[str] | None = None
    # the laughed-at thing said again in earnest after the laughter ("wheezing lol, it wont stop",
    # "lol but it keeps getting worse"): the laughter after the hyperbole does not spare it
    joke_earnest_re: re.Pattern[str] | None = None
    # what the patient read, watched or was sent ("horror stories about ...", "i know way too
    # much about ..."): a sign named after it in its clause is no report when the message also
    # says the patient is fine (``hearsay_fine``) and asks in general (``hearsay_asks``)
    hearsay_re: re.Pattern[str] | None = None
    hearsay_fine_re: re.Pattern[str] | None = None
    hearsay_asks_re: re.Pattern[str] | None = None
    # a question about what to do now ("what do i do?", "should i call 999?", "take her to a&e?"):
    # a simple past of someone else's ("my wife went grey after her session") is then today's
    # report, not a story the patient weighs their own risk by (``story.asks_now``)
    story_asks_now_re: re.Pattern[str] | None = None
    # someone else's reaction told as a story that is over by its end: an outcome ("shes fine
    # now", "all healed now", "turned out it was flu") or a cause ("she just hates needles");
    # the sentence is then a story whatever present word it also has (``story.closed``)
    story_closed_re: re.Pattern[str] | None = None
    # someone else's past told, then a question about the writer's own future ("my mate had
    # pus after his last year, what should i look out for?"): anyone else named
    # (``story.someone``, besides ``story.others``), the question (``story.own_future``) and
    # what the story names, a sign or the treatment (``story.told``), not a sign with a cause
    # of its own, a jab, a medicine, a sting (``story.other_cause``); see
    # ``Message.story_asked``
    story_someone_re: re.Pattern[str] | None = None
    story_own_future_re: re.Pattern[str] | None = None
    story_told_re: re.Pattern[str] | None = None
    story_other_cause_re: re.Pattern[str] | None = None
    # the large regexes above that run on every message or sentence, split into their
    # patterns (``prefilter.Alternatives``), by the regex's source: only the patterns some of
    # whose words a message has are searched
    split: dict[str, Alternatives] = field(default_factory=dict)
    # the slot lists the ``@reading:`` patterns read (the rules file's ``slots``)
    slots: SlotWords | None = None

