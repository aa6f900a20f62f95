"""The located error of a malformed triage rules file (file, line and reason)."""

from __future__ import annotations


class TriageFileError(ValueError):
    """The triage rules file is missing or malformed; names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"

