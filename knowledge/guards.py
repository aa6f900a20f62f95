"""Checks that run before the matcher: out-of-scope requests and small talk.

``ScopeGuard`` reads ``scope.yaml`` (regular expressions per category: dosing, prices,
diagnosis, other treatments, everyday life). A pattern may name a word list of the file's
``lexicons`` as ``{name}`` (people, animals, body parts that were not treated, other businesses),
and a category's ``unless`` patterns veto it: a message that names the patient's own treated skin
or the treatment is not about somebody or something else. ``smalltalk_kind`` recognises a
message that is only a greeting, thanks, goodbye or acknowledgement (a pleasantry such as "hope
you're well" included), so it gets a friendly line instead of a knowledge-base guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from knowledge.errors import KBError, Problem
from knowledge.text import FILLER, GREETINGS, STOPWORDS, english_word, fold
from knowledge.triage.prefilter import Candidates, Info, Prefilter, required_words
from knowledge.yamlfile import LineDict, LineList, data_file_problems, parse_yaml, read_text

PACKAGED_SCOPE = Path(__file__).parent / "scope.yaml"


@dataclass(frozen=True)
class ScopeCategory:
    """An out-of-scope category and its compiled patterns."""

    id: str
    patterns: tuple[re.Pattern[str], ...]
    answer_entry: str | None = None  # a KB entry that answers the category (prices -> clinic)
    unless: tuple[re.Pattern[str], ...] = ()  # any of these vetoes the category
    # KB entries that answer instead when the matcher answers one of them ("is the next one
    # cheaper" is the next booking's question, not a price list's)
    defer_to: tuple[str, ...] = ()

    @cached_property
    def pattern_words(self) -> tuple[frozenset[str] | None, ...]:
        """For each pattern, literal words one of which its every match contains (None: not
        known); a form with none of them is not searched (``knowledge.triage.prefilter``)."""
        memo: dict[str, Info] = {}
        return tuple(None if pattern.flags & re.IGNORECASE
                     else required_words(pattern.pattern, memo) for pattern in self.patterns)

    def applies(self, forms: tuple[str, ...],
                candidates: tuple[Candidates, ...] | None = None) -> bool:
        """Some pattern matches one of the message's forms and no ``unless`` pattern does.
        ``candidates``: for each form, the patterns some of whose words it has
        (``ScopeGuard.category``); the others cannot match it and are not searched."""
        if candidates is None:
            hit = any(pattern.search(form) for pattern in self.patterns for form in forms)
        else:
            unknown = [i for i, words in enumerate(self.pattern_words) if words is None]
            hit = any(self.patterns[i].search(form)
                      for form, marked in zip(forms, candidates, strict=True)
                      for i in (*marked.get(id(self), ()), *unknown))
        if not hit:
            return False
        return not any(pattern.search(form) for pattern in self.unless for form in forms)


# laughter and chat markers: they colour a message, they never name its topic
_LAUGHS = frozenset(["lol", "lols", "lolol", "haha", "hahaha", "hehe", "ha", "hah", "lmao",
                     "lmfao", "rofl", "xd", "omg", "omfg", "jk", "tbh", "ngl", "fr", "lowkey"])
_DETERMINERS = frozenset(
    ["a", "an", "the", "my", "our", "his", "her", "their", "your", "ur", "this", "that", "these",
     "those", "some", "any"])
# words that end a noun phrase: prepositions, conjunctions, verbs and pronouns of a clause
_BREAK = frozenset(
    ["in", "on", "at", "for", "with", "to", "of", "and", "or", "but", "if", "when", "after",
     "before", "during", "while", "every", "is", "are", "was", "be", "been", "should", "can",
     "could", "would", "will", "do", "does", "did", "it", "i", "me", "you", "please", "so", "then",
     "too", "as", "now", "ok", "okay", "safe", "fine", "still", "yet", "again", "today", "tonight",
     "tomorrow", "from", "by", "without", "about", "between", "use", "using", "get", "have", "had",
     "off", "away", "out", "need", "needs", "more", "less", "fewer", "few", "several", "allowed",
     "alright", "normal", "good", "bad", "better", "worse", "best", "right",
     # a denial or a "since" starts a new statement ("spots on my chin, not sore", "bumps on
     # my jaw since day one"): the commas are gone once folded
     "not", "no", "never", "nothing", "since",
     # a question word starts a new clause, never a thing's head ("red lines out from the
     # area how serious"; someone's story told "years ago" is triage's story reading)
     "how", "what", "whats", "which", "why", "where", "who",
     # a laugh ends a phrase, it is never its head ("spots on my pillow lol")
     *_LAUGHS])
# a determiner that opens a noun phrase naming one thing ("my hot tub pump", "a rosemary bush")
_THING_DETERMINERS = frozenset(["my", "the", "a", "an", "our"])
# words in front of a question's subject ("how much water does a rosemary bush need")
_AUXILIARIES = frozenset(["does", "do", "did", "is", "are", "was", "were", "will", "would",
                          "can", "could", "should", "has", "have"])
# what a subject does: the verb after it ("my pump is", "my plants have", "a plant needs")
_SUBJECT_VERBS = frozenset(["is", "are", "was", "were", "has", "have", "had", "keeps", "kept",
                            "need", "needs", "needed", "wont", "isnt", "arent", "doesnt", "cant",
                            "makes", "making", "stopped", "broke", "died", "leaks", "leaking"])
# what someone said is no thing: "how soon will i see a change? my aunt said hers took a month"
# names the aunt, no thing called "said" (answers round on batch 23)
_SAYING = frozenset(["said", "says", "told", "tells", "reckons", "reckoned", "mentioned"])
# the treatment named: a message that names it is never about a thing the knowledge base does not
# know (``ObjectFrame.thing_subject``)
_TREATMENT_WORDS = frozenset(["treatment", "treatments", "session", "sessions", "microneedling",
                              "microneedled", "needling", "procedure", "aftercare", "clinic"])
# taking something off a thing, or looking after a thing: what follows is that thing ("paint
# off my front door", "clean the benches")
_REMOVED_FROM = frozenset(["off", "from", "clean", "cleaning", "fix", "fixing", "repair",
                           "repairing", "mend", "paint", "painting", "polish", "unblock"])
# nouns that a compound in front names the kind of ("dog grooming session", "tub hire prices")
_COMPOUND_HEADS = frozenset(["session", "sessions", "price", "prices", "cost", "costs"])
_PREPOSITIONS = frozenset(["for", "on"])
# determiners in front of the object of a verb ("bleed a radiator", "reschedule my parcel")
_OBJECT_DETERMINERS = frozenset(["a", "an", "the", "my", "our", "your", "his", "her", "their",
                                 "some"])
# where, not what: words of place in front of a noun phrase ("round my mouth")
_PLACES = frozenset(["round", "around", "near", "under", "over", "by", "behind", "across",
                     "through", "into", "onto", "along", "below", "above", "beside", "down",
                     "up", "back", "off", "out"])
# a choice between products ("which pillow", "the best app")
_CHOICE = frozenset(["which", "best", "recommend", "better"])
# a place that has something ("the campsite has a lake"), and the writer asking leave to use it
_HAVING = frozenset(["has", "have", "had"])
_MAY = frozenset(["can", "could", "may", "should", "shall"])


@dataclass(frozen=True)
class ObjectFrame:
    """Whose thing a clinic word is about: the noun phrase it applies to.

    A clinic verb ("shave", "peel", "moisturise") takes the noun phrase after it ("shave my
    dog"); a clinic noun ("moisturiser", "spots", "session") the one after "for" or "on" within
    a few words ("moisturiser ... for leather boots", "spots on the leaves"), or two words in
    front of it ("dog grooming session"). When that phrase's
    last word (its head) is not one of the ``own`` words (the patient's face and skin, the
    treatment, the clinic, the day), the message is about something else. Nothing is decided
    when no such phrase is found. A head that is one of the ``plans`` (a time or an occasion:
    "wax this weekend", "spf for my wedding") is the patient's own plan, so their aftercare
    question.
    """

    verbs: frozenset[str] = frozenset()
    nouns: frozenset[str] = frozenset()
    own: frozenset[str] = frozenset()
    plans: frozenset[str] = frozenset()  # a time or an occasion: the patient's own plan
    # words the knowledge base uses (its examples, keywords and titles), and people and
    # animals (another guard's business): a thing's head noun is none of these
    known: frozenset[str] = frozenset()
    # words that tie a message to the patient's treated skin or the treatment ("face", "session")
    ties: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()  # people and animals (another guard's business)
    # whether a word not on the English list is a slip for a knowledge-base word ("moisteriser");
    # None: only English words count as strange
    slip: Callable[[str], bool] | None = None
    # degree words after "a" ("a bit", "a little", "a tad"): what follows says how much, not
    # which thing ("i feel a bit dizzy" is the patient's own state, not an object)
    degree: frozenset[str] = frozenset()
    # pains a painkiller is taken for (lexicon ``pains``): "from" after one tells the pain's
    # cause ("paracetamol for a migraine from the long shift"), not what something comes off
    pains: frozenset[str] = frozenset()

    def unknown_thing(self, words: list[str]) -> str | None:
        """A word the knowledge base never uses that names the thing a shared word is about:
        a knowledge-base word with a noun phrase after it whose head is an English word the
        knowledge base does not know ("bleed a radiator", "wash a feather duvet", "reschedule
        my parcel delivery"), or, in a choice between products ("which", "best"), a
        knowledge-base noun after two such words ("a memory foam pillow"). One shared everyday
        word is no evidence for an aftercare topic when the message's object is another
        thing; a word that ties the message to the patient's skin or treatment keeps it
        ("apply a cold compress to my face"). None otherwise."""
        if not self.known or any(word in self.ties for word in words):
            return None
        choice = any(word in _CHOICE for word in words)
        for index, word in enumerate(words):
            if not self._topical(word) or self._pain_cause(words, index):
                continue
            if words[index + 1:index + 2] == ["a"] and words[index + 2:index + 3] and \
                    words[index + 2] in self.degree:
                continue
            if index + 2 < len(words) and words[index + 1] in _OBJECT_DETERMINERS:
                end = index + 2
                while (end < len(words) and end - index <= 4 and words[end] not in _BREAK
                       and words[end] not in _DETERMINERS and words[end] not in _SUBJECT_VERBS):
                    end += 1
                if end > index + 2 and self._strange(words[end - 1]):
                    return words[end - 1]
            if choice and index >= 2 and all(self._strange(w) for w in words[index - 2:index]):
                return words[index - 1]
        return None

    def _pain_cause(self, words: list[str], index: int) -> bool:
        """Whether ``words[index]`` is in the cause told after a pain, "from" a few words after
        a pain word ("paracetamol for a migraine from the long shift"): the pain is the
        thing asked about, its cause no other thing (answers round on batch 25)."""
        for at in range(max(0, index - 2), index + 1):
            if words[at] == "from" and any(w in self.pains for w in words[max(0, at - 4):at]):
                return True
        return False

    def _topical(self, word: str) -> bool:
        """A knowledge-base word that can name a topic (no function word, no place word)."""
        return (word in self.known and word not in STOPWORDS and word not in FILLER
                and word not in _BREAK and word not in _DETERMINERS and word not in _PLACES)

    def _strange(self, word: str) -> bool:
        """An English word the knowledge base never uses, not the patient's, a person, an
        animal, a time or an occasion."""
        return (word.isalpha() and len(word) > 2 and not self._known(word)
                and not self._owned(word) and word not in self.people
                and word.rstrip("s") not in self.people and word not in STOPWORDS
                and word not in FILLER and word not in _BREAK and word not in _SAYING
                and (english_word(word) or (self.slip is not None and not self.slip(word))))

    def thing_subject(self, words: list[str]) -> str | None:
        """The head noun of a thing the message is about, when the knowledge base never
        speaks of it: the subject of the message ("my hot tub pump keeps rattling", "how
        much water does a rosemary bush need"), what something comes off ("paint off my front
        door") or what is looked after ("clean the benches"). A topic word in front of it ("hot
        tub", "flaking") only says which thing; the patient's skin, plans and the clinic's
        words are never such a head. None otherwise."""
        if not self.known or any(word in _TREATMENT_WORDS for word in words):
            # (answers round on batch 23: the treatment named keeps the message, "how many
            # sessions does the average person need", "her lips swelled after her treatment";
            # a sign word alone does not, "my wallpaper is peeling")
            return None
        for index, word in enumerate(words):
            if word not in _THING_DETERMINERS:
                continue
            before = words[index - 1] if index else ""
            subject = index == 0 or (before in _AUXILIARIES and index <= 4)
            if not subject and before not in _REMOVED_FROM:
                continue
            if self._pain_cause(words, index):
                continue
            end = index + 1
            while (end < len(words) and end - index <= 3 and words[end] not in _BREAK
                   and words[end] not in _DETERMINERS and words[end] not in _SUBJECT_VERBS):
                end += 1
            if end == index + 1:
                continue
            if subject and (end >= len(words) or words[end] not in _SUBJECT_VERBS):
                continue
            head = words[end - 1]
            if subject and self._offers_own_use(words, end):
                continue
            if not self._owned(head) and not self._known(head) and head not in _SAYING:
                return head
        return None

    def _offers_own_use(self, words: list[str], verb: int) -> bool:
        """Whether the subject whose verb is ``words[verb]`` is only the place: it has something
        the knowledge base speaks of, and the writer then asks whether they may use it ("the
        campsite has a lake, could i swim there", "our villa has a jacuzzi, could i go in
        tomorrow"; answers round on batch 26). "my hot tub pump keeps rattling" is the thing."""
        if words[verb] not in _HAVING:
            return False
        offered = words[verb + 1:verb + 6]
        if not any(self._topical(word) for word in offered):
            return False
        rest = words[verb + 1:]
        return any(word in _MAY and rest[index + 1:index + 2] in (["i"], ["we"])
                   for index, word in enumerate(rest))

    def _known(self, word: str) -> bool:
        return (word in self.known or word.rstrip("s") in self.known
                or word in self.nouns or word in self.verbs)

    def foreign_object(self, words: list[str]) -> str | None:
        """The head noun of a clinic word's object when it is not the patient's, else None."""
        for index, word in enumerate(words):
            if word in self.verbs and index + 1 < len(words) and words[index + 1] in _DETERMINERS:
                heads = [self._head(words, index + 1, need_two=False)]
            elif word in self.nouns:
                heads = [self._after_preposition(words, index + 1), self._modifier(words, index)]
            else:
                continue
            for head in heads:
                if head is not None and not self._owned(head):
                    return head
        return None

    def _after_preposition(self, words: list[str], start: int) -> str | None:
        for index in range(start, min(start + 4, len(words))):
            if words[index] in _PREPOSITIONS:
                return self._head(words, index + 1, need_two=True)
        return None

    def _modifier(self, words: list[str], index: int) -> str | None:
        """Two words before the noun that are a thing of their own ("dog grooming session",
        "tub hire prices"): the first of them, when neither is the patient's or the clinic's."""
        if index < 2 or words[index] not in _COMPOUND_HEADS:
            return None
        pair = words[index - 2:index]
        if any(w in _BREAK or w in _DETERMINERS or w.isdigit() or w in self.own
               or w.rstrip("s") in self.own for w in pair):
            return None
        return pair[0]

    @staticmethod
    def _head(words: list[str], start: int, need_two: bool) -> str | None:
        """The last word of the noun phrase at ``start``; without a determiner the phrase
        must have two words ("for leather boots"), so "for redness" decides nothing."""
        index, determined = start, False
        if index < len(words) and words[index] in _DETERMINERS:
            index, determined = index + 1, True
        phrase: list[str] = []
        while (index < len(words) and len(phrase) < 3 and words[index] not in _BREAK
               and words[index] not in _DETERMINERS):
            phrase.append(words[index])
            index += 1
        if not phrase or (need_two and not determined and len(phrase) < 2):
            return None
        return phrase[-1]

    def _owned(self, head: str) -> bool:
        return (head.isdigit() or head in self.own or head.rstrip("s") in self.own
                or (head.endswith("ing") and len(head) > 5)  # "sting" is no gerund
                or head in self.plans or self._own_slip(head))

    def _own_slip(self, head: str) -> bool:
        """A slip for one of the patient's own words ("forhead", "cheeck", "jawlne"): not an
        English word, one edit (a dropped, doubled, swapped or wrong letter) from an ``own``
        word of five letters or more, so the patient's typed-in forehead is still theirs."""
        if len(head) < 5 or not head.isalpha() or english_word(head):
            return False
        long_own = (own for own in self.own if len(own) >= 5)
        return process.extractOne(head, long_own, scorer=OSA.distance, score_cutoff=1) is not None


class ScopeGuard:
    """Finds the out-of-scope category of a message, if any."""

    def __init__(self, categories: tuple[ScopeCategory, ...],
                 frame: ObjectFrame | None = None,
                 treated: frozenset[str] = frozenset(),
                 prefilter: Prefilter | None = None) -> None:
        self.categories = categories
        self.frame = frame or ObjectFrame()
        # the single words of the ``treated`` lexicon ("face", "cheeks", "lips"): a sign told of
        # one of them is about the treated skin, whoever's it is
        self.treated = treated
        # the literal words of every category's patterns, looked for in one pass per form
        self._prefilter = prefilter or Prefilter(categories)

    def category(self, text: str) -> str | None:
        # folded, and lowercased as typed with apostrophes dropped (symbols such as "£" kept)
        forms = (fold(text), re.sub(r"['\u2019\u2018`]", "", text.lower()))
        words = forms[0].split()
        if (self.frame.foreign_object(words) is not None
                or self.frame.thing_subject(words) is not None
                or self.frame.unknown_thing(words) is not None):
            return "everyday"
        candidates = tuple(self._prefilter.candidates(form) for form in forms)
        for category in self.categories:
            if category.applies(forms, candidates):
                return category.id
        return None

    def knowing(self, words: frozenset[str],
                slip: Callable[[str], bool] | None = None) -> ScopeGuard:
        """The same guard that also knows the words the knowledge base uses (folded), so a
        thing it never speaks of can be told apart (``ObjectFrame.thing_subject``), and, with
        ``slip``, which unknown words are slips for them (``ObjectFrame.unknown_thing``)."""
        frame = replace(self.frame, known=self.frame.known | words,
                        slip=slip or self.frame.slip)
        return ScopeGuard(self.categories, frame, self.treated, self._prefilter)

    def defer_to(self, category_id: str) -> tuple[str, ...]:
        """The KB entries that answer a category's message when the matcher answers them."""
        for category in self.categories:
            if category.id == category_id:
                return category.defer_to
        return ()

    def answer_entry(self, category_id: str) -> str | None:
        """The knowledge-base entry that answers a category, if it has one."""
        for category in self.categories:
            if category.id == category_id:
                return category.answer_entry
        return None


def load_scope(path: Path = PACKAGED_SCOPE) -> ScopeGuard:
    """Load scope.yaml; any problem raises ``KBError`` with file, line and reason."""
    with data_file_problems():
        text = read_text(path)
    return _parse_scope(str(path), text)


@lru_cache(maxsize=4)
def _parse_scope(path: str, text: str) -> ScopeGuard:
    """The guard the text of scope file ``path`` describes, built once per process for the
    same file and text (about 0.2 s of CPU, most of it compiling the patterns): a
    ``ScopeGuard`` is not changed by use (``knowing`` builds a new one), so every advisor
    loaded over the same file shares it. A file with problems is read again each time."""
    with data_file_problems():
        data = parse_yaml(text, path)
    raw = data.get("categories") if isinstance(data, LineDict) else None
    if not isinstance(raw, LineList):
        raise KBError([Problem(path, 1, "file must have a 'categories' list")])
    problems: list[Problem] = []
    lexicons = _lexicons(data.get("lexicons"), path, problems)
    categories = [
        _category(item, line, path, problems, lexicons)
        for item, line in zip(raw, raw.item_lines, strict=True)
    ]
    verbs, nouns, own, plans, ties, degree = (
        _words(data.get(name), path, problems)
        for name in ("clinic_verbs", "clinic_nouns", "own", "plans", "ties", "degree"))
    people = _lexicon_words(data.get("lexicons"), ("people", "animals"))
    frame = ObjectFrame(verbs, nouns, own, plans, people, ties, people, degree=degree,
                        pains=_lexicon_words(data.get("lexicons"), ("pains",)))
    if problems:
        raise KBError(problems)
    treated = _lexicon_words(data.get("lexicons"), ("treated",))
    return ScopeGuard(tuple(c for c in categories if c is not None), frame, treated)


def _words(raw: object, path: str, problems: list[Problem]) -> frozenset[str]:
    """A plain word list of the file (folded), empty when absent."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, LineList) or not all(isinstance(w, str) for w in raw):
        problems.append(Problem(path, 1, "an object-frame word list must be a list of words"))
        return frozenset()
    return frozenset(fold(w) for w in raw)


def _lexicon_words(raw: object, names: tuple[str, ...]) -> frozenset[str]:
    """The single words of some of the file's lexicons (folded); problems are reported by
    ``_lexicons``."""
    if not isinstance(raw, LineDict):
        return frozenset()
    words: set[str] = set()
    for name in names:
        listed = raw.get(name)
        if isinstance(listed, LineList):
            words.update(fold(w) for w in listed if isinstance(w, str) and " " not in w)
    return frozenset(words)


_LEXICON_NAME = re.compile(r"\{([a-z_]+)\}")


def _lexicons(raw: object, path: str, problems: list[Problem]) -> dict[str, str]:
    """Each word list as a regular-expression alternation, longest words first."""
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        problems.append(Problem(path, 1, "'lexicons' must map names to lists of words"))
        return {}
    lexicons: dict[str, str] = {}
    for name, words in raw.items():
        if not isinstance(words, LineList) or not all(isinstance(w, str) for w in words):
            problems.append(Problem(path, raw.line_of(name), f"lexicon {name!r} must be a list"))
            continue
        # longest first; words of one length alphabetically, so the pattern is the same text
        # in every process
        ordered = sorted({fold(w) for w in words}, key=lambda w: (-len(w), w))
        lexicons[name] = "(?:" + "|".join(re.escape(w) for w in ordered) + ")"
    return lexicons


def _compile(patterns: LineList, path: str, problems: list[Problem],
             lexicons: dict[str, str]) -> list[re.Pattern[str]]:
    compiled: list[re.Pattern[str]] = []
    for pattern, pattern_line in zip(patterns, patterns.item_lines, strict=True):
        text = str(pattern)
        unknown = [m.group(1) for m in _LEXICON_NAME.finditer(text) if m.group(1) not in lexicons]
        if unknown:
            problems.append(Problem(path, pattern_line, f"unknown lexicon {unknown[0]!r}"))
            continue
        text = _LEXICON_NAME.sub(lambda m: lexicons[m.group(1)], text)
        try:
            compiled.append(re.compile(text))
        except re.error as exc:
            problems.append(Problem(path, pattern_line, f"bad regular expression: {exc}"))
    return compiled


def _category(item: object, line: int, path: str, problems: list[Problem],
              lexicons: dict[str, str]) -> ScopeCategory | None:
    if not isinstance(item, LineDict) or not isinstance(item.get("id"), str):
        problems.append(Problem(path, line, "a category needs an 'id' and 'patterns'"))
        return None
    patterns = item.get("patterns")
    if not isinstance(patterns, LineList) or not patterns:
        problems.append(Problem(path, item.line_of("patterns"), "'patterns' must be a list"))
        return None
    compiled = _compile(patterns, path, problems, lexicons)
    unless = item.get("unless")
    vetoes: list[re.Pattern[str]] = []
    if isinstance(unless, LineList):
        vetoes = _compile(unless, path, problems, lexicons)
    elif unless is not None:
        problems.append(Problem(path, item.line_of("unless"), "'unless' must be a list"))
    entry = item.get("answer_entry")
    if entry is not None and not isinstance(entry, str):
        problems.append(Problem(path, item.line_of("answer_entry"), "'answer_entry' must be an id"))
        entry = None
    defer = item.get("defer_to", LineList())
    if not isinstance(defer, LineList) or not all(isinstance(e, str) for e in defer):
        problems.append(Problem(path, item.line_of("defer_to"), "'defer_to' must list ids"))
        defer = LineList()
    return ScopeCategory(item["id"], tuple(compiled), entry, tuple(vetoes), tuple(defer))


_SMALLTALK: dict[str, frozenset[str]] = {
    "thanks": frozenset(
        [
            "thanks", "thank", "thankyou", "ty", "thx", "thnx", "thanx", "tnx", "cheers", "ta",
            "appreciated", "appreciate",
            # praise is thanks ("you're a star", "ur a legend")
            "star", "legend", "gem", "angel", "lifesaver", "hero", "diamond",
        ]
    ),
    "bye": frozenset(["bye", "goodbye", "byee", "night", "goodnight", "later", "cya", "soon",
                      "ya", "laters", "ttyl"]),
    "greeting": GREETINGS,
    "ack": frozenset(
        [
            "ok", "okay", "k", "kk", "cool", "great", "nice", "perfect", "brilliant", "lovely",
            # short English slang acknowledgements ("brill", "lush", "mint", "sound")
            "brill", "brills", "lush", "mint", "sound", "grand", "champion", "magic", "smashing",
            "cracking",
            "awesome", "sure", "got", "it", "understood", "noted", "alright", "yep", "yes",
            "yeah", "fab", "amazing",
            # chat spellings of okay ("okie dokie", "okey dokey", "mkay", "righto")
            "okie", "oki", "okey", "okies", "okee", "dokie", "dokey", "doke", "dokes", "mkay",
            "righto", "roger", "gotcha", "coolio", "ace", "sweet", "okok", "kkk",
        ]
    ),
}
_SMALLTALK_EXTRA = frozenset(
    [
        "good", "so", "much", "very", "you", "a", "lot", "there", "again", "bot", "all", "x",
        "xx", "xxx", "for", "the", "that", "thats", "see", "oh", "ah", "wow", "many", "super",
        "really", "day", "have", "helpful", "useful", "anyone", "anybody", "about", "help",
        "now", "of", "your", "info", "advice", "information", "answer", "answers", "reply",
        "one", "ra", "tara",
        # laughter and "you're" around an acknowledgement or praise ("lol ok", "you're a star")
        "lol", "haha", "ha", "hah", "lmao", "youre", "ur", "such", "an", "absolute",
        # signing off a chat ("speak later", "talk to you soon", "catch up soon")
        "speak", "talk", "chat", "catch", "up", "to",
    ]
)
# "hope you're well", "hope all is good": a pleasantry, dropped before the words are checked
_PLEASANTRY = frozenset(
    [
        "hope", "youre", "ur", "you", "are", "well", "alls", "its", "having", "doing", "keeping",
        "all", "is",
        "everything", "things", "a", "good", "great", "nice", "lovely", "day", "weekend", "week",
        "ok", "okay", "fine",
    ]
)


# acknowledgements said in two words, read as "ok" ("will do", "sounds good", "no worries")
_ACK_PHRASES = re.compile(r"\b(will do|sounds good|sounds great|no worries|no problem|no probs"
                          r"|fair enough|makes sense|okey dokey|okie dokie|spot on"
                          # being reassured is an acknowledgement ("that's put my mind at ease")
                          r"|(?:put|puts|set|sets|putting|setting) (?:my|your) mind at "
                          r"(?:rest|ease)|(?:a )?weight off my (?:mind|shoulders)"
                          r"|(?:thats|that is|so|very|really) reassuring)\b")
# An emoji-only message is small talk when its emoji are friendly ones: thanks, a wave, or an
# acknowledgement (a thumbs up, a smile). Any other emoji (a crying face, a thermometer) is not
# small talk: it gets the "didn't catch that" reply with suggestions (guidance §4).
_EMOJI_KINDS: dict[str, frozenset[str]] = {
    "thanks": frozenset("\U0001F64F\u2764\U0001F495\U0001F496\U0001F497\U0001F493\U0001F49E"
                        "\U0001F49B\U0001F49C\U0001F499\U0001F49A\U0001F90D\U0001F5A4\U0001F9E1"
                        "\U0001F618\U0001F970\U0001F60D\U0001F917\U0001F490\U0001F339\U0001F338"),
    "bye": frozenset("\U0001F44B"),
    "ack": frozenset("\U0001F44D\U0001F44C\u2705\u2714\U0001F642\U0001F60A\U0001F600\U0001F601"
                     "\U0001F603\U0001F604\u263A\U0001F197\U0001F4AF\U0001F64C\U0001F44F\u2728"
                     "\U0001F60E\U0001F919\u270C\U0001F4AA\U0001F44A\U0001F91E\U0001F609\U0001F607"
                     "\U0001F973\u2B50\U0001F31F"),
}
# variation selectors, skin tones and joiners that ride on an emoji
_EMOJI_MARKS = re.compile("[\uFE0E\uFE0F\u200D\U0001F3FB-\U0001F3FF]")


def _emoji_kind(text: str) -> str | None:
    """The small-talk kind of a message made only of friendly emoji, else None."""
    marks = [c for c in _EMOJI_MARKS.sub("", text) if not c.isspace()]
    if not marks or len(marks) > 12:
        return None
    friendly = frozenset().union(*_EMOJI_KINDS.values())
    if any(c not in friendly for c in marks):
        return None
    return next(kind for kind, emoji in _EMOJI_KINDS.items() if any(c in emoji for c in marks))


_SMALLTALK_VOCABULARY = _SMALLTALK_EXTRA.union(*_SMALLTALK.values())
_STRETCHED = re.compile(r"(.)\1+")


def _unstretched(word: str, vocabulary: frozenset[str]) -> str:
    """A word typed with a letter held down ("youuu", "byeee", "thankssss") as the small-talk
    word it stretches, else as typed."""
    if word in vocabulary or _STRETCHED.search(word) is None:
        return word
    for repeat in (r"\1", r"\1\1"):
        plain = _STRETCHED.sub(repeat, word)
        if plain in vocabulary:
            return plain
    return word


def smalltalk_kind(text: str) -> str | None:
    """'thanks', 'bye', 'greeting' or 'ack' when the message is only small talk (friendly
    emoji alone included), else None."""
    folded = _ACK_PHRASES.sub("ok", fold(text))
    words = folded.split()
    if not words:
        return _emoji_kind(text)
    if len(words) > 8:
        return None
    if "hope" in words:
        words = [word for word in words if word not in _PLEASANTRY]
        if not words:
            return "greeting"
    vocabulary = _SMALLTALK_VOCABULARY
    words = [_unstretched(word, vocabulary) for word in words]
    if any(word not in vocabulary for word in words):
        return None
    if words[0] == "see" and len(words) > 1 and words[1] in ("you", "ya", "u"):
        return "bye"  # "see you", "see ya later"
    for kind, kind_words in _SMALLTALK.items():
        if any(word in kind_words for word in words):
            return kind
    return None
