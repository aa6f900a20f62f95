"""The one text normaliser of the project: triage, the matcher, the loader's collision check,
small-talk detection and the staff desk all read patients' words through it.

Patients type on phones: mixed case, emoji, missing apostrophes, letters held down ("sooo"),
chat shorthand ("r u ok", "lips n throat"), British or American spelling, greetings and filler.
``clean`` is the common first step (``punctuation=True`` keeps what splits clauses and writes
temperatures, for triage); ``fold`` drops punctuation and joins known phrases, for comparing;
``normalise`` and ``content_tokens`` are what the matcher compares; ``strip_accents`` is the
accent folding the language detector and the other-language lexicons use. ``Speller`` corrects
misspelt words toward a vocabulary (triage's) by edit distance with rapidfuzz.

Caches keyed by what patients write (whole messages or single words), here and elsewhere in
knowledge/, are made with ``forgettable`` or ``WordCache``; ``forget_texts`` empties every one of
them, and the bot calls it when a patient erases their data, so their words do not stay in the
process's memory (in every replica's: bot/core/forgetting.py).
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
import unicodedata
import weakref
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

# apostrophes are dropped ("can't" -> "cant"); the ordinal sign is a degree sign in "38º"
_APOSTROPHES = str.maketrans({"'": "", "\u2019": "", "\u2018": "", "`": "", "\u00b4": "",
                              "\u00ba": "\u00b0"})
# letters of any script are kept (other languages are read elsewhere); emoji and symbols are not
_NON_WORD = re.compile(r"(?:[^\w\s]|_)+")
_NOT_KEPT = re.compile(r"(?:[^\w \n.,;:!?°/%()\-]|_)+")  # punctuation mode keeps these
_DECIMAL_COMMA = re.compile(r"(\d),(\d)")
# a laughing emoji is laughter, as "lol" is, for triage ("nearly fainted at the bill \U0001f602")
_LAUGH_EMOJI = re.compile("[\U0001f602\U0001f923\U0001f606\U0001f639]+")
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_LINE_SPACES = re.compile(r"[ \t\r\f\v]+")
_WORD = re.compile(r"[a-z]+")
_REPEATS2 = re.compile(r"([a-z])\1")
_ANY_WORD = re.compile(r"[^\W\d_]+")
# a chat plural spelt with z ("spotz", "scabz"); not "buzz", "quiz" or "waltz"
CHAT_PLURAL = re.compile(r"\b([a-z]{3,}[^sz\s])z\b")

# Chat shorthand, expanded wherever patients' words are read (the one table of the project).
SHORTHAND: dict[str, str] = {
    "r": "are", "u": "you", "ur": "your", "n": "and", "nd": "and", "b": "be", "v": "very",
    "y": "why", "c": "see", "im": "im", "cos": "because", "coz": "because", "cuz": "because",
    "bc": "because", "bcos": "because", "thru": "through", "tho": "though", "yday": "yesterday",
    "yest": "yesterday", "tmrw": "tomorrow", "tmr": "tomorrow", "tomoz": "tomorrow",
    "2moro": "tomorrow", "tonite": "tonight", "2nite": "tonight", "b4": "before",
    "rly": "really", "realy": "really", "rlly": "really", "rily": "really", "rli": "really",
    "relly": "really", "rilly": "really", "srsly": "seriously", "pls": "please", "plz": "please",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "kinda": "kind of",
    "sorta": "sort of", "abit": "a bit", "alot": "a lot", "w": "with", "wo": "without",
    "w/o": "without", "wiv": "with", "ppl": "people", "sm": "so much", "rn": "right now",
    "atm": "at the moment", "idk": "i dont know", "dunno": "dont know", "hrs": "hours",
    "hr": "hour", "mins": "minutes", "min": "minute", "wk": "week", "wks": "weeks",
    "cant": "cant", "cnt": "cant", "dnt": "dont", "wont": "wont", "feelin": "feeling",
    "gettin": "getting", "goin": "going", "swellin": "swelling", "bleedin": "bleeding",
    "burnin": "burning", "hurtin": "hurting", "itchin": "itching", "breathin": "breathing",
    "bk": "back", "bck": "back", "af": "as hell", "sth": "something", "smth": "something",
    # dropped vowels and sound-spellings of question words ("cn i hv", "wen", "wots")
    "cn": "can", "hv": "have", "wen": "when", "wot": "what", "wots": "whats", "wat": "what",
    "shud": "should", "wud": "would", "cud": "could", "nxt": "next", "m8": "mate",
    "sesh": "session", "seshs": "sessions", "seshes": "sessions", "2day": "today",
    "2b": "to be", "2 b": "to be",
    # more dropped vowels of question and everyday words ("hw do i", "wats normal", "cn i tk";
    # answers round on batches 27 and 28: "kno", "knw", and "reaction" spelt as said)
    "kno": "know", "knw": "know",
    "reakshun": "reaction", "reacshun": "reaction", "reaxion": "reaction", "reakshon": "reaction",
    "hw": "how", "wats": "whats", "wht": "what", "whn": "when", "whr": "where", "wer": "where",
    "shld": "should", "cld": "could", "wld": "would", "abt": "about", "tk": "take",
    "tkn": "taken", "tkin": "taking", "gd": "good", "nt": "not", "jst": "just", "mths": "months",
    "2mrw": "tomorrow", "2morrow": "tomorrow", "2moz": "tomorrow", "tmoz": "tomorrow",
    "tmorrow": "tomorrow", "2mora": "tomorrow", "tomorow": "tomorrow",
    # chat spellings of size words ("lil bumps")
    "lil": "little",
    # "again" with its vowels dropped or swapped, too short for the speller ("bleeding agn")
    "agn": "again", "agen": "again", "agan": "again", "agin": "again", "agian": "again",
    # the eye word too short for the speller ("eys", "eyez")
    "eys": "eyes", "eyez": "eyes", "eyz": "eyes",
    # "worse" typed short ("wors" reads as a plural of "wore" to the speller), and a bleed that
    # will not stop with its vowels dropped ("bld wnt stp"; "wnt" alone may be want or went)
    "wors": "worse", "bld": "bleeding", "bldn": "bleeding", "stp": "stop",
    "wnt stop": "wont stop", "wnt stp": "wont stop", "wont stp": "wont stop",
    # a faint spelt as its sound-alike, a word of fencing the speller leaves as it is ("i
    # feinted twice")
    "feinted": "fainted", "feinting": "fainting",
    # a fever and a temperature with their vowels dropped, too short for the speller (round
    # fifty-four: "fvr 39 n ...", "tmp 38.5")
    "fvr": "fever", "fvrish": "feverish", "tmp": "temp",
    # (round fifty-eight) "temp" is English chat, and states with the g dropped ("temp 39 n
    # heart racin n ...": two unknown words made the model read the message as German)
    "temp": "temp", "racin": "racing", "poundin": "pounding", "thumpin": "thumping",
    "beatin": "beating", "shakin": "shaking", "sweatin": "sweating", "shiverin": "shivering",
    "throbbin": "throbbing", "drippin": "dripping", "leakin": "leaking", "oozin": "oozing",
    "spreadin": "spreading", "chokin": "choking", "wheezin": "wheezing",
    # a faint misspelt, read by the speller as English ("pased" is "pas" + "ed")
    "pased out": "passed out", "pasd out": "passed out", "passd out": "passed out",
    "past out": "passed out",
    # sight misspelt as a word the speller leaves as it is ("vison" is a mink; round
    # fifty-six: "sudden loss of vison", "lost my visin")
    "vison": "vision", "visoin": "vision", "visin": "vision", "vsion": "vision",
    "viison": "vision", "visison": "vision",
    # "that" spelt as said ("wud dat b bad")
    "dat": "that",
    # a colour with its vowels dropped (round forty-six): "yllw crust", "ylw bits"
    "yllw": "yellow", "ylw": "yellow", "yllwy": "yellowy",
    # "back" typed short ("its come bak")
    "bak": "back",
}
_SHORTHAND_RE = re.compile(
    r"(?<![a-z0-9/])(?:" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len, reverse=True))
    + r")(?![a-z0-9/])")


# ----------------------------------------------------------------------------- forgetting


class _LruCache(Protocol):
    def cache_clear(self) -> None: ...


_Lru = TypeVar("_Lru", bound=_LruCache)
_V = TypeVar("_V")


class WordCache(dict[str, _V]):
    """A dict keyed by patients' words (a speller's corrections) that ``forget_texts``
    empties."""

    __slots__ = ("__weakref__",)

    def __init__(self) -> None:
        super().__init__()
        _register(self)


# every cache keyed by patients' words, held weakly (an advisor replaced by a reload takes its
# caches with it); a reload builds caches in a worker thread, hence the lock
_TEXT_CACHES: weakref.WeakValueDictionary[int, _LruCache | WordCache[Any]] = (
    weakref.WeakValueDictionary())
_TEXT_CACHES_LOCK = threading.Lock()
_TEXT_CACHE_IDS = itertools.count()


def _register(cache: _LruCache | WordCache[Any]) -> None:
    with _TEXT_CACHES_LOCK:
        _TEXT_CACHES[next(_TEXT_CACHE_IDS)] = cache


def forgettable(cache: _Lru) -> _Lru:
    """``cache`` (a ``functools.lru_cache`` of a function that takes patients' words), emptied
    by ``forget_texts``."""
    _register(cache)
    return cache


def forget_texts() -> None:
    """Empty every cache keyed by patients' words (whole messages or single words) in this
    process: after a patient erases their data, nothing they wrote stays in memory. The caches
    fill again from the next messages."""
    with _TEXT_CACHES_LOCK:
        caches = list(_TEXT_CACHES.values())
    for cache in caches:
        if isinstance(cache, WordCache):
            cache.clear()
        else:
            cache.cache_clear()


def strip_accents(text: str) -> str:
    """Lowercase with accents and other combining marks dropped ("Café" -> "cafe"): how the
    language detector and the other-language lexicons compare words."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_NOT_LETTERS = re.compile(r"[\W_]+")


def answer_words(text: str) -> str:
    """A short typed answer as it is compared with the lists of answers ("Yes!!" -> "yes",
    "Sí." -> "si", "Nope, none of those" -> "nope none of those"): lowercase, accents and
    apostrophes dropped, anything but letters and digits a space. No shorthand expansion
    ("n" stays "n"), and any script's letters are kept ("Так", "نعم")."""
    return " ".join(_NOT_LETTERS.sub(" ", strip_accents(text.translate(_APOSTROPHES))).split())


# a digit for the word it sounds like (answers round on batch 25), read only between the words
# it joins in chat: "to" after a verb of needing or going and before a verb or a place ("need 2
# call u", "go 2 a&e"), "for" after watching, asking or waiting ("watch 4 signs", "askin 4 the
# bride"); never a number of something ("need 2 sessions", "day 2", "4 days")
CHAT_DIGITS: dict[str, tuple[str, str, str]] = {
    "2": ("to",
          "need|needs|have|has|want|ought|used|able|going|go|goes|went|come|got|trying|try",
          "call|ring|phone|contact|text|message|email|go|see|worry|get|do|be|take|wait|come|"
          "use|put|wear|tell|ask|know|stop|a|the|my|hospital|bed|work|sleep|you"),
    "4": ("for",
          "watch|look|looking|watching|ask|asking|askin|wait|waiting|out|check|checking|ready",
          "the|a|an|my|me|you|it|this|that|signs?|symptoms?|after|her|him|them"),
}
_CHAT_DIGIT_RES = tuple((re.compile(rf"\b({before}) {re.escape(digit)} (?=(?:{after})\b)"), word)
                        for digit, (word, before, after) in CHAT_DIGITS.items())


def expand_shorthand(text: str) -> str:
    """Chat shorthand replaced by the words it stands for ("lips r sore" -> "lips are sore")."""
    return _SHORTHAND_RE.sub(lambda m: SHORTHAND[m.group(0)], text)


def chat_digits(text: str) -> str:
    """A digit read as the word it sounds like between the words it joins (``CHAT_DIGITS``:
    "need 2 call you" -> "need to call you"), in cleaned text. Used by ``fold`` (the matcher,
    the scope guard and the warning-signs frames); triage reads digits as written."""
    if any(ch.isdigit() for ch in text):
        for regex, word in _CHAT_DIGIT_RES:
            text = regex.sub(rf"\1 {word} ", text)
    return text


# a person's "'s" stays a possessive: "my friend's lips" -> "my friends lips" (the apostrophe
# dropped), never "friend s lips" (which triage reads "friend is lips"); a thing's "'s" is split,
# and so is "someone's" (most often "someone is" or "someone has"). The words for people are
# the triage rules' (vocab ``kin`` in knowledge/triage.yaml), passed in: ``possessives``.
_NOT_POSSESSIVE = "it|that|there|here|what|he|she|who|let|where|how|when|everything|nothing"


def possessives(people: str = "") -> re.Pattern[str]:
    """The pattern ``clean`` splits a thing's "'s" with (``punctuation=True``): every "'s"
    but that of a pronoun ("it's", "who's": the apostrophe is dropped) or of one of ``people``
    (a regex alternation of words for people, "friend|husband|neighbou?r"), whose "'s" stays
    a possessive, except "someone's" and "somebody's"."""
    kept = _NOT_POSSESSIVE
    if people:
        kept += rf"|(?!some(?:one|body)['\u2019]s)(?:{people})"
    return re.compile(rf"\b(?!(?:{kept})['\u2019]s)([^\W\d_]+)['\u2019]s\b", re.IGNORECASE)


_THINGS_POSSESSIVE = possessives()


def clean(text: str, *, punctuation: bool = False,
          possessive: re.Pattern[str] | None = None) -> str:
    """Lowercase, unicode folded, apostrophes and emoji dropped, held-down letters cut to two,
    shorthand expanded, spaces squashed. ``punctuation=True`` keeps clause punctuation, line
    breaks, decimal points ("38,5" -> "38.5") and the degree sign, and splits a noun's "'s"
    ("throat's tight" -> "throat s tight"), for triage: every "'s" ``possessive`` (made by
    ``possessives``, with the words for people whose "'s" is kept) finds, else every one but a
    pronoun's."""
    if punctuation:
        text = (possessive or _THINGS_POSSESSIVE).sub(r"\1 s", text)
    t = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES)).lower().translate(_APOSTROPHES)
    if punctuation:
        t = _LAUGH_EMOJI.sub(" lol ", t)
        t = _NOT_KEPT.sub(" ", t.replace("\r", "\n"))
        t = _DECIMAL_COMMA.sub(r"\1.\2", t)
        t = _WORD_HYPHEN.sub(" ", t)
    else:
        t = _NON_WORD.sub(" ", t)
    t = _REPEATS.sub(r"\1\1", t)
    t = expand_shorthand(t)
    if punctuation:
        return _LINE_SPACES.sub(" ", t).strip()
    return _SPACES.sub(" ", t).strip()

# Spelling variants and brand names folded to one canonical word.
SYNONYMS: dict[str, str] = {
    "moisturizer": "moisturiser",
    "moisturizers": "moisturiser",
    "moisturisers": "moisturiser",
    "moisturize": "moisturise",
    "moisturizing": "moisturising",
    "color": "colour",
    "colored": "coloured",
    "favorite": "favourite",
    "foundations": "foundation",
    "acetaminophen": "paracetamol",
    "tylenol": "paracetamol",
    "panadol": "paracetamol",
    "advil": "ibuprofen",
    "motrin": "ibuprofen",
    "nurofen": "ibuprofen",
    "suncream": "sunscreen",
    "sunblock": "sunscreen",
    "spf": "sunscreen",
    "suntan": "tan",
    "sunbathe": "sunbathing",
    "sunbath": "sunbathing",
    "sunbed": "sunbeds",
    "tanning": "tan",
    "exercising": "exercise",
    "exercises": "exercise",
    "workout": "exercise",
    "workouts": "exercise",
    "working-out": "exercise",
    "gymming": "gym",
    "swim": "swimming",
    "swimm": "swimming",
    "swam": "swimming",
    "pool": "swimming",
    "showering": "shower",
    "showers": "shower",
    "wash": "wash",
    "washing": "wash",
    "washed": "wash",
    "cleanse": "cleanser",
    "cleansing": "cleanser",
    "retinoid": "retinol",
    "retinoids": "retinol",
    "tretinoin": "retinol",
    "retina": "retinol",
    "shaving": "shave",
    "shaved": "shave",
    "waxing": "wax",
    "waxed": "wax",
    "threaded": "threading",
    "drinking": "alcohol",
    "drink": "alcohol",
    "drinks": "alcohol",
    "booze": "alcohol",
    "wine": "alcohol",
    "beer": "alcohol",
    "prosecco": "alcohol",
    "smoking": "smoke",
    "cigarette": "smoke",
    "cigarettes": "smoke",
    "vape": "vaping",
    "ciggie": "smoke",
    "ciggies": "smoke",
    "cig": "smoke",
    "cigs": "smoke",
    "fag": "smoke",
    "pinkness": "pink",
    "pinky": "pink",
    "redness": "red",
    "reddness": "red",
    "painkiller": "painkillers",
    "pain-killers": "painkillers",
    "aspirin": "ibuprofen",
    "naproxen": "ibuprofen",
    "anti-inflammatory": "ibuprofen",
    "antiinflammatory": "ibuprofen",
    "pyjamas": "pajamas",
    "mom": "mum",
    "center": "centre",
    "realize": "realise",
    "micro-needling": "microneedling",
    "dermapen": "microneedling",
    "needling": "microneedling",
    "skinpen": "microneedling",
    "ok": "okay",
    "k": "okay",
}

# Multi-word phrases folded before tokenising (order matters: longest first).
PHRASES: tuple[tuple[str, str], ...] = (
    ("make up", "makeup"),
    ("sun cream", "sunscreen"),
    ("sun screen", "sunscreen"),
    ("sun block", "sunscreen"),
    ("sun bed", "sunbeds"),
    ("face wash", "cleanser"),
    ("work out", "exercise"),
    ("working out", "exercise"),
    ("hot tub", "hottub"),
    ("steam room", "steamroom"),
    ("vitamin c", "vitaminc"),
    ("vit c", "vitaminc"),
    # chat shorthand reads a lone "c" as "see" first
    ("vitamin see", "vitaminc"),
    ("vit see", "vitaminc"),
    ("hyaluronic acid", "hyaluronic"),
    ("spray tan", "spraytan"),
    ("fake tan", "spraytan"),
    ("self tan", "spraytan"),
    ("benzoyl peroxide", "benzoyl"),
    ("cold sore", "coldsore"),
    ("cold sores", "coldsore"),
    ("pillow case", "pillowcase"),
    ("micro needling", "microneedling"),
    # "work" the job, not "does it work": going to work is the downtime question
    ("go to work", "go to job"), ("back to work", "back to job"), ("at work", "at job"),
    ("off work", "off job"), ("into work", "into job"), ("for work", "for job"),
    ("the office", "job"),
)

# Greetings: filler in a question, small talk on their own (knowledge/guards.py).
GREETINGS: frozenset[str] = frozenset([
    "hi", "hii", "hiya", "hey", "heya", "hello", "helo", "yo", "morning", "evening", "afternoon",
])

# Greetings and filler that carry no question; dropped wherever they appear.
FILLER: frozenset[str] = GREETINGS | frozenset([
    "actually", "ah", "also", "anyway", "basically", "bit", "bother", "bothering", "btw",
    "cheers", "erm", "even", "good", "haha", "hmm", "just", "kinda", "like", "lil", "little", "lol",
    "oh", "please", "question", "quick", "quite", "really", "so", "sorry", "sorta", "super",
    "thank", "thanks", "thankyou", "uh", "um", "umm", "very", "wonder", "wondered", "wondering",
    "x", "xx", "xxx",
])

# Function words and generic verbs that say nothing about the topic.
STOPWORDS: frozenset[str] = frozenset(
    [
        "a", "an", "the", "and", "or", "but", "if", "is", "are", "was", "were", "be", "been",
        "being", "am", "i", "me", "my", "mine", "myself", "you", "your", "we", "our", "they",
        "them", "their", "it", "its", "this", "that", "these", "those", "there", "here", "of",
        "to", "in", "on", "at", "for", "from", "with", "about", "by", "as", "into", "onto",
        "over", "after", "before", "since", "than", "then", "do", "does", "did", "doing", "done",
        "have", "has", "had", "having", "can", "could", "should", "would", "will", "shall", "may",
        "might", "must", "okay", "fine", "alright", "yes", "no", "not", "dont", "doesnt", "didnt",
        "cant", "cannot", "wont", "isnt", "arent", "what", "whats", "when", "whens", "where",
        "which", "who", "why", "how", "hows", "whether", "any", "some", "much", "many", "more",
        "most", "still", "yet", "now", "today", "tonight", "tomorrow", "yesterday", "go", "going",
        "went", "get", "getting", "got", "use", "using", "used", "put", "putting", "try", "able",
        "need", "needs", "want", "wanted", "know", "let", "lets", "ok", "im", "ive", "id", "its",
        "thats", "theres", "whats", "one", "ones", "thing", "things", "also", "again", "okay",
        "safe", "allowed", "alright", "good", "bad", "normal", "usual", "ever", "anything",
        "something", "everything", "nothing", "anyone", "someone", "anybody", "somebody",
        "meant", "supposed",
    ]
)


@forgettable
@functools.lru_cache(maxsize=4096)  # one message is folded by several checks in a row
def fold(text: str) -> str:
    """Lowercase, fold unicode and apostrophes, drop emoji and punctuation, squash spaces."""
    text = chat_digits(clean(text))
    for phrase, canonical in PHRASES:
        if phrase in text:
            text = re.sub(rf"\b{re.escape(phrase)}\b", canonical, text)
    return text


PACKAGED_SLANG = Path(__file__).parent / "slang.yaml"
Slang = tuple[dict[str, str], tuple[tuple[str, re.Pattern[str], str], ...]]


@functools.lru_cache(maxsize=1)
def slang() -> Slang:
    """The matcher's small synonym table (``slang.yaml``), read once: `read_slang`."""
    return read_slang()


def read_slang(path: Path = PACKAGED_SLANG) -> Slang:
    """The synonym table in ``path``: words, and phrases longest first (each with the pattern
    that finds it as whole words). A malformed file raises ``DataFileError`` naming its line."""
    from knowledge.yamlfile import DataFileError, LineDict, read_yaml

    data = read_yaml(path)
    if not isinstance(data, LineDict):
        raise DataFileError(str(path), 1, "file must be a mapping with 'words' and 'phrases'")
    tables: list[dict[str, str]] = []
    for key in ("words", "phrases"):
        table = data.get(key, LineDict())
        if not isinstance(table, dict) or not all(
                isinstance(value, str | int | float) for value in table.values()):
            raise DataFileError(str(path), data.line_of(key),
                                f"{key!r} must map each word to the word it stands for")
        tables.append({str(k): str(v) for k, v in table.items()})
    words, phrases = tables
    longest_first = sorted(phrases.items(), key=lambda item: -len(item[0]))
    return words, tuple((k, re.compile(rf"\b{re.escape(k)}\b"), v) for k, v in longest_first)


def tokens(text: str) -> list[str]:
    """Folded words with spelling variants, brands and slang mapped to one canonical form."""
    return list(_tokens(text))


@forgettable
@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    """``tokens``, once per text: at start-up the loader's collision check and the matcher read
    the same example questions, and one message is read by several checks in a row."""
    words, phrases = slang()
    folded = fold(text)
    for phrase, pattern, canonical in phrases:
        if phrase in folded:  # a substring test first: most phrases are in no message
            folded = pattern.sub(canonical, folded)
    return tuple(SYNONYMS.get(word, words.get(word, word))
                 for word in CHAT_PLURAL.sub(r"\1s", folded).split())


def normalise(text: str) -> str:
    """Tokens without filler, joined by spaces: the form the matcher compares."""
    return " ".join(word for word in tokens(text) if word not in FILLER)


def content_tokens(text: str) -> list[str]:
    """Only the words that say what the message is about (no filler, no stopwords)."""
    return [word for word in tokens(text) if word not in FILLER and word not in STOPWORDS]


def content(text: str) -> str:
    """``content_tokens`` joined by spaces."""
    return " ".join(content_tokens(text))


_CLAUSE_SPLIT = re.compile(r"[.!?;,\n]+|\s+(?:but|and|so|because|though)\s+")


def clauses(text: str) -> list[str]:
    """Sentences and clauses of a long message, so a question buried in a story can be found."""
    parts = [part.strip() for part in _CLAUSE_SPLIT.split(text)]
    return [part for part in parts if part]


_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_VOWEL = re.compile(r"[aeiouy]")


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_run(word: str) -> bool:
    """Four or more letters in a row along one keyboard row ("qwerty", "uiop", "lkjh")."""
    return len(word) >= 4 and any(word in row or word in row[::-1] for row in _KEYBOARD_ROWS)


def looks_like_gibberish(text: str) -> bool:
    """True for an empty or emoji-only message, or one whose every word is a keyboard mash."""
    words = fold(text).split()
    if not words:
        return True
    return all(_CONSONANT_RUN.search(w) or not _VOWEL.search(w) or _keyboard_run(w)
               for w in words if not w.isdigit())


# ----------------------------------------------------------------------------- spelling


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Known English words (GCIDE list from the ``english-words`` package, MIT): never corrected."""
    data = resources.files("english_words").joinpath("data", "gcide_alpha_lower.pickle")
    import pickle  # the package ships its lists pickled; this file is read from the wheel only

    return frozenset(pickle.loads(data.read_bytes()))


_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "y", "ies", "ied", "ier",
             "iest", "ness", "n")
# the suffixes that make a typo look like an inflection of a short word ("barly" as "bar" +
# "ly"): a word known only through these may be a vocabulary word with a letter dropped
_WEAK_SUFFIXES = ("ly", "y", "d", "n")
_STRONG_SUFFIXES = tuple(s for s in _SUFFIXES if s not in _WEAK_SUFFIXES)


# a one-syllable word ending consonant-vowel-consonant doubles it before these ("throb" ->
# "throbbing", "hot" -> "hotter"): a single letter there is a typo, not an inflection
_DOUBLING = frozenset({"ing", "ed", "er", "est"})
_SHORT_CVC = re.compile(r"^[^aeiouy]*[aeiou][^aeiouwxy]$")


def _skeleton(word: str) -> str:
    """Consonants only, doubled ones once: "tght" and "tight" share "tght", "swoln" and
    "swollen" share "swln" (dropped-vowel and dropped-letter spellings)."""
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", word))


# endings an English word takes in chat ("planning", "topped", "lads", "son's" folded "sons")
_INFLECTIONS = ("ing", "ed", "es", "s", "d", "er", "ers", "est", "ies", "ied")


@forgettable
@functools.lru_cache(maxsize=8192)
def english_word(word: str) -> bool:
    """``word`` is on the English word list, or an inflection of a word on it: the list has
    base forms only, so "planning" (plan), "topped" (top) and "lads" (lad) are English too and
    never a slip for a knowledge-base word ("tanning", "stopped")."""
    words = english_words()
    if word in words:
        return True
    for suffix in _INFLECTIONS:
        base = word[: -len(suffix)]
        if not word.endswith(suffix) or len(base) < 3:
            continue
        if suffix in ("ing", "ed", "d", "er") and base.endswith(("ed", "ing")):
            continue  # "bleding" is no "bled" + "ing"
        if suffix in ("ies", "ied"):
            if base + "y" in words:
                return True
            continue
        if base in words or (suffix[0] in "ie" and base + "e" in words):
            return True
        if base[-1] == base[-2] and base[-1] not in "aeiouls" and base[:-1] in words:
            return True  # a doubled last letter: "planning", "topped"
    return False


class Speller:
    """Corrects unknown words toward a vocabulary: swapped, dropped or doubled letters by
    (optimal string alignment) edit distance with rapidfuzz, dropped vowels by the consonant
    skeleton. Words of the English word list (and their inflections) are never changed."""

    def __init__(self, vocabulary: Iterable[str], known: Iterable[str] = (),
                 plain: Iterable[str] = ()) -> None:
        """``plain``: words corrected toward like the vocabulary's ("cnat" is "cant") that are
        not its own words (``in_vocabulary`` is False: they name no sign)."""
        own = tuple(dict.fromkeys(w.lower() for w in vocabulary))
        self.vocabulary = tuple(dict.fromkeys((*own, *(w.lower() for w in plain))))
        self._vocab_set = frozenset(self.vocabulary)
        self._own = frozenset(own)
        self._extra = self._vocab_set | frozenset(known)  # the English list loads on first use
        skeletons: dict[str, str] = {}
        for word in self.vocabulary:
            skeletons.setdefault(_skeleton(word), word)
        # a chat "-in" typed without its vowels too ("wrkn", "gttn", "bldn"): the -ing word
        for word in self.vocabulary:
            if word.endswith("ing") and len(word) > 5:
                skeletons.setdefault(_skeleton(word[:-1]), word)
        self._skeletons = skeletons
        self._cache: WordCache[str] = WordCache()

    def _known(self, word: str) -> bool:
        return word in self._extra or word in english_words()

    def is_known(self, word: str) -> bool:
        return len(word) < 4 or self._known(word) or self._inflected(word, _SUFFIXES)

    def _inflected(self, word: str, suffixes: tuple[str, ...]) -> bool:
        """Whether ``word`` is a known word with one of ``suffixes`` added."""
        for suffix in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                base = word[: -len(suffix)]
                if suffix in ("ing", "ed", "d", "er") and base.endswith(("ed", "ing")):
                    # "bleding" is not "bled" + "ing"
                    continue
                if (suffix in _DOUBLING and _SHORT_CVC.search(base)
                        and base + base[-1] + suffix in self._vocab_set
                        and not (suffix in ("ing", "ed") and self._known(base + "e"))):
                    # "throbing", "hoter": a short word doubles its last letter; but a silent
                    # "e" dropped is an inflection too ("scaring" is scare + ing, "hoping")
                    return False
                if self._known(base) or self._known(base + "e"):
                    return True
                if suffix.startswith("i") and self._known(base + "y"):
                    return True
                if len(base) > 3 and base[-1] == base[-2] and self._known(base[:-1]):
                    return True
        return False

    def word(self, word: str) -> str:
        """The correction of one lowercase word (itself when known or nothing is close)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        result = word
        single = _REPEATS2.sub(r"\1", word)
        dropped_g = self._dropped_g(word)
        if single != word and single in self._vocab_set and word not in self._vocab_set:
            result = single  # a doubled letter ("puss", "lipps"), even when it spells a word
        elif dropped_g is not None:
            result = dropped_g  # "blowin", "swellin", "puffin" up: the -ing of a triage word
        elif (len(word) == 3 and not re.search(r"[aeiouy]", word)
              and len(self._skeletons.get(word, "")) == 4):
            # a four-letter word typed without its one vowel ("hlp" for help, "lps"): too
            # short for the rest of the speller, whose shortest words are taken as typed
            # ("srs", "lmk", "bbl" stay chat)
            result = self._skeletons[word]
        elif (short := self._short_vowel_dropped(word)) is not None:
            result = short  # "hge" is "huge": a four-letter word typed without one vowel
        elif (swapped := self._swapped_short(word)) is not None:
            result = swapped  # "rde" is "red": a three-letter word with two letters swapped
        elif (dropped := self._dropped_letter(word)) is not None:
            result = dropped  # "barly", "blury", "bloatd": a letter dropped, not an inflection
        elif not self.is_known(word):
            limit = 1 if len(word) < 6 else 2
            best = self._closest(word, limit)
            if best is not None:
                result = best
            else:
                skeleton = _skeleton(word)
                found = self._skeletons.get(skeleton) if len(skeleton) >= 3 else None
                # no vowels typed ("thrt"), or some vowels and letters dropped ("swoln",
                # "tung") with the same first letter
                if found is not None and (
                        not re.search(r"[aeiou]", word)
                        or (len(word) >= 4 and found[0] == word[0]
                            and 0 < len(found) - len(word) <= 3)):
                    result = found
        if len(self._cache) < 50_000:
            self._cache[word] = result
        return result

    def _short_vowel_dropped(self, word: str) -> str | None:
        """The four-letter vocabulary word ``word`` is with one inner vowel dropped ("hge" is
        "huge"), when ``word`` is a three-letter word with a vowel that is no English word and
        only one such word fits (a word with none is read by its consonants, above)."""
        if len(word) != 3 or not re.search(r"[aeiouy]", word) or self._known(word):
            return None
        fits = {cand for cand in self.vocabulary
                if len(cand) == 4 and cand[0] == word[0] and cand[-1] == word[-1]
                and cand[1] in "aeiou" and cand[0] + cand[2:] == word}
        fits |= {cand for cand in self.vocabulary
                 if len(cand) == 4 and cand[0] == word[0] and cand[-1] == word[-1]
                 and cand[2] in "aeiou" and cand[:2] + cand[3] == word}
        return fits.pop() if len(fits) == 1 else None

    def _swapped_short(self, word: str) -> str | None:
        """The three-letter vocabulary word ``word`` is with two neighbouring letters swapped
        ("rde" is "red"), when ``word`` is no English word and only one such word fits; too
        short for the edit distance, whose shortest words are taken as typed."""
        if len(word) != 3 or self._known(word):
            return None
        fits = {cand for cand in (word[1] + word[0] + word[2], word[0] + word[2] + word[1])
                if cand in self._vocab_set}
        return fits.pop() if len(fits) == 1 else None

    def _dropped_letter(self, word: str) -> str | None:
        """The vocabulary word ``word`` is with one letter dropped, when ``word`` is known only as
        a weak inflection of a short word ("barly" is not "bar" + "ly" but "barely", "blury" is
        "blurry", "bloatd" is "bloated"); None when it is an English word or a real inflection
        ("sells", "gaping", "steaks" stay as typed)."""
        if len(word) < 4 or self._known(word) or word in self._vocab_set:
            return None
        if not self._inflected(word, _WEAK_SUFFIXES) or self._inflected(word, _STRONG_SUFFIXES):
            return None
        fits = [cand for cand in self.vocabulary
                if len(cand) == len(word) + 1 and cand[0] == word[0]
                and Indel.distance(word, cand) == 1]
        if not fits and len(word) >= 5:
            # ... or one letter typed for another inside the word ("blead" is not "blea" + "d"
            # but "bleed"; never the ending the inflection is read from: "bumpy" is no "bumps"):
            # the only vocabulary word of its length and first and last letters one letter away
            fits = [cand for cand in self.vocabulary
                    if len(cand) == len(word) and cand[0] == word[0] and cand[-1] == word[-1]
                    and OSA.distance(word, cand) == 1 and Indel.distance(word, cand) == 2]
        return fits[0] if len(fits) == 1 else None

    def _dropped_g(self, word: str) -> str | None:
        """The -ing word a chat "-in" stands for ("blowin", "swellin", "closin", "puffin" up):
        a word of the vocabulary with its g dropped, or, when the word typed is no English
        word, an English -ing word ("tightenin"). None for anything else ("cabin", "raisin")."""
        if len(word) < 5 or word in self._vocab_set:
            return None
        if not word.endswith("in"):
            # the "i" dropped too ("bleedn", "oozn"): a vocabulary -ing word, when the word
            # typed is no English word ("grown", "blown" stay)
            full = word[:-1] + "ing"
            if word.endswith("n") and full in self._vocab_set and not english_word(word):
                return full
            return None
        full = word + "g"
        if full in self._vocab_set:
            return full
        if not self.is_known(word) and english_word(full):
            return full
        return None

    def _closest(self, word: str, limit: int) -> str | None:
        """The vocabulary word nearest ``word`` within ``limit`` edits, or None. Ties go to the
        word reached by inserting or deleting letters rather than replacing them ("speading"
        is "spreading", not "speaking"); a word whose first letter differs is only taken when
        the first two letters were swapped ("littel" is not "pitted")."""
        found = process.extract(word, self.vocabulary, scorer=OSA.distance,
                                score_cutoff=limit, limit=None)
        fits = [(distance, Indel.distance(word, cand), index, cand)
                for cand, distance, index in found
                if cand[0] == word[0] or (len(word) > 1 and word[:2] == cand[1::-1])]
        return min(fits)[3] if fits else None

    def in_vocabulary(self, word: str) -> bool:
        """Whether ``word`` (lowercase) is one of the vocabulary's own words."""
        return word in self._own

    def english_share(self, text: str) -> float:
        """The share of words (3+ letters) that are English or a typo of the vocabulary."""
        words: list[str] = [w for w in _ANY_WORD.findall(text.lower()) if len(w) >= 3]
        if not words:
            return 0.0
        english = sum(1 for w in words if w.isascii() and (self.is_known(w) or self.word(w) != w))
        return english / len(words)

    def correct(self, text: str) -> str:
        """``text`` with every unknown word corrected toward the vocabulary. A longer message in
        which most words are not English is left alone: "Fieber" is German, not a typo."""
        words = [w for w in _ANY_WORD.findall(text) if len(w) >= 3]
        if len(words) > 3 and sum(self.is_known(w) or (w.isascii() and self.word(w) != w)
                                  for w in words) < len(words) / 2:
            return text
        return _WORD.sub(lambda m: self.word(m.group(0)), text)
