"""Second red-flag detectors: how close each clause of a message is to a bank of phrasings per sign.

The rules (knowledge/triage/) only catch the wordings someone foresaw. A second detector does
not depend on that: it compares every clause the rules consider live (negated, hypothetical,
joking and story clauses already dropped by the rules' machinery) with the phrase bank in
``knowledge/phrases.yaml``, clause by clause, so a normal clause never cancels a red-flag clause
elsewhere in the message. A clause counts for a sign when its closest red-flag phrase is above
the detector's threshold and clearly closer (``MARGIN``) than the closest normal phrase for that
same clause.

Three detectors share the bank (``DETECTORS``); ``benchmarks/triage.py`` compares them:

* ``ngram``: TF-IDF over character 3-5-grams of word-boundary-padded text, cosine similarity
  through an inverted index; pure Python, no model, no extra dependency.
* ``fuzz``: rapidfuzz ``token_set_ratio`` against every phrase (``process.extractOne``).
* ``embed``: a static sentence embedding (the mean of WordLlama's token vectors, the weights the
  ``wordllama`` wheel ships) and cosine similarity; numpy and tokenizers, imported only when
  this detector is chosen, and the weights read from the installed package like a data file.

A fourth, ``concepts`` (knowledge/concepts.py), needs no bank: per red-flag sign group it looks for
a body part or function (anchor) near an abnormal state, word families read from
``knowledge/concepts.yaml``, with the group's day window.

``ngram+embed`` and ``ngram+concepts`` are both of their two (``load_detectors``), asked in turn:
either can raise the alarm.

Any detector (a language detector too) plugs in through the ``Detector`` protocol: it gets the
live clauses and the day, and returns a ``Finding`` or None. Pure: the only I/O is reading the bank.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from rapidfuzz import fuzz, process

from knowledge.findings import Detector, Finding
from knowledge.text import FILLER, STOPWORDS, content_tokens, tokens

if TYPE_CHECKING:  # numpy is imported only when the embed detector is built
    import numpy
    from numpy.typing import NDArray

__all__ = ["DETECTORS", "Detector", "EmbedModelMissing", "Finding", "PhraseBank",
           "PhraseBankError", "embed_model_files", "load_detector", "load_detectors",
           "load_phrase_bank"]

_PACKAGED_FILE = "phrases.yaml"
_TIERS = ("emergency", "urgent")
MIN_CLAUSE_CHARS = 6
MARGIN = 0.05  # a red-flag phrase must beat the closest normal phrase by this much
_SLACK = 1e-9  # float rounding allowed for when a bound rules a phrase out
_SKIPPED_SHARE = 0.4  # grams bounded together under this share of the threshold are not summed


class PhraseBankError(ValueError):
    """The phrase bank is missing or malformed; names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True)
class PhraseBank:
    """Red-flag phrases (each with its sign and tier) and clearly normal phrases."""

    phrases: tuple[str, ...]
    signs: tuple[str, ...]  # sign id of each phrase
    tiers: tuple[str, ...]  # tier of each phrase
    normal: tuple[str, ...]  # clearly normal and "unsure" phrases: a clause's contrast
    path: str

    @property
    def sign_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.signs))


def load_phrase_bank(path: str | Path | None = None) -> PhraseBank:
    """The packaged ``knowledge/phrases.yaml`` or the file at ``path``; PhraseBankError if bad."""
    from knowledge.text import clean
    from knowledge.yamlfile import FAST_SAFE_LOADER, data_text

    try:
        name, text = data_text(_PACKAGED_FILE, path)
    except OSError as exc:
        raise PhraseBankError(str(path), None, f"cannot read the file ({exc})") from exc
    try:
        root = yaml.compose(text, Loader=FAST_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PhraseBankError(name, line, f"invalid YAML: {exc}") from exc
    if not isinstance(root, yaml.MappingNode):
        raise PhraseBankError(name, 1, "the file must be a mapping with 'version', 'signs', "
                              "'normal' and 'unsure'")
    top = {key.value: value for key, value in root.value}
    for key in ("version", "signs", "normal", "unsure"):
        if key not in top:
            raise PhraseBankError(name, 1, f"missing {key!r}")
    phrases: list[str] = []
    signs: list[str] = []
    tiers: list[str] = []
    if not isinstance(top["signs"], yaml.SequenceNode) or not top["signs"].value:
        raise PhraseBankError(name, top["signs"].start_mark.line + 1, "'signs' must be a list")
    for node in top["signs"].value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise PhraseBankError(name, line, "a sign must be a mapping with id, tier, phrases")
        fields = {key.value: value for key, value in node.value}
        unknown = set(fields) - {"id", "tier", "phrases"}
        if unknown or not {"id", "tier", "phrases"} <= set(fields):
            raise PhraseBankError(name, line, "a sign needs exactly 'id', 'tier' and 'phrases'")
        sign, tier = fields["id"].value, fields["tier"].value
        if tier not in _TIERS:
            raise PhraseBankError(name, fields["tier"].start_mark.line + 1,
                                  f"tier {tier!r} must be emergency or urgent")
        items = fields["phrases"]
        if not isinstance(items, yaml.SequenceNode) or not items.value:
            raise PhraseBankError(name, items.start_mark.line + 1, f"{sign}: no phrases")
        for item in items.value:
            phrase = clean(str(item.value))
            if not isinstance(item, yaml.ScalarNode) or not phrase:
                raise PhraseBankError(name, item.start_mark.line + 1, "a phrase must be text")
            phrases.append(phrase)
            signs.append(sign)
            tiers.append(tier)
    contrast: list[str] = []
    for key in ("normal", "unsure"):
        node = top[key]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise PhraseBankError(name, node.start_mark.line + 1, f"{key!r} must be a list")
        contrast += [clean(str(item.value)) for item in node.value]
    normal = tuple(contrast)
    return PhraseBank(tuple(phrases), tuple(signs), tuple(tiers), normal, name)


# ----------------------------------------------------------------------------- character n-grams


def _grams(text: str) -> dict[str, int]:
    padded = f" {text} "
    counts: dict[str, int] = {}
    seen = counts.get
    for n in (3, 4, 5):
        for i in range(len(padded) - n + 1):
            gram = padded[i:i + n]
            counts[gram] = seen(gram, 0) + 1
    return counts


# sublinear term frequency, 1 + ln(count), for the counts a phrase or clause usually has
_TF = tuple(1 + math.log(count) if count else 0.0 for count in range(64))


class _NgramIndex:
    """TF-IDF (sublinear tf, smoothed idf) over character n-grams, cosine by inverted index."""

    def __init__(self, documents: Sequence[str], idf: dict[str, float] | None = None) -> None:
        grams = [_grams(doc) for doc in documents]
        if idf is None:
            df: dict[str, int] = defaultdict(int)
            for counts in grams:
                for gram in counts:
                    df[gram] += 1
            total = len(documents)
            idf = {gram: math.log((1 + total) / (1 + n)) + 1 for gram, n in df.items()}
        self.idf = idf
        self.default_idf = max(idf.values()) if idf else 1.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, counts in enumerate(grams):
            for gram, weight in self.vector(counts).items():
                postings[gram].append((index, weight))
        self.postings = {gram: tuple(posting) for gram, posting in postings.items()}
        self.size = len(documents)
        # the heaviest weight of each gram in any document: the most it adds to a cosine
        self.ceiling = {gram: max(weight for _, weight in posting)
                        for gram, posting in self.postings.items()}

    def vector(self, counts: dict[str, int]) -> dict[str, float]:
        idf, default = self.idf.get, self.default_idf
        weights = {g: (_TF[c] if c < len(_TF) else 1 + math.log(c)) * idf(g, default)
                   for g, c in counts.items()}
        norm = math.sqrt(sum([w * w for w in weights.values()])) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def best(self, text: str) -> tuple[int, float]:
        return self.best_of(self.vector(_grams(text)))

    def best_of(self, query: dict[str, float]) -> tuple[int, float]:
        """The document closest to a query vector and its cosine; (-1, 0.0) when none shares
        a gram with it. Ties go to the document the query's grams reach first."""
        scores = [0.0] * self.size  # a list, not a dict: this loop is the detector's cost
        postings = self.postings
        for gram, weight in query.items():
            for index, other in postings.get(gram, ()):
                scores[index] += weight * other
        top = max(scores, default=0.0)
        if top == 0.0:  # every weight is positive: no shared gram
            return -1, 0.0
        index = scores.index(top)
        if scores.count(top) > 1:
            index = self._first_reached(query, scores, top)
        return index, top

    def may_reach(self, query: dict[str, float], floor: float) -> bool:
        """Whether some document's cosine with the query vector could reach ``floor`` (False:
        none does; True: one may). Most clauses are nowhere near any phrase, and this tells so
        from the query's rarer grams alone: each gram adds at most its weight times its
        ``ceiling``, so the grams whose ceilings together stay under a share of the floor are
        left out of the sum and their ceilings added to every document's partial score."""
        ceiling = self.ceiling
        bounds = [(weight * ceiling[gram], gram) for gram, weight in query.items()
                  if gram in ceiling]
        # every gram at its ceiling: no document can score more (a quarter of the clauses of
        # the blind batches stop here, before any posting is read)
        if sum([bound for bound, _ in bounds]) < floor - _SLACK:
            return False
        bounds.sort()
        spare, cut = 0.0, 0
        for bound, _ in bounds:
            if spare + bound >= floor * _SKIPPED_SHARE:
                break
            spare += bound
            cut += 1
        scores = [0.0] * self.size
        postings = self.postings
        for _, gram in bounds[cut:]:
            weight = query[gram]
            for index, other in postings[gram]:
                scores[index] += weight * other
        return max(scores, default=0.0) + spare >= floor - _SLACK

    def _first_reached(self, query: dict[str, float], scores: list[float], top: float) -> int:
        """Of the documents scoring ``top``, the one the query's grams reach first."""
        for gram in query:
            for index, _ in self.postings.get(gram, ()):
                if scores[index] == top:
                    return index
        raise AssertionError("a top score no gram reached")  # pragma: no cover


class NgramDetector:
    """Character n-gram TF-IDF similarity of each clause to the phrase bank."""

    name = "ngram"
    threshold = 0.55
    margin = MARGIN

    def __init__(self, bank: PhraseBank) -> None:
        self.bank = bank
        self._red = _NgramIndex(bank.phrases)

    @cached_property
    def _normal(self) -> _NgramIndex:
        """The normal-healing phrases' index, built the first time a clause comes close to a
        red-flag phrase (start-up time: most processes never need it)."""
        return _NgramIndex(self.bank.normal, self._red.idf)

    def warm_up(self) -> None:
        """Build the normal-healing phrases' index now (``findings.Warms``)."""
        _ = self._normal

    def score(self, clause: str, floor: float = 0.0) -> tuple[int, float, float]:
        """(closest red-flag phrase, its cosine, the closest normal phrase's cosine); the
        normal one is only looked up (else 0.0) when the red one reaches ``floor``, and nothing
        ((-1, 0.0, 0.0)) when no red-flag phrase can."""
        query = self._red.vector(_grams(clause))  # both indexes share the red one's idf
        if floor > 0.0 and not self._red.may_reach(query, floor):
            return -1, 0.0, 0.0
        index, red = self._red.best_of(query)
        if index < 0 or red < floor:
            return index, red, 0.0
        _, normal = self._normal.best_of(query)
        return index, red, normal

    def detect(self, clauses: Sequence[str], day: int | None) -> Finding | None:
        return _best_finding(self, clauses)


class FuzzDetector:
    """rapidfuzz token-set similarity of each clause to the phrase bank."""

    name = "fuzz"
    threshold = 0.86
    margin = MARGIN

    def __init__(self, bank: PhraseBank) -> None:
        self.bank = bank

    def score(self, clause: str, floor: float = 0.0) -> tuple[int, float, float]:
        """(closest red-flag phrase, its similarity, the closest normal phrase's); the normal
        one is only looked up (else 0.0) when the red one reaches ``floor``. A clause of
        function words only ("what is it") is no match: token-set similarity scores it 1.0
        against any phrase that holds all of its words (one about not knowing the date)."""
        if all(word in STOPWORDS or word in FILLER for word in clause.split()):
            return -1, 0.0, 0.0
        red = process.extractOne(clause, self.bank.phrases, scorer=fuzz.token_set_ratio)
        if red is None:
            return -1, 0.0, 0.0
        if red[1] / 100 < floor:
            return red[2], red[1] / 100, 0.0
        normal = process.extractOne(clause, self.bank.normal, scorer=fuzz.token_set_ratio)
        return red[2], red[1] / 100, (normal[1] / 100 if normal else 0.0)

    def detect(self, clauses: Sequence[str], day: int | None) -> Finding | None:
        return _best_finding(self, clauses)


# ----------------------------------------------------------------------------- sentence embedding

_EMBED_PACKAGE = "wordllama"  # MIT; its wheel ships the weights and the tokenizer below
_EMBED_WEIGHTS = ("weights", "l2_supercat_256.safetensors")
_EMBED_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
_EMBED_TENSOR = "embedding.weight"


class EmbedModelMissing(RuntimeError):
    """The embedding detector was chosen but its weights are not installed."""


def embed_model_files() -> tuple[Path, Path]:
    """(weights, tokenizer) inside the installed ``wordllama`` package, found without importing
    it (its import configures the root logger and pulls in an HTTP client this never uses)."""
    from importlib.util import find_spec

    spec = find_spec(_EMBED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedModelMissing(
            "the 'embed' detector needs the wordllama package (pip install wordllama)")
    root = Path(next(iter(spec.submodule_search_locations)))
    weights, tokenizer = root.joinpath(*_EMBED_WEIGHTS), root.joinpath(*_EMBED_TOKENIZER)
    for path in (weights, tokenizer):
        if not path.is_file():
            raise EmbedModelMissing(f"wordllama is installed without {path.name}")
    return weights, tokenizer


class EmbedDetector:
    """Static sentence-embedding similarity of each clause to the phrase bank: a text's vector is
    the mean of its tokens' WordLlama vectors (256 numbers each), compared by cosine. Nothing is
    downloaded: the weights are the ones the ``wordllama`` wheel installs."""

    name = "embed"
    threshold = 0.86
    margin = MARGIN

    def __init__(self, bank: PhraseBank) -> None:
        import numpy as np
        from safetensors import safe_open
        from tokenizers import Tokenizer

        weights, tokenizer = embed_model_files()
        self.bank = bank
        self._np = np
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        with safe_open(str(weights), framework="np") as tensors:
            self._vectors: NDArray[numpy.float16] = tensors.get_tensor(_EMBED_TENSOR)  # 32000x256
        self._red = self._embed(bank.phrases)
        self._normal = self._embed(bank.normal)

    def _embed(self, texts: Sequence[str]) -> NDArray[numpy.float32]:
        """One unit vector per text (rows of a float32 matrix); zeros for a text of no tokens."""
        np = self._np
        rows = np.zeros((len(texts), self._vectors.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):  # one by one: encode_batch would start threads
            ids = self._tokenizer.encode(text, add_special_tokens=False).ids
            if ids:
                rows[row] = self._vectors[ids].mean(axis=0, dtype=np.float32)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        unit: NDArray[numpy.float32] = rows / np.where(norms > 0, norms, 1.0)
        return unit

    def score(self, clause: str, floor: float = 0.0) -> tuple[int, float, float]:
        """(closest red-flag phrase, its cosine, the closest normal phrase's cosine); the
        normal one is only computed (else 0.0) when the red one reaches ``floor``."""
        ids = self._tokenizer.encode(clause, add_special_tokens=False).ids
        if not ids:
            return -1, 0.0, 0.0
        query = self._vectors[ids].mean(axis=0, dtype=self._np.float32)
        norm = float(self._np.sqrt(query @ query))
        if norm == 0.0:
            return -1, 0.0, 0.0
        red = (self._red @ query) / norm
        index = int(red.argmax())
        top = min(float(red[index]), 1.0)  # float32 rounding can pass 1 by a hair
        if top < floor:
            return index, top, 0.0
        return index, top, float((self._normal @ query).max()) / norm

    def detect(self, clauses: Sequence[str], day: int | None) -> Finding | None:
        return _best_finding(self, clauses)


# Round fifty-seven: a similar phrase alone does not raise a mild message's clause that names
# nothing the phrase names. A day-0 clause "it feels tight" (the message: it stings a little)
# came close to "throat feels tight", a day-7 "skin is really soft" to "eye is really sore": the
# likeness was in the words for a feeling or a state and in "is really", while the part (the
# throat, the eye) the phrase is about was not in the clause, and the message played itself
# down. Such a clause is left to the rules when the message has one of `_MILD` and none of the
# clause's own words (beyond stopwords, filler and `_GENERIC`, the words for a feeling, a state
# or a degree) is one of the phrase's (the same word, or the same first four letters: "breathe"
# and "breathing").
_MILD = frozenset([
    "bit", "little", "slightly", "slight", "mild", "mildly", "tad", "abit", "fine", "ok", "okay",
    "good", "lovely", "soft", "softer", "smooth", "smoother", "great", "normal", "calm",
    "settled", "healing"
])
_GENERIC = _MILD | frozenset([
    "it", "its", "feel", "feels", "felt", "feeling", "feelin", "tight", "tighter", "tightness",
    "sore", "sting", "stings", "stinging", "stingy", "tingle", "tingles", "tingling", "tingly",
    "warm", "warmer", "hot", "heat", "burning", "burn", "burns", "itchy", "itch", "itching",
    "really", "very", "so", "quite", "today", "now", "still", "just", "kind", "sort", "pretty",
    "more", "less", "is", "are", "looks", "look", "looking", "seems", "getting", "gets", "got",
    "gone", "going", "keep", "keeps", "day", "tonight", "morning", "skin", "face"
])


def _close(word: str, other: str) -> bool:
    return word == other or (len(word) >= 4 and len(other) >= 4 and word[:4] == other[:4])


def _unanchored(clause: str, phrase: str, mild: bool) -> bool:
    """True when a mild message's clause names nothing its closest phrase names (see `_MILD`)."""
    if not mild:
        return False
    own = [word for word in content_tokens(clause) if word not in _GENERIC]
    theirs = content_tokens(phrase)
    return not any(_close(word, other) for word in own for other in theirs)


def _best_finding(detector: NgramDetector | FuzzDetector | EmbedDetector,
                  clauses: Sequence[str]) -> Finding | None:
    """The most serious, then closest, red-flag clause; each clause judged on its own."""
    bank = detector.bank
    best: Finding | None = None
    mild: bool | None = None
    for clause in clauses:
        if len(clause) < MIN_CLAUSE_CHARS or " " not in clause.strip():
            continue
        index, red, normal = detector.score(clause, detector.threshold)
        if index < 0 or red < detector.threshold or red < normal + detector.margin:
            continue
        if mild is None:
            mild = any(word in _MILD for other in clauses for word in tokens(other))
        if _unanchored(clause, bank.phrases[index], mild):
            continue
        finding = Finding(bank.tiers[index], bank.signs[index], bank.phrases[index], red, clause,
                          detector.name)
        if best is None or (_TIERS.index(finding.tier), -finding.score) < (
                _TIERS.index(best.tier), -best.score):
            best = finding
    return best


def _concepts(bank: PhraseBank | None) -> Detector:
    """The concepts detector (knowledge/concepts.py); it reads its own file, not the bank."""
    from knowledge.concepts import ConceptDetector, load_concepts

    return ConceptDetector(load_concepts())


_BANKED: dict[str, type[NgramDetector | FuzzDetector | EmbedDetector]] = {
    "ngram": NgramDetector,
    "fuzz": FuzzDetector,
    "embed": EmbedDetector,
}
_SINGLE: tuple[str, ...] = (*_BANKED, "concepts")
# every choice: one detector, or two joined by "+" (each of which can raise the alarm)
DETECTORS: tuple[str, ...] = (*_SINGLE, "ngram+embed", "ngram+concepts")
# the product's choice (`aftercare run` and every `Advisor.load` without one); `ngram+concepts`
# stays an option: with round 33's rules it caught nothing more on batches 1-36 (README)
DEFAULT_DETECTOR = "ngram"


def _one(name: str, bank: PhraseBank | None) -> Detector:
    if name == "concepts":
        return _concepts(bank)
    return _banked(name, bank or load_phrase_bank())


@lru_cache(maxsize=8)
def _banked(name: str, bank: PhraseBank) -> Detector:
    """The detector `name` over `bank`, built once per process for equal banks (the n-gram
    index of the packaged bank: about 0.1 s of CPU): a detector is not changed by use (what
    it builds on first use it builds once for every holder), so every advisor loaded with it
    shares it."""
    return _BANKED[name](bank)


def load_detectors(name: str | None = DEFAULT_DETECTOR,
                   bank: PhraseBank | None = None) -> tuple[Detector, ...]:
    """The second detectors a choice names, over the packaged phrase bank: none for rules alone
    (None), one, or for "ngram+embed" both, asked in that order, each with its own threshold."""
    if name is None:
        return ()
    if name not in DETECTORS:
        raise ValueError(f"unknown second detector {name!r} (known: {', '.join(DETECTORS)})")
    parts = name.split("+")
    if any(part in _BANKED for part in parts):
        bank = bank or load_phrase_bank()
    return tuple(_one(part, bank) for part in parts)


def load_detector(name: str | None = DEFAULT_DETECTOR,
                  bank: PhraseBank | None = None) -> Detector | None:
    """One named second detector over the packaged phrase bank (None for rules alone)."""
    if name is None:
        return None
    if name not in _SINGLE:
        raise ValueError(f"unknown second detector {name!r} (known: {', '.join(_SINGLE)})")
    return _one(name, bank)
