"""Text preparation before the rules run: the project's normaliser (shorthand, typo correction
toward the triage vocabulary), arrows as words, discourse filler and stacked intensifiers out,
hedges as clause breaks, staccato sentences joined, relative clauses read again without."""

from __future__ import annotations

import re

from knowledge.text import clean
from knowledge.triage.rules import Language


def normalise(text: str, lang: Language) -> str:
    """The project's normaliser (knowledge/text.py), spelling corrected toward the triage
    vocabulary, hedges turned into clause breaks."""
    t = lang.speller.correct(clean(_ARROWS.sub(_arrow_word, text), punctuation=True))
    t = _NOUN_IS.sub(" is", t)  # "throat's tight" -> "throat s tight" -> "throat is tight"
    t = _strip_filler(t)
    t = lang.hedge_re.sub(" , ", t)
    t = _STACCATO.sub(r"\1 ", t)  # "cant. breathe. properly." -> "cant breathe properly."
    # a state parted from its subject by a relative clause ("the pain, which was fine the
    # first night, is now much worse"): the message is read again without the clause
    joined = _RELATIVE.sub(" ", t)
    if joined != t:
        t = f"{t} . {joined}"
    return _SPACES.sub(" ", t).strip()


# arrows written as words: "swelling ↑↑ since yday" is swelling worse, "↓" is better
_UP_ARROWS = "\u2191\u2b06\u21d1\u2197\U0001f4c8"
_DOWN_ARROWS = "\u2193\u2b07\u21d3\u2198\U0001f4c9"
_ARROWS = re.compile(f"(?:[{_UP_ARROWS}]\ufe0f?)+|(?:[{_DOWN_ARROWS}]\ufe0f?)+")


def _arrow_word(m: re.Match[str]) -> str:
    return " better " if m.group()[0] in _DOWN_ARROWS else " worse "


# discourse filler set off by commas inside a phrase ("i'm getting, honestly, quite a lot more
# pain"): the commas would split the phrase, so the filler and its commas go (any language)
_FILLER_WORDS = (
    r"honestly|frankly|basically|literally|seriously|like|you\s+know|i\s+mean|tbh|idk|"
    r"to\s+be\s+honest|(?:i\s+)?(?:dont|do\s+not)\s+know|um+|uh+|erm+|hm+|"
    r"i\s+guess|i\s+think|"
    # es pt fr de it ru uk pl tr
    r"o\s+sea|pues|bueno|tipo|sabe|genre|bref|enfin|quoi|halt|irgendwie|also|insomma|"
    r"cioe|ну|типа|короче|как\s+бы|вообще|честно|коротше|чесно|no\s+wiesz|"
    r"jakby|jakos|yani|iste|şey|sey")
_COMMA_FILLER = re.compile(
    rf"(?:^|,)\s*(?:(?:{_FILLER_WORDS})\s*,\s*)+(?:some\s+(?:kind|sort)\s+of\s*,?\s*)?")
# "some kind of" / "sort of a" is a vague "some", never a state of its own
_KIND_OF = re.compile(r"\b(?<=some )(?:kind|sort)\s+of\s*,?\s*(?=[a-z])")
# a comma before a one-word piece of the phrase
_ONE_WORD_COMMA = re.compile(r"\s*,\s*(?=[a-z]+\s*(?:,|$))")
# stacked intensifiers ("really, really, REALLY sore") are one
_STACKED = re.compile(r"\b(really|very|so|super|so+|extremely|quite)(?:\s*,?\s*\1\b)+")


def _strip_filler(t: str) -> str:
    """Filler and discourse words between the words of a phrase taken out, stacked
    intensifiers folded to one, so the rules read the phrase whole."""
    t = _STACKED.sub(r"\1", t)
    stripped = _COMMA_FILLER.sub(lambda m: " " if m.start() else "", t)
    if stripped != t:  # the rest of a phrase broken by filler: "yellow, crusty, stuff"
        stripped = _ONE_WORD_COMMA.sub(" ", stripped)
    t = stripped
    t = _KIND_OF.sub("", t)
    return t


# a run of one-word sentences is one phrase: "cant. breathe. properly."
_STACCATO = re.compile(r"(?<![\w.])([a-z]+)\.\s+(?=[a-z]+\.)")
# ", which was fine the first night," between a subject and its state
_RELATIVE = re.compile(r",\s*(?:which|who|that)\s+[^,.!?;\n]{3,60},"
                       r"(?=\s*(?:is|are|was|were|has|have|had|now|still|seems?|looks?|feels?|"
                       r"keeps?|getting|gets|got)\b)")


_SPACES = re.compile(r"[ \t\r\f\v]+")
_NOUN_IS = re.compile(r"(?<=[a-z]) s\b")
