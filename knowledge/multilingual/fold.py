"""Folding and splitting other-language text: accents, diacritics and Arabic vowel marks
dropped (with a map back to the original characters), letters typed three times cut to two,
words and elisions, sentence and clause punctuation."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from knowledge.text import forgettable, strip_accents

SPECIAL = str.maketrans({
    "ł": "l", "Ł": "l", "ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "đ": "d",
    "ى": "ي", "ة": "ه", "ـ": "", "’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'",
    "٫": ".", "،": ",", "×": "x", "؛": ";", "؟": "?",
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
})


@functools.lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    return strip_accents(ch.translate(SPECIAL).lower().translate(SPECIAL))


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """``fold`` plus, for each folded character, the index of the character it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for out in fold_char(ch):
            if len(chars) >= 2 and out == chars[-1] == chars[-2] and out.isalpha():
                continue  # letters typed three or more times are cut to two
            chars.append(out)
            origin.append(index)
    return "".join(chars), origin


_REPEATS = re.compile(r"([^\W\d_])\1{2,}")


# one-word sentences in a row ("je. peux. plus. respirer."): their full stops do not break
STACCATO_RUN = re.compile(r"(?<![\w.])\w+\.(?:[ \t]+\w+\.){1,}(?:[ \t]+\w+)?")


_ENGLISH_DENIAL = r"\b(?:no|not|nope|nah|never|without|zero|none)\s+(?:[a-z]+\s+){0,2}?"


def denied_in_english(text: str, evidence: str) -> bool:
    """True when an English denial word comes just before the evidence ("nope no pus")."""
    words = fold(evidence).split()
    if not words:
        return False
    return re.search(_ENGLISH_DENIAL + re.escape(words[0]) + r"\b", fold(text)) is not None


@forgettable
@functools.lru_cache(maxsize=2048)
def fold(text: str) -> str:
    """Lowercase with accents, diacritics and Arabic vowel marks removed (see module doc);
    the same text as ``fold_with_map`` gives, without the map."""
    folded = strip_accents(text.translate(SPECIAL).lower().translate(SPECIAL))
    return _REPEATS.sub(r"\1\1", folded)


# "2x" and "x2" (twice, two times) are one word, written "2x" (``times_word``)
TOKEN = re.compile(r"\d{1,2}x(?![^\W\d_])|x\d{1,2}(?!\w|[.,]\d)|\d+(?:[.,]\d+)?"
                   r"|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)


def times_word(word: str) -> str:
    """"x2" -> "2x": a multiple written either way round is one lexicon word."""
    return word[1:] + "x" if word[0] == "x" and word[1:].isdigit() else word
CLAUSE_PUNCT = re.compile(r"[.,;:!?¿¡()\[\]\n/\-–—]")
SENTENCE_PUNCT = re.compile(r"[.!?\n]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ELISIONS = frozenset(["l", "j", "d", "m", "n", "s", "t", "c", "qu", "un", "dell", "nell",
                       "all", "dall", "sull", "quell", "c'", "jusqu", "lorsqu", "puisqu"])


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    clause: int


def split_word(word: str) -> list[str]:
    """French/Italian elision ("j'ai" -> "j", "ai"); Ukrainian/other apostrophes are dropped."""
    if "'" not in word:
        return [word]
    head, _, rest = word.partition("'")
    if head in _ELISIONS and not _CYRILLIC.search(word):
        return [head, *split_word(rest)]
    return [word.replace("'", "")]

