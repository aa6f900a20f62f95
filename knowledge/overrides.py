"""The clinic's own additions to the knowledge base, made on the web desk, as one KB file.

An addition is either example questions for an existing entry or a whole new entry. Together
they make one YAML document in the knowledge-base format (new entries under ``entries``,
added questions under ``extra_questions``), which is

* validated exactly like ``aftercare kb check``: `check_overrides` loads the knowledge base
  with the document as one more file (same checks, same messages; the document's problems
  are reported as `OVERRIDES_NAME`, line N);
* exported as is for the clinic's own KB folder (drop it in beside the other files);
* what the matcher answers from: `check_overrides` returns the combined `KnowledgeBase`.

Pure: takes values, reads no environment and no database.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import Problem
from knowledge.loader import check_kb
from knowledge.schema import KnowledgeBase

OVERRIDES_NAME = "clinic_overrides.yaml"
QUESTIONS = "questions"
ENTRY = "entry"
HEADER = ("# The clinic's additions to the knowledge base, made on the Aftercare web desk.\n"
          "# Put this file in the clinic's knowledge-base folder (AFTERCARE_KB_PATH) and\n"
          "# check it with `aftercare kb check`.\n")


@dataclass(frozen=True)
class Override:
    """One addition: `kind` QUESTIONS (`body` {"questions": [...]}) for entry `entry_id`, or
    ENTRY (`body`: the entry as in a KB file: id, title, questions, answer, ...)."""

    kind: str
    entry_id: str
    body: dict[str, Any]


def document(overrides: Sequence[Override]) -> str:
    """The YAML knowledge-base file holding every override, in order."""
    entries = [dict(o.body) for o in overrides if o.kind == ENTRY]
    extra: dict[str, list[str]] = {}
    for override in overrides:
        if override.kind == QUESTIONS:
            extra.setdefault(override.entry_id, []).extend(
                str(q) for q in override.body.get("questions", []))
    data: dict[str, Any] = {}
    if entries:
        data["entries"] = entries
    if extra:
        data["extra_questions"] = extra
    if not data:
        data["entries"] = []
    return HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def check_overrides(overrides: Sequence[Override], base: Path
                    ) -> tuple[KnowledgeBase, list[Problem]]:
    """The knowledge base at `base` plus the overrides, and every problem `aftercare kb check`
    would report for them (problems in the overrides named `OVERRIDES_NAME`)."""
    with tempfile.TemporaryDirectory(prefix="aftercare-overrides-") as folder:
        path = Path(folder) / OVERRIDES_NAME
        path.write_text(document(overrides), encoding="utf-8")
        kb, problems = check_kb(base, extra=[path] if overrides else [])
    named = [Problem(OVERRIDES_NAME if p.path == str(path) else p.path, p.line, p.reason)
             for p in problems]
    return kb, named
