"""Text normalisation shared by the matcher, the loader's collision check and small-talk detection.

Patients type on phones: mixed case, emoji, missing apostrophes, British or American spelling,
greetings and filler around the question. ``normalise`` folds all of that into a plain
lowercase string of words; ``content_tokens`` keeps only the words that carry meaning.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_NON_WORD = re.compile(r"[^a-z0-9\s]+")
_SPACES = re.compile(r"\s+")

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
    "pls": "please",
    "plz": "please",
    "u": "you",
    "ur": "your",
    "r": "are",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tomoz": "tomorrow",
    "2moro": "tomorrow",
    "tonite": "tonight",
    "2nite": "tonight",
    "b4": "before",
    "wk": "week",
    "wks": "weeks",
    "hrs": "hours",
    "hr": "hour",
    "mins": "minutes",
    "bc": "because",
    "cuz": "because",
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
    "cheers", "erm", "good", "haha", "hmm", "just", "kinda", "like", "lil", "little", "lol",
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
        "safe", "allowed", "alright", "good", "bad", "normal", "usual", "ever",
    ]
)


@functools.lru_cache(maxsize=4096)  # one message is folded by several checks in a row
def fold(text: str) -> str:
    """Lowercase, fold unicode and apostrophes, drop emoji and punctuation, squash spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _NON_WORD.sub(" ", text.replace("'", ""))
    text = _SPACES.sub(" ", text).strip()
    for phrase, canonical in PHRASES:
        if phrase in text:
            text = re.sub(rf"\b{re.escape(phrase)}\b", canonical, text)
    return text


def tokens(text: str) -> list[str]:
    """Folded words with spelling variants mapped to one canonical form."""
    return [SYNONYMS.get(word, word) for word in fold(text).split()]


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


def looks_like_gibberish(text: str) -> bool:
    """True for an empty or emoji-only message, or one whose every word is a keyboard mash."""
    words = fold(text).split()
    if not words:
        return True
    return all(_CONSONANT_RUN.search(w) or not _VOWEL.search(w) for w in words if not w.isdigit())
