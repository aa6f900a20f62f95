"""Problems found in data files (knowledge base, triage rules, care plan), with file and line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file and line."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class KBError(ValueError):
    """A data file has problems; ``problems`` lists each with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class ProblemCollector:
    """Gathers the problems found while one data file is parsed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.path, line, reason))


def located_problems(exc: BaseException) -> list[Problem] | None:
    """The located problems a data-file error carries: a `KBError`'s list, or the one problem
    of an error that names its file, line and reason (``DataFileError``, ``TriageFileError``,
    ``PhraseBankError``, ``ConceptsError``); None for any other exception. One way to turn
    every loader's failure into the lines ``aftercare kb check`` prints."""
    if isinstance(exc, KBError):
        return list(exc.problems)
    path, reason = getattr(exc, "path", None), getattr(exc, "reason", None)
    if isinstance(exc, ValueError) and isinstance(path, str) and isinstance(reason, str):
        line = getattr(exc, "line", None)
        return [Problem(path, line if isinstance(line, int) else 0, reason)]
    return None
