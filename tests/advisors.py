"""The shipped advisor, loaded once per test process for each clinic and detector choice.

`Advisor.load` parses the knowledge base, the triage rules, the other languages' lexicons and
the second detector: about a second of CPU. An `Advisor` is not changed by use (a reload
builds a new one), so modules that ask for the same one share it instead of loading it again
in each module and in each pytest-xdist worker the module's tests are spread over.
"""

from __future__ import annotations

import functools

from knowledge.advisor import Advisor
from knowledge.catalogue import Clinic
from knowledge.detectors import DEFAULT_DETECTOR


@functools.cache
def shipped(clinic: Clinic | None = None,
            second_detector: str | None = DEFAULT_DETECTOR) -> Advisor:
    """``Advisor.load(None, clinic, second_detector)``, once per process for these values."""
    return Advisor.load(None, clinic, second_detector)
