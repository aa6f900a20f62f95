"""What a second red-flag detector returns (``Finding``) and what it must offer (``Detector``):
shared by knowledge/detectors.py (the phrase-bank detectors and the registry) and
knowledge/concepts.py (the concepts detector), so neither imports the other's module for them;
and ``Warms``, a detector that builds something on first use and can build it at once
(``Triage.warm_up``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Detector", "Finding", "Warms"]


@dataclass(frozen=True)
class Finding:
    """A clause close to a red-flag phrase: the tier and sign it raises, and why."""

    tier: str
    sign: str
    phrase: str
    score: float
    clause: str
    detector: str

    @property
    def reason(self) -> str:
        """For staff: 'close to: "lips swelling" 0.83 (ngram)'."""
        return f'close to: "{self.phrase}" {self.score:.2f} ({self.detector})'


class Detector(Protocol):
    """Anything that can raise a red flag from the live clauses of one message."""

    name: str

    def detect(self, clauses: Sequence[str], day: int | None) -> Finding | None: ...


@runtime_checkable
class Warms(Protocol):
    """A detector that builds part of itself on first use, and builds it now when asked
    (start-up, in the background: bot/warmup.py)."""

    def warm_up(self) -> None: ...
