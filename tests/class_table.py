"""Reading a class table (tests/data/*_classes.yaml): blocks of ``class``, ``found``, ``why``
and ``cases``, each case checked against the fields its test knows, so a misspelt field in a
case added later fails loudly instead of checking nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.yamldata import load_yaml


def class_cases(path: Path, fields: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every case of the table at `path` with its class; fails on an unknown block or case
    field and on a class with no case."""
    for block in load_yaml(path):
        assert set(block) == {"class", "found", "why", "cases"}, block
        assert block["cases"], f"class {block['class']} has no case"
        for raw in block["cases"]:
            unknown = set(raw) - fields
            assert not unknown, f"unknown fields {unknown} in {raw}"
            yield block["class"], raw
