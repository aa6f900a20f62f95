"""The facade the advisor asks: language detection plus the sign lexicons (``Multilingual``), and
``Reading``, what it says of a message not in English."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalogue import Catalogue
from knowledge.language import ENGLISH, Detection, LanguageDetector
from knowledge.multilingual.fold import denied_in_english
from knowledge.multilingual.lexicons import Lexicons
from knowledge.multilingual.loading import lazy_lexicons
from knowledge.triage import Sign, TriageDecision

# languages written in Latin script, and the most English an unaccented message may read for
# their lexicons to look at it when the detector said English (``read_unaccented``)
LATIN_SCRIPT = frozenset({"es", "pt", "fr", "de", "it", "pl", "tr"})
UNACCENTED_ENGLISH_SHARE = 0.5



@dataclass(frozen=True)
class Reading:
    """A message not in English: its detected language and what the lexicons found in it.

    ``language`` is the language the reply templates use: the language whose lexicon recognised
    a sign, else the detected language when the bot has templates for it, else "en".
    """

    detection: Detection
    decision: TriageDecision
    language: str
    smalltalk: bool = False


class Multilingual:
    """Language detection plus the sign lexicons: what the advisor asks about a message."""

    def __init__(self, lexicons: Lexicons, detector: LanguageDetector,
                 names: Mapping[str, str] | None = None) -> None:
        self.lexicons = lexicons
        self.detector = detector
        self._names = dict(names or {})

    @classmethod
    def load(cls, signs: Iterable[Sign], english_words: Iterable[str],
             names: Mapping[str, str] | None = None,
             directory: Path | None = None) -> Multilingual:
        lexicons = lazy_lexicons(signs, directory)  # each language read on first use
        return cls(lexicons, LanguageDetector(lexicons.codes, english_words), names)

    def load_all(self) -> None:
        """Read every language file now (`Lexicons.load_all`); ``KBError`` with file and
        line for any problem."""
        self.lexicons.load_all()

    def warm_up(self) -> None:
        """Read every language file and build what each pack builds on first use (its typo
        index, its texts): `Lexicons.warm_up`."""
        self.lexicons.warm_up()

    def name(self, code: str) -> str:
        """The language's English name for staff ("Spanish"), or its code when unknown."""
        if code in self.lexicons.packs:
            return self.lexicons.packs[code].name
        return self._names.get(code, code)

    def texts(self, code: str) -> Catalogue | None:
        """The language's patient-facing texts (templates, clinic hours, sign advice,
        rule-out questions) as a `Catalogue`; None for a language without a file."""
        return self.lexicons.texts(code)

    def typed_answers(self, code: str) -> tuple[frozenset[str], frozenset[str]]:
        """The language's rule-out answers typed instead of tapped (yes, no), in
        ``answer_words`` form; empty for a language without a file."""
        pack = self.lexicons.pack(code)
        return pack.typed_answers if pack is not None else (frozenset(), frozenset())

    def read_unaccented(self, text: str, day: int | None,
                        hint: str | None = None) -> Reading | None:
        """A sign in Latin-script text that the detector took for English although most of its
        words are not English: another language typed without its accents ("a dor so piora",
        "el ibuprofeno no hace nada"). Every Latin-script lexicon reads it; a Reading only when
        one of them finds a sign, so English text is never answered in another language."""
        if not text.isascii() or not any(ch.isalpha() for ch in text):
            return None
        share, count = self.detector.english_share(text)
        if count < 2 or share > UNACCENTED_ENGLISH_SHARE:
            return None
        latin = tuple(code for code in self.lexicons.codes if code in LATIN_SCRIPT)
        if hint in latin:
            latin = (hint, *(code for code in latin if code != hint))
        # only words read as written: "i could murder a pizza" is no Italian "puzza" (a smell)
        reading = self.lexicons.assess(text, day, latin, exact=True)
        if reading.decision.urgency is None or reading.language is None:
            return None
        # "nope no pus" is English denying the sign, not French naming it
        if denied_in_english(text, reading.decision.evidence):
            return None
        detection = Detection(reading.language, 0.0, (reading.language,), True)
        return Reading(detection, reading.decision, reading.language)

    def read(self, text: str, day: int | None, hint: str | None = None) -> Reading | None:
        """None for English; otherwise the detected language and any sign found."""
        detection = self.detector.detect(text, hint)
        if detection.english:
            return None
        reading = self.lexicons.assess(text, day, detection.candidates)
        language = reading.language or (
            detection.code if detection.code in self.lexicons.packs else
            next((c for c in detection.candidates if c in self.lexicons.packs), ENGLISH))
        smalltalk = False
        if reading.decision.urgency is None:
            talk = self.lexicons.is_smalltalk(text, detection.candidates)
            if talk is not None:
                smalltalk, language = True, talk
        return Reading(detection, reading.decision, language, smalltalk)
