"""Match a patient's question to a knowledge-base entry, or say that nothing fits.

Every example question is reduced to its content words once, when the matcher is built, and
indexed by word. A query is reduced the same way, its misspelt words are corrected against the
knowledge base's vocabulary (``rapidfuzz.process.extractOne``), and among the examples that
share a word with it ``rapidfuzz.process.extract`` finds the closest (for a long message, also
per sentence). Each candidate's score blends token-set similarity with how much
of the example's meaning (IDF-weighted words) the query covers; the best score per entry then
decides between three outcomes:

* ``answer``: one entry clearly fits;
* ``suggest``: a few entries might fit, the patient picks;
* ``abstain``: nothing fits well enough, so the bot does not guess.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process

from knowledge.schema import KnowledgeBase
from knowledge.text import (
    FILLER,
    SYNONYMS,
    clauses,
    content_tokens,
    english_word,
    forgettable,
    tokens,
)

Outcome = Literal["answer", "suggest", "abstain"]


# plurals and inflections that name a topic of their own ("how many sessions" is the course,
# "my next session" the booking; "threading" is hair removal, "thread" a thread lift)
_OWN_TOPIC = frozenset(["sessions", "results", "threading", "booking", "picking"])
# Phrases of a statement that set the scene and name no topic, though their words could:
# "bleeding when I got home" is not about home needling, "hot to the touch" not about touching.
_CONTEXT = re.compile(
    r"\b(?:when|after|before|once|since|as soon as) (?:i|we) (?:got|get|came|come|woke|wake|went|go"
    r"|got back|came back) (?:up|home|in|back|out|to bed|to sleep)\b"
    # going to sleep is when a symptom shows, not a question about sleeping ("itchy when I'm
    # trying to sleep")
    r"|\b(?:when|while|as) (?:i['\u2019]?m|i am) (?:trying to |tryna )?(?:get to )?"
    r"(?:sleep|nod off|drop off)\b"
    r"|\bto the touch\b|\bon (?:its|it['\u2019]?s|their) own\b|\bby (?:itself|themselves)\b"
    # the patient's own plan says by when, not what ("results in time for my wedding")
    r"|\bin time for (?:my|a|the|our|his|her) (?:\w+ )?(?:wedding|party|holiday|birthday|event"
    r"|trip|do|night out|date|interview|photos|graduation|prom|anniversary|christening)\b")
# A sign told, then the patient's makeup appointment as the time it must be sorted by ("my chin
# is peeling, what can i do about it before the makeup artist comes?"): the appointment says
# by when, the sign is the question (answers round on batch 25)
_SIGN_BEFORE_MAKEUP = re.compile(
    r"\b((?:flak\w*|peel\w*|dry|dryness|scab\w*|crust\w*|red|redness|rough|tight|itch\w*|"
    r"spots?|bumps?)\b.*?) (?:before|for|ahead of|in time for) (?:my|the|a|our|her) (?:\w+ )?"
    r"(?:makeup|make up|make-up|mua)(?: (?:trial|artist|appointment|appt|lesson|test|session|"
    r"day|run|comes|arrives)\b|(?=[?.!,]|$))")
# when the patient may do something ("when can i shave again, my beard is itchy"): the verb is
# the question, a sign told beside it is the reason for asking
_WHEN_MAY = re.compile(r"\b(when|how soon)( can| could| may| do| am| is it ok to| is it okay to|"
                       r" is it safe to)?( i| we)?( be allowed to| allowed to| ok to| okay to|"
                       r" safe to)? ([a-z]+)\b")
# what the patient asks whether or when they may use, take up again or go into ("could i sit
# in the hotel steam room after a run", "when can i restart the adapalene? ... my face feels
# normal"): the words before a time, a clause or the end name the thing asked about
_ASKED_THING = re.compile(
    r"\b(?:can|could|may|shall) (?:i|we) (?:\w+ )?(?:use|using|restart|resume|get back on|"
    # (answers round on batch 24: what may be drunk or eaten, "can i have a few pints?")
    r"have a few|have a couple of|have some|have a|drink|sink|"
    r"go back on|get back to|go back to|start using|start back on|hit|go in|go into|sit in|"
    r"have a go in|pop in|pop into|jump in|jump into) (?:the |my |a |an |our |some )?"
    # (a venue in front only says where: "the gym sauna", "the hotel steam room")
    r"(?:(?:gym|gyms|hotel|hotels|spa|leisure centre|leisure centres|club|clubs|health club) )?"
    r"((?:[a-z]+ ){0,2}?[a-z]+)(?= after\b| before\b| when\b| now\b| again\b| today\b| "
    r"tonight\b| tomorrow\b| yet\b| on day\b| from\b| if\b| or\b| at\b| in\b|[?.,!;]|$)"
    #   (or asks whether it is all right: "is the gym sauna ok after a workout?")
    r"|\b(?:is|are) (?:the |my |a |an |our )?"
    r"(?:(?:gym|gyms|hotel|hotels|spa|leisure centre|leisure centres|club|clubs|health club) )?"
    r"((?:[a-z]+ ){0,1}?[a-z]+) (?:ok|okay|alright|all right|safe|fine|allowed)\b")
# Someone "expecting" with nothing after it, or a first baby or twins, is pregnant ("my
# granddaughter is expecting. can she have it?"); not "expecting me at 6", "expecting a
# parcel" (answers round on batch 24)
_EXPECTING = re.compile(
    r"\b((?:is|shes|she is|were|we are|im|i am|are|am|s|was|currently|now) )expecting"
    r"(?= *(?:[.!?,;:]|$|again\b|(?:her|my|our|their|his) (?:first|second|third|fourth|baby|"
    r"child)\b|(?:a baby|a child|twins|triplets|in (?:january|february|march|april|may|june|"
    r"july|august|september|october|november|december|the (?:spring|summer|autumn|winter)))\b))")
# Booking a course of sessions is booking, not how many sessions a course has ("i'd like to
# book a course of three treatments"; answers round on batch 24)
_BOOK_COURSE = re.compile(
    r"\b(book|booking|book in for|book me in for|to book) (?:a|the|another|my|a full) course"
    r"(?: of (?:\w+ )?(?:treatments?|sessions?|appointments?|microneedling|needling))?\b")
# A class the patient goes to or does, named by its activity ("my bridal bootcamp class", "a
# circuits class"), is an exercise class, unless the words before it name a class of another
# kind: a subject, a craft or a course (answers round on batch 25)
_CLASS_ATTENDED = re.compile(
    r"\b((?:go|going|goes|went|get|getting|head|heading|do|doing|did|join|joining|take|taking|"
    r"attend|attending|make it|pop|popping|teach|teaching|run|running|back) (?:to |into |back to |"
    r"in |in to )?(?:my |a |an |the |our |this |her |his |their |tonights |tomorrows |the usual )?"
    r"(?!(?:[a-z]+ )?(?:english|french|spanish|german|italian|languages?|maths?|science|history|"
    r"art|arts|pottery|cooking|baking|evening|night|drawing|painting|sewing|knitting|crochet|music|"
    r"singing|piano|guitar|first aid|driving|photography|writing|makeup|make up|beauty|"
    r"antenatal|parenting|school|sign language|flower|floristry|calligraphy|cake|wine|"
    r"hypnobirthing|coding|computer|bible|sunday school|wedding dance|nail|lash|brow)\b)"
    r"(?:[a-z]+ ){1,2})class(es)?\b")
# A treatment's venue says where, not what ("a facial at the spa" is the facial, not the spa).
_VENUE = re.compile(r"\b(facials?|massages?|peels?|wax|waxing|treatments?|dermaplaning)"
                    r" (?:at|in) (?:the|a|my|that) (?:day |hotel |local )?"
                    r"(?:spa|salon|beauty salon)\b")
# The treatment day itself, and how to arrive for it, are the session's question, not the healing
# course's or makeup's ("what should i expect on treatment day", "turn up with no makeup on"):
# the phrase is read as the appointment.
_SESSION_DAY = re.compile(
    r"\b(?:on )?the day of (?:my|the|your) (?:appointment|appt|treatment|session|procedure)\b")
_ARRIVING = re.compile(
    r"\b(?:(?:turn|show|rock) up|come in|come along|come|arrive) (?:with no|without|bare ?faced"
    r"|makeup free)(?: makeup| make up| make-up)?(?: on)?\b")


# What to put on dry skin is the moisturiser's question ("so dry, what can I slap on"): with a
# dryness word, asking what to apply names the product.
_DRY = re.compile(r"\b(?:dry|drying|dried|thirsty|parched|dehydrated)\b")
_WHAT_TO_APPLY = re.compile(r"\b(?:what|anything)(?: else)? (?:can|could|should|do|shall) i "
                            r"(?:put|slap|apply|use|pop|stick|rub)\b")


def _dry_product(text: str) -> str:
    """Asking what to apply, with a dryness word, reads as asking for a moisturiser: the
    dryness is why, the product is what is asked."""
    if _DRY.search(text) is None or _WHAT_TO_APPLY.search(text) is None:
        return text
    return _WHAT_TO_APPLY.sub(" what moisturiser can i put ", _DRY.sub(" ", text))


# Picking at peeling skin is the picking question ("it's peeling and so tempting to pick it"): with
# a picking verb, the state words say why, the flakes are what is picked.
_PICK = re.compile(r"\b(?:pick|picking|picked|pull|pulling|pulled)\b"
                   r"(?! (?:up|out|a|an|which|one|something|some|any|the best|between|from)\b)")
_PEELING = re.compile(r"\b(?:peeling|peely|flaky|flaking|dry)\b")


def _picking(text: str) -> str:
    """A picking verb with a peeling word reads as picking the flakes."""
    if _PICK.search(text) is None or _PEELING.search(text) is None:
        return text
    return _PEELING.sub(" flakes ", text)


# Not making an appointment on a day is moving it ("can't make thursday, can we rebook"): the
# booking entry's question (rebooking then is rescheduling, not booking the course's next one).
_CANT_MAKE = re.compile(r"\b(?:can[\u2019']?t|cannot|can not|couldn[\u2019']?t"
                        r"|won[\u2019']?t be able to|unable to) make (?:it|my|the|this|that"
                        r"|\w+day|\w+days|tomorrow|tmrw|tmr|today|tonight|next)\b")
_REBOOK = re.compile(r"\b(?:rebook|re book|re-book)\b")


def _cant_make(text: str) -> str:
    """Not making an appointment reads as rescheduling it."""
    if _CANT_MAKE.search(text) is None:
        return text
    return _REBOOK.sub("reschedule", _CANT_MAKE.sub(" reschedule my appointment ", text))


# Another treatment's appointment is that treatment ("a dermaplaning appointment next week" asks
# about dermaplaning, not about booking the next micro-needling session).
_OTHER_APPOINTMENT = re.compile(
    r"\b(dermaplaning|dermaplane|facials?|peels?|laser|ipl|wax|waxing|threading|electrolysis"
    r"|massage|botox|filler|fillers|microdermabrasion|hydrafacial|spray tan|sunbed|sunbeds)"
    r" (?:appointment|appointments|appt|appts|booking)\b")


# Whether the treatment works on a skin concern is what it does ("does it work for acne scars"),
# not how many sessions the concern needs; "will it" (in the end) stays the results' question.
_WORKS_FOR = re.compile(
    r"\b(?:does|do|can|could) (?:it|microneedling|needling|this|the treatment|the procedure)"
    r" (?:really |actually |even )?(?:work|help) (?:for|on|with) (?:my |the |old |bad )*"
    r"(acne scars?|acne scarring|scars?|scarring|stretch ?marks|wrinkles|fine lines|lines|pores"
    r"|pigmentation|melasma|texture|sun damage|large pores|pitted scars?|ice pick scars?)\b")


def _session_frame(text: str) -> str:
    """The treatment day and arriving for it read as the session, another treatment's
    appointment as that treatment, whether it works on a skin concern as whether it is effective
    (examples and queries alike)."""
    text = _OTHER_APPOINTMENT.sub(r"\1", text)
    if "work" in text or "help" in text:
        text = _WORKS_FOR.sub(r" is microneedling effective for \1 ", text)
    text = _SESSION_DAY.sub(" during the treatment ", text)
    return _ARRIVING.sub(" arrive bare faced for the appointment ", text)


# Covering a mark up is makeup's question ("hide the redness before a job interview"): the occasion
# says why, the cover is what is asked.
_COVER_UP = re.compile(r"\b(?:cover|covering|hide|hiding|disguise) (?:up )?"
                       r"(?:the |my |this |all the )?(?:redness|red|blotch\w*|marks|dots|spots)\b")
# Looking as if the sun did it ("like I spent all day at the seaside with no sunscreen", "like I
# dozed off by the pool") describes redness: the sun is the likeness, not the question.
_SUN_LIKENESS = re.compile(
    r"\b(?:look|looks|looking) like (?:i|ive|i have|id|i had|i was|im|i am)\b[^?.!]{0,40}?"
    r"\b(?:holiday|beach|sunbathing|sunbed|sun|abroad|tanning)\b(?:[^?.!]{0,12}?"
    r"\b(?:without|no|forgot) (?:any |my )?(?:suncream|sun cream|sunscreen|spf|sun block))?")


# The blood of pinpoint bleeding named as its marks ("the dried blood dots", "specks of blood"):
# washing them off is still the bleeding's question, whose answer says how.
_BLOOD_MARKS = re.compile(r"\b(?:dried )?blood (?:spots|dots|specks|crusts)\b"
                          r"|\b(?:dots|spots|specks|crusts) of (?:dried )?blood\b")


# Whether the patient will look fit for an occasion is the downtime question ("a work party on
# friday, will I look ok by then?"): with an occasion named, looking fine reads as presentable.
_OCCASION = re.compile(r"\b(?:meeting|presentation|interview|wedding|party|date|event|photos"
                       r"|photoshoot|conference|christening|funeral|graduation|night out)\b")
_LOOK_FINE = re.compile(r"\bwill i (?:look|be) (?:back to normal|ok|okay|alright|fine|normal"
                        r"|presentable|decent|human)\b")


def _figures(text: str) -> str:
    """A cover-up reads as makeup, a sun likeness as looking sunburnt, looking fine for an
    occasion as presentable, blood marks as the pinpoint bleeding's."""
    if "will i" in text and _OCCASION.search(text) is not None:
        text = _LOOK_FINE.sub(" will i look presentable ", text)
    if "blood" in text:
        text = _BLOOD_MARKS.sub(" pinprick blood spots ", text)
    if "cover" in text or "hid" in text or "disguise" in text:
        text = _COVER_UP.sub(" concealer ", text)
    if "like" in text:
        text = _SUN_LIKENESS.sub(" look sunburnt ", text)
    return text


# Where on the face and how big: words of a statement that describe, not name, the topic.
_DESCRIPTORS = frozenset(["small", "tiny", "big", "few", "couple", "cheek", "cheeks", "forehead",
                          "chin", "nose", "jaw", "jawline", "face", "skin", "mouth", "temple",
                          "temples", "left", "right", "side", "sides", "around", "round", "near",
                          "lip", "lips", "neck", "eye", "eyes", "usually", "always", "often"])
# When, not what: a time word of a statement or a plan ("results in 3 weeks?", "wax on friday?")
# says which day the question is about (knowledge/timewords.py), so it does not dilute the topic.
_WHEN = frozenset(["day", "days", "week", "weeks", "weekend", "fortnight", "month", "months",
                   "tomorrow", "tonight", "today", "morning", "evening", "monday", "tuesday",
                   "wednesday", "thursday", "friday", "saturday", "sunday", "time"])
# What a patient calls the treatment; in a question without a topical word it is just "it".
TREATMENT_NAMES = frozenset(["microneedling", "treatment", "procedure", "microneedled"])
_TREATMENT_PHRASE = re.compile(r"\b(?:(?:the|my|this|your) )?(?:microneedling|treatment|procedure)"
                               r"(?: treatment)?\b")


_DETERMINER = re.compile(r"\b(?:the|your|ur|my|yr)\b")


def _skeleton(word: str) -> str:
    """Consonants only, a doubled one once: "mstrsr" and "moisturiser" share "mstrsr"."""
    consonants = "".join(letter for letter in word if letter not in "aeiouy")
    return "".join(c for i, c in enumerate(consonants) if i == 0 or c != consonants[i - 1])


@dataclass(frozen=True)
class Thresholds:
    """Calibrated score limits (0–100); see benchmarks/matcher.py for how they were chosen.

    The decision rests on the margin over the runner-up rather than on a high absolute score:
    a best entry that clears the floor and leads every other entry by ``margin`` is answered
    (a suggestion list is kept for near-ties, where the patient's pick is worth a tap)."""

    answer: float = 68.0  # a best entry found only through typo correction needs this much ...
    margin: float = 3.0  # ... and any answered entry must lead the runner-up by this much,
    two_topics: float = 6.0  # or by this much when each of the two is named by its own keyword
    suggest: float = 48.0  # below this the matcher abstains
    max_suggestions: int = 3


@dataclass(frozen=True)
class Candidate:
    """An entry that might answer the query, with its best-matching example question."""

    entry_id: str
    score: float
    question: str


@dataclass(frozen=True)
class MatchResult:
    """What the matcher decided, with the ranked candidates behind the decision."""

    outcome: Outcome
    entry_id: str | None
    score: float
    candidates: tuple[Candidate, ...]

    @property
    def confidence(self) -> float:
        """The best score as a fraction, 0.0–1.0."""
        return min(self.score, 100.0) / 100.0


@dataclass(frozen=True)
class _Example:
    entry_index: int
    question: str
    form: str
    tokens: frozenset[str]


@dataclass(frozen=True)
class _Form:
    words: list[str]  # known (typo-corrected) content words
    unknown: int  # content words the knowledge base does not know


class Matcher:
    """Fuzzy FAQ matcher over one knowledge base."""

    RETRIEVE = 25  # candidates fetched per query form before re-scoring
    KEYWORD_BONUS = 8.0
    MAX_CLAUSES = 12
    MAX_UNKNOWN = 3  # unknown words counted against a query form, at most
    SIMILARITY_SHARE = 0.2  # share of the score from token-sort similarity
    PRECISION_SHARE = 0.4  # how much unexplained query words pull the coverage down
    GENERIC_IDF = 1.35  # a word this common ("microneedling", "skin") says nothing about the topic
    BARE_CUTOFF = 88.0
    KEYWORD_SHARE = 0.5  # an entry's keywords must explain this share of the message ...
    KEYWORD_FLOOR = 40.0  # ... to score KEYWORD_FLOOR + KEYWORD_SPAN * share by keywords alone
    KEYWORD_SPAN = 40.0  # a bare question must be this close to a bare example to be answered

    def __init__(self, kb: KnowledgeBase, thresholds: Thresholds | None = None) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self._stems = self._stem_map(kb)
        self._examples = self._index(kb)
        self._idf = self._inverse_document_frequency()
        self._bare = self._bare_index(kb)
        # bare examples are matched as phrases only: by words they would fit any question
        self._examples = [e for e in self._examples if not self._is_bare(sorted(e.tokens))]
        self._forms = [example.form for example in self._examples]
        self._postings: dict[str, list[int]] = {}
        for position, example in enumerate(self._examples):
            for word in example.tokens:
                self._postings.setdefault(word, []).append(position)
        self._vocabulary = sorted(self._idf)
        self._keywords = [frozenset(self._content(" ".join(e.keywords))) for e in kb.entries]
        self._entry_index = {entry.id: index for index, entry in enumerate(kb.entries)}
        self._keyword_postings: dict[str, list[int]] = {}
        for index, keywords in enumerate(self._keywords):
            for word in keywords:
                self._keyword_postings.setdefault(word, []).append(index)
        # every spelling the knowledge base understands: its words and their synonyms' keys
        # ("beer" for "alcohol", "ciggie" for "smoke"), each with the word it stands for
        self._spellings = {word: word for word in self._vocabulary}
        self._spellings.update({key: value for key, value in SYNONYMS.items()
                                if value in self._idf and key.isalpha()})
        # inflections read as a keyword's stem ("bruising" as "bruise"): a slip in one
        # ("brusing") is corrected toward the inflection as typed
        self._spellings.update({key: value for key, value in self._stems.items()
                                if value in self._idf and key not in self._spellings})
        self._spelling_list = sorted(self._spellings)
        skeletons: dict[str, set[str]] = {}
        for spelling, word in self._spellings.items():
            skeletons.setdefault(_skeleton(spelling), set()).add(word)
        self._skeletons = {key: next(iter(words)) for key, words in skeletons.items()
                           if len(words) == 1 and len(key) >= 3}
        self._correct = forgettable(lru_cache(maxsize=8192)(self._correct_word))
        self._unknown_weight = sum(self._idf.values()) / max(len(self._idf), 1)

    def _bare_index(self, kb: KnowledgeBase) -> dict[int, tuple[int, str]]:
        """Example questions with no topical word ("is it safe", "how does it work"): they are
        matched as whole phrases, since word overlap cannot tell them apart."""
        bare: dict[int, tuple[int, str]] = {}
        for index, entry in enumerate(kb.entries):
            for question in entry.questions:
                if self._is_bare(self._content(question)):
                    bare[len(bare)] = (index, self._phrase(question))
        return bare

    def _is_bare(self, words: list[str]) -> bool:
        return all(self._idf.get(word, 0.0) < self.GENERIC_IDF or word in TREATMENT_NAMES
                   for word in words)

    @staticmethod
    def _phrase(text: str) -> str:
        """The words of a bare question, the treatment's names read as "it" ("is the treatment
        safe" and "is microneedling safe" are "is it safe")."""
        words = [word for word in tokens(text) if word not in FILLER]
        phrase = " ".join(words)
        if not phrase:
            return phrase
        # whose skin is no part of the question ("to the skin", "to your skin")
        return _DETERMINER.sub("the", _TREATMENT_PHRASE.sub("it", phrase))

    @staticmethod
    def _stem_map(kb: KnowledgeBase) -> dict[str, str]:
        """Inflections that an entry's own keywords list side by side ("healing" and "heal",
        "stings" and "sting", "bruises" and "bruise") are one word: a question that inflects it
        differently from the examples ("how long does healing take", "it takes a while to
        heal") still shares it."""
        stems: dict[str, str] = {}
        for entry in kb.entries:
            keywords = set(content_tokens(" ".join(entry.keywords)))
            for word in keywords - _OWN_TOPIC:
                for suffix in ("ing", "ed", "es", "s", "d"):
                    base = word[: -len(suffix)]
                    if not word.endswith(suffix) or len(base) < 3:
                        continue
                    found = next((c for c in (base, base + "e", base[:-1])
                                  if c in keywords and c != word), None)
                    if found is not None:
                        stems.setdefault(word, found)
                        break
        return stems

    def _content(self, text: str) -> list[str]:
        """``content_tokens``, a keyword's inflection read as the keyword's stem."""
        return [self._stems.get(word, word) for word in content_tokens(text)]

    def _index(self, kb: KnowledgeBase) -> list[_Example]:
        examples: list[_Example] = []
        for index, entry in enumerate(kb.entries):
            for question in (*entry.questions, entry.title):
                words = self._content(_session_frame(question))
                if words:
                    examples.append(_Example(index, question, " ".join(words), frozenset(words)))
        return examples

    def _inverse_document_frequency(self) -> dict[str, float]:
        per_entry: dict[int, set[str]] = {}
        for example in self._examples:
            per_entry.setdefault(example.entry_index, set()).update(example.tokens)
        for index, entry in enumerate(self.kb.entries):
            per_entry.setdefault(index, set()).update(self._content(" ".join(entry.keywords)))
        frequency: Counter[str] = Counter(w for words in per_entry.values() for w in words)
        total = max(len(per_entry), 1)
        return {word: math.log(1 + total / count) for word, count in frequency.items()}

    def _correct_word(self, word: str) -> str | None:
        """The vocabulary word a (possibly misspelt) query word stands for, or None. Chat
        spellings first: a dropped final g ("shavin"), a plural or past of a known spelling
        ("beers", "waxd"); then the closest spelling by edit ratio; then, for a word typed
        without its vowels ("mstrsr", "fndtn"), the one spelling with the same consonants."""
        if word in self._idf:
            return word
        if len(word) < 3 or word.isdigit():
            return None
        for form in self._chat_forms(word):
            if form in self._spellings:
                return self._spellings[form]
        vowels = sum(letter in "aeiou" for letter in word)
        if len(word) < 4:  # only a word typed without vowels ("wsh", "slp")
            found_word = None if vowels else self._skeletons.get(_skeleton(word))
            return found_word if found_word is not None and found_word[0] == word[0] else None
        english = english_word(word)
        cutoff = 84 if len(word) < 6 else 80  # one slip in a short word makes another word
        found = process.extractOne(word, self._spelling_list, scorer=fuzz.ratio,
                                   score_cutoff=cutoff)
        if found is not None:
            spelt = str(found[0])
            if not english or spelt.startswith(word) or word.startswith(spelt):
                return self._spellings[spelt]
            return None  # a real word is no slip: "resting" is not "restart" ("broke" is "broken")
        if english or vowels > 1:
            return None
        found_word = self._skeletons.get(_skeleton(word))
        if found_word is not None and found_word[0] == word[0]:
            return found_word
        return None

    def _chat_word(self, word: str) -> str:
        """A plural, past tense or dropped-g spelling of a known word as that word."""
        if word in self._idf:
            return word
        for form in self._chat_forms(word):
            if form in self._spellings:
                return self._spellings[form]
        return word

    @staticmethod
    def _chat_forms(word: str) -> tuple[str, ...]:
        """What a chat spelling may stand for: a dropped g, a plural (a chat "z" plural too:
        "resultz", "spotz"), a past tense."""
        forms: list[str] = []
        if word.endswith("in"):
            forms.append(word + "g")
        if word.endswith("z") and len(word) > 4:
            forms += [word[:-1] + "s", word[:-1]]
        if word.endswith("s") and len(word) > 4:
            forms += [word[:-1], word[:-2]] if word.endswith("es") else [word[:-1]]
        if word.endswith("ing") and len(word) > 5:  # "hurting", "peeling" of a known word
            base = word[:-3]
            forms += [base, base + "e"] + ([base[:-1]] if base[-1] == base[-2] else [])
        if word.endswith(("ier", "iest")):  # "puffier", "itchiest"
            forms.append(word[: -3 if word.endswith("ier") else -4] + "y")
        if word.endswith("d") and len(word) > 3:
            forms += [word[:-1], word[:-2] if word.endswith("ed") else word[:-1] + "ed"]
        return tuple(forms)

    def corrects(self, word: str) -> bool:
        """Whether a (folded) word is the knowledge base's, its slang ("appt") or a slip for
        one of its words."""
        return any(self._correct(token) is not None for token in tokens(word))

    def known_words(self, text: str) -> list[str]:
        """The query's content words that the knowledge base knows (after typo correction)."""
        return self._known(self._content(text))

    def _known(self, content: list[str]) -> list[str]:
        corrected = (self._correct(word) for word in content)
        return [word for word in corrected if word is not None]

    def match(self, text: str) -> MatchResult:
        """Decide answer / suggest / abstain for one patient message."""
        text = _CONTEXT.sub(" ", text.lower())  # "when I got home" says when, not what
        text = _VENUE.sub(r"\1", text)
        text = _EXPECTING.sub(r"\1pregnant", text)
        text = _BOOK_COURSE.sub(r"\1 appointments", text)
        text = _CLASS_ATTENDED.sub(r"\1exercise class\2", text)
        text = _SIGN_BEFORE_MAKEUP.sub(r"\1", text)
        text = _cant_make(_picking(_dry_product(_session_frame(_figures(text)))))
        content = self._content(text)  # read once: every step below starts from these words
        words = self._known(content)
        if self._is_bare(words):
            found = self._match_bare(text)
            if found is not None or not words:
                return found or MatchResult("abstain", None, 0.0, ())
        exact = any(word in self._idf for word in content)
        # as spelt, a chat spelling read as the word it stands for ("ciders", "shavin")
        spelt = [self._chat_word(word) for word in content]
        ranked = self._rank(frozenset(words), self._query_forms(text, content), spelt)
        asked = frozenset(m.group(5) for m in _WHEN_MAY.finditer(text))
        things = frozenset(w for m in _ASKED_THING.finditer(text)
                           for w in (m.group(1) or m.group(2)).split())
        return self._decide(self._thing_first(ranked, things), exact, frozenset(words), asked)

    def _thing_first(self, ranked: list[Candidate], things: frozenset[str]) -> list[Candidate]:
        """The thing the message asks whether or when it may use leads (``_ASKED_THING``):
        an entry one of its words is a keyword of, scoring enough to answer on its own, goes
        first when the best entry's keywords name none of them ("when can i restart the
        adapalene? day 4, face feels normal" is the actives' question, not the day's)."""
        if not things or len(ranked) < 2:
            return ranked
        if self._keywords[self._entry_index[ranked[0].entry_id]] & things:
            return ranked
        for candidate in ranked[1:self.thresholds.max_suggestions]:
            if (candidate.score >= self.thresholds.answer
                    and self._keywords[self._entry_index[candidate.entry_id]] & things):
                lead = Candidate(candidate.entry_id,
                                 max(candidate.score, ranked[0].score + self.thresholds.two_topics),
                                 candidate.question)
                return [lead, *(c for c in ranked if c is not candidate)]
        return ranked

    def _match_bare(self, text: str) -> MatchResult | None:
        """A question with no topical word, answered only when it is nearly a bare example."""
        phrase = self._phrase(text)
        if not phrase:
            return None
        choices = {key: form for key, (_, form) in self._bare.items()}
        found = process.extractOne(phrase, choices, scorer=fuzz.ratio, processor=None,
                                   score_cutoff=self.BARE_CUTOFF)
        if found is None:
            return None
        entry = self.kb.entries[self._bare[found[2]][0]]
        candidate = Candidate(entry.id, found[1], found[0])
        return MatchResult("answer", entry.id, found[1], (candidate,))

    def _query_forms(self, text: str, content: list[str]) -> list[_Form]:
        """The whole message (its content words ``content``), plus each clause of a long one,
        as known words."""
        parts = clauses(text)
        texts = [text] + (parts[: self.MAX_CLAUSES] if len(parts) > 1 else [])
        forms: list[_Form] = []
        for part in texts:
            all_words = content if part is text else self._content(part)
            known = [w for w in (self._correct(word) for word in all_words) if w is not None]
            if part is not text and len(known) < 2:
                continue  # a one-word clause ("is that expected") is no question by itself
            if known and all(known != form.words for form in forms):
                unknown = min(len(all_words) - len(known), self.MAX_UNKNOWN)
                forms.append(_Form(known, unknown))
        return forms

    def _rank(self, query: frozenset[str], forms: list[_Form],
              text_words: list[str] | None = None) -> list[Candidate]:
        text_words = text_words or []
        best: dict[int, Candidate] = {}
        for form in forms:
            text = " ".join(form.words)
            for position in self._retrieve(text, form.words):
                example = self._examples[position]
                score = self._score(text, example, form, query)
                current = best.get(example.entry_index)
                if current is None or score > current.score:
                    entry = self.kb.entries[example.entry_index]
                    best[example.entry_index] = Candidate(entry.id, score, example.question)
        for index, score in self._keyword_scores(text_words).items():
            current = best.get(index)
            if current is None or score > current.score:
                entry = self.kb.entries[index]
                best[index] = Candidate(entry.id, score, entry.title)
        return sorted(best.values(), key=lambda c: c.score, reverse=True)

    def _keyword_scores(self, words: list[str]) -> dict[int, float]:
        """Entries whose keywords carry most of the message's meaning, as spelt ("did a 5k this
        morning": "5k" is an exercise keyword; "itchy cheeks"). Statements and short messages
        often share no example's wording but name the topic in one word; the score grows with
        the share of the message's (IDF-weighted) content the entry's keywords explain, and
        words the knowledge base does not know count against it."""
        if not words:
            return {}
        # where and how big ("a small blemish on my cheek") describes, the topic is the rest
        # and when ("in 3 weeks", "on friday") says which day, not what
        described = {w for w in words if w in _DESCRIPTORS or w in _WHEN or w.isdigit()}
        total = sum(self._idf.get(w, self._unknown_weight) for w in set(words) - described)
        scores: dict[int, float] = {}
        for index in {i for w in words for i in self._keyword_postings.get(w, ())}:
            hits = self._keywords[index].intersection(words)
            share = sum(self._idf.get(w, 1.0) for w in hits) / (total or 1.0)
            if share >= self.KEYWORD_SHARE:
                scores[index] = self.KEYWORD_FLOOR + self.KEYWORD_SPAN * share
        return scores

    def _retrieve(self, text: str, words: list[str]) -> list[int]:
        """Examples sharing a word with the query; the closest few when there are many."""
        positions: set[int] = set()
        for word in words:
            positions.update(self._postings.get(word, ()))
        if len(positions) <= self.RETRIEVE:
            return list(positions)
        choices = {position: self._forms[position] for position in positions}
        hits = process.extract(text, choices, scorer=fuzz.token_set_ratio, processor=None,
                               limit=self.RETRIEVE, score_cutoff=40)
        return [position for _, _, position in hits]

    def _score(self, text: str, example: _Example, form: _Form,
               query: frozenset[str]) -> float:
        """Blend of word-order-free similarity and IDF-weighted coverage in both directions."""
        similarity = fuzz.token_sort_ratio(text, example.form)
        words = frozenset(form.words)
        covered = self._weight(example.tokens & words)
        recall = covered / (self._weight(example.tokens) or 1.0)  # how much of the example
        unexplained = self._weight(words - example.tokens) + self._unknown_weight * form.unknown
        precision = covered / ((covered + unexplained) or 1.0)  # how much of the query it explains
        blend = self.SIMILARITY_SHARE
        coverage = recall * (1.0 - self.PRECISION_SHARE + self.PRECISION_SHARE * precision)
        score = blend * similarity + (1.0 - blend) * 100.0 * coverage
        if self._keywords[example.entry_index] & query:
            score += self.KEYWORD_BONUS  # may pass 100: it breaks ties between perfect matches
        return score

    def _weight(self, words: frozenset[str]) -> float:
        return sum(self._idf.get(word, 1.0) for word in words)

    def _two_topics(self, top: Candidate, other: Candidate, words: frozenset[str],
                    asked: frozenset[str] = frozenset()) -> bool:
        """Each of the two entries is named by a keyword of the message the other lacks, and
        the message does not ask when it may do only the best entry's thing ("when can i shave,
        my beard is itchy": the itch is the reason for asking)."""
        mine = self._keywords[self._entry_index[top.entry_id]] & words
        theirs = self._keywords[self._entry_index[other.entry_id]] & words
        if self._asks_only(top, other, asked):
            return False
        return bool(mine - theirs) and bool(theirs - mine)

    def _asks_only(self, top: Candidate, other: Candidate, asked: frozenset[str]) -> bool:
        """The message asks when it may do the best entry's thing (a keyword of it is the verb
        of "when can i ..."), and nothing of the runner-up's: the best entry answers it."""
        return (bool(self._keywords[self._entry_index[top.entry_id]] & asked)
                and not self._keywords[self._entry_index[other.entry_id]] & asked)

    def _conditions_first(self, ranked: list[Candidate],
                          words: frozenset[str]) -> list[Candidate]:
        """A condition that decides whether a session may go ahead (pregnancy, isotretinoin, a
        cold sore), named by its keyword, is answered before the session or booking the same
        message asks about ("I've just found out I'm expecting, is my next session still on")."""
        first = self._entry_index[ranked[0].entry_id]
        if self.kb.entries[first].condition:
            if len(ranked) > 1 and self._keywords[first] & words:
                # named by its keyword, the condition leads whatever else the message asks
                lead = Candidate(ranked[0].entry_id,
                                 max(ranked[0].score, ranked[1].score + self.thresholds.two_topics),
                                 ranked[0].question)
                return [lead, *ranked[1:]]
            return ranked
        for candidate in ranked[1:]:
            index = self._entry_index[candidate.entry_id]
            if (candidate.score >= self.thresholds.suggest and self.kb.entries[index].condition
                    and self._keywords[index] & words):
                lead = Candidate(candidate.entry_id, ranked[0].score + self.thresholds.two_topics,
                                 candidate.question)
                return [lead, *(c for c in ranked if c is not candidate)]
        return ranked

    def _decide(self, ranked: list[Candidate], exact: bool = True,
                words: frozenset[str] = frozenset(),
                asked: frozenset[str] = frozenset()) -> MatchResult:
        """Answer the best entry when it clears the floor and leads the runner-up by the margin;
        offer a shortlist on a near-tie (not when the message asks when it may do the best
        entry's thing alone: ``_asks_only``); abstain below the floor. ``exact``: some query
        word is spelt as the knowledge base spells it ("raining" corrected to "training" is not
        a question about exercise), else the best entry needs the higher ``answer`` score."""
        limits = self.thresholds
        if not ranked or ranked[0].score < limits.suggest:
            return MatchResult("abstain", None, ranked[0].score if ranked else 0.0, ())
        ranked = self._conditions_first(ranked, words)
        top = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        shortlist = tuple(c for c in ranked[: limits.max_suggestions]
                          if c.score >= limits.suggest)
        clear = top.score - runner_up >= limits.margin or (
            len(ranked) > 1 and self._asks_only(top, ranked[1], asked))
        if clear and top.score - runner_up < limits.two_topics and self._two_topics(
                top, ranked[1], words, asked):
            clear = False  # "sauna after the gym": both topics are asked about
        if clear and (exact or top.score >= limits.answer):
            return MatchResult("answer", top.entry_id, top.score, shortlist)
        if (not clear and len(ranked) > 1 and top.score - runner_up < limits.margin
                and ranked[1].score >= limits.answer and self._asks_only(ranked[1], top, asked)):
            # a near tie in which the runner-up's thing is what the message asks when it may
            # do, and the best entry's is only the reason ("how soon can i shave, i look a
            # mess for my shift at work"; answers round on batch 24)
            return MatchResult("answer", ranked[1].entry_id, ranked[1].score, shortlist)
        return MatchResult("suggest", None, top.score, shortlist)
