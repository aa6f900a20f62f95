"""Red-flag triage: decide whether a patient's message reports an emergency or urgent sign.

The rules (sign ids, tiers, patterns, day windows and the rule text staff see) are data in
``knowledge/triage.yaml``; this package loads and validates them (a malformed file fails with
file, line and reason) and runs them over one message, minding negation ("no pus"), hedging
("probably nothing but ..."), hypothetical questions ("what if i get a fever?") and the recovery
day.

Its modules, in the order a message meets them:

- ``parser``: loading ``triage.yaml`` (vocab tables, word lists, signs) into compiled rules;
- ``rules``: the compiled rules (signs, matchers, fever thresholds, the language's word lists);
- ``prepare``: text preparation (normaliser, typo correction, arrows, filler, hedges) as
  ``Readings``: the message as said and each reading of it made again, by name;
- ``message``: clause and sentence splitting and the guards (negation, denied lists,
  hypotheticals, jokes, figures, stories);
- ``fever``: temperature readings;
- ``prefilter``: the literal words every match of a pattern contains, so that a message is
  searched only with the patterns that can match it (found in one pass over the message);
- ``signs``: which matches of a sign's patterns count;
- ``decide``: the tier (most serious sign) and the second detectors' opinion;
- ``engine``: ``Triage``, which runs them; ``tiers``: tier names and ``TriageDecision``.

Pure logic: the only I/O is reading the rules file. Typical use::

    triage = load_triage()
    decision = triage.assess("lips swelling and throat feels tight", day=0)
    if decision.escalate:
        ...  # alert staff with decision.reason
"""

from knowledge.triage.engine import Triage
from knowledge.triage.errors import TriageFileError
from knowledge.triage.parser import load_triage
from knowledge.triage.rules import Sign
from knowledge.triage.tiers import (
    CHECK,
    EMERGENCY,
    FEVER_READING,
    RAISE_MARGIN,
    REVIEW,
    URGENT,
    TriageDecision,
)

__all__ = [
    "CHECK",
    "EMERGENCY",
    "FEVER_READING",
    "RAISE_MARGIN",
    "REVIEW",
    "URGENT",
    "Sign",
    "Triage",
    "TriageDecision",
    "TriageFileError",
    "load_triage",
]
