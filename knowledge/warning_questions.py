"""Warning-signs questions read compositionally: a question frame with a warning-sign concept
(``warning_questions.yaml``). ``load_warning_questions`` reads and checks the file; any problem
raises ``KBError`` with file, line and reason (as ``aftercare kb check`` prints them). Pure:
reads the given path only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.errors import KBError, Problem
from knowledge.text import Speller, fold
from knowledge.yamlfile import LineDict, LineList, data_file_problems, parse_yaml, read_text

PACKAGED_WARNING_QUESTIONS = Path(__file__).parent / "warning_questions.yaml"
_NAME = re.compile(r"\{([a-z_]+)\}")
# the concept a frame must name: a frame alone answers nothing
_COMPOSED = ("sign", "sign_or_it", "signs", "sign_worse")


@dataclass(frozen=True)
class WarningQuestions:
    """The frames of the file, each composed with its concepts and compiled."""

    frames: tuple[tuple[str, re.Pattern[str]], ...]
    # the file's own words, toward which a chat spelling is read (the project's ``Speller``:
    # "swellin" is "swelling", "itchin" is "itching")
    speller: Speller | None = None

    def frame(self, folded: str) -> str | None:
        """The id of the first frame that reads ``folded`` (fold()ed text), or that reads it
        with its chat spellings corrected toward the file's words, else None."""
        found = self._frame(folded)
        if found is None and self.speller is not None:
            spelt = " ".join(self.speller.word(word) for word in folded.split())
            if spelt != folded:
                found = self._frame(spelt)
        return found

    def _frame(self, folded: str) -> str | None:
        return next((frame_id for frame_id, regex in self.frames if regex.search(folded)),
                    None)


def load_warning_questions(path: Path | None = None) -> WarningQuestions:
    """Load and check the file (default: the packaged one); any problem raises ``KBError``
    naming file and line."""
    path = path or PACKAGED_WARNING_QUESTIONS
    with data_file_problems():
        text = read_text(path)
    return _parse(str(path), text)


@lru_cache(maxsize=4)
def _parse(path: str, text: str) -> WarningQuestions:
    with data_file_problems():
        data = parse_yaml(text, path)
    problems: list[Problem] = []
    if not isinstance(data, LineDict):
        raise KBError([Problem(path, 1, "the file must be a mapping with 'lexicons' and "
                                        "'frames'")])
    lexicons = _lexicons(data, path, problems)
    raw = data.get("frames")
    frames: list[tuple[str, re.Pattern[str]]] = []
    if not isinstance(raw, LineList) or not raw:
        problems.append(Problem(path, data.line_of("frames"), "'frames' must be a list"))
        raw = LineList()
        raw.item_lines = []
    seen: set[str] = set()
    for item, line in zip(raw, raw.item_lines, strict=True):
        frame = _frame(item, line, path, problems, lexicons, seen)
        if frame is not None:
            frames.append(frame)
    if problems:
        raise KBError(problems)
    vocabulary = sorted({word for name, listed in data["lexicons"].items()
                         if isinstance(listed, LineList)
                         for item in listed for word in fold(str(item)).split()
                         if word.isalpha() and len(word) > 3})
    return WarningQuestions(tuple(frames), Speller(vocabulary))


def _lexicons(data: LineDict, path: str, problems: list[Problem]) -> dict[str, str]:
    """Each lexicon as an alternation of its folded words, longest first; ``sign_or_it`` is
    ``sign`` and ``it`` together."""
    raw = data.get("lexicons")
    if not isinstance(raw, LineDict):
        problems.append(Problem(path, data.line_of("lexicons"),
                                "'lexicons' must map names to lists of words"))
        return {}
    words: dict[str, list[str]] = {}
    for name, listed in raw.items():
        if (not isinstance(listed, LineList) or not listed
                or not all(isinstance(w, str | int) for w in listed)):
            problems.append(Problem(path, raw.line_of(name),
                                    f"lexicon {name!r} must be a list of words"))
            continue
        words[name] = [fold(str(w)) for w in listed]
    for needed in ("sign", "it"):
        if needed not in words and needed not in raw:
            problems.append(Problem(path, raw.line, f"lexicon {needed!r} is missing"))
    words["sign_or_it"] = [*words.get("sign", []), *words.get("it", [])]
    return {name: "(?:" + "|".join(re.escape(w) for w in sorted(set(listed),
                                                                  key=lambda w: (-len(w), w)))
            + ")" for name, listed in words.items() if listed}


def _frame(item: object, line: int, path: str, problems: list[Problem],
           lexicons: dict[str, str], seen: set[str]) -> tuple[str, re.Pattern[str]] | None:
    if not isinstance(item, LineDict) or not isinstance(item.get("id"), str):
        problems.append(Problem(path, line, "a frame needs an 'id' and a 'pattern'"))
        return None
    frame_id = item["id"]
    if frame_id in seen:
        problems.append(Problem(path, item.line_of("id"), f"duplicate frame id {frame_id!r}"))
        return None
    seen.add(frame_id)
    pattern = item.get("pattern")
    at = item.line_of("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        problems.append(Problem(path, at, f"frame {frame_id!r}: 'pattern' must be a string"))
        return None
    names = [m.group(1) for m in _NAME.finditer(pattern)]
    unknown = [name for name in names if name not in lexicons]
    if unknown:
        problems.append(Problem(path, at, f"frame {frame_id!r}: unknown lexicon {unknown[0]!r}"))
        return None
    if not any(name in _COMPOSED for name in names):
        problems.append(Problem(path, at, f"frame {frame_id!r} names no warning-sign concept "
                                          "({sign}, {sign_or_it}, {signs} or {sign_worse})"))
        return None
    try:
        regex = re.compile(_NAME.sub(lambda m: lexicons[m.group(1)], pattern))
    except re.error as exc:
        problems.append(Problem(path, at, f"frame {frame_id!r}: bad regular expression: {exc}"))
        return None
    return frame_id, regex
