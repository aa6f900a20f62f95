"""A data file edited for one test without touching the disk: from then on the path reads as the
given text wherever the product reads a data file (``knowledge.yamlfile.file_text``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge.yamlfile as yamlfile


def serve_as(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    """From now on `path` reads as `text`; every other file as it is."""
    real = yamlfile.file_text
    target = path.resolve()

    def file_text(read: object) -> str:
        return text if Path(str(read)).resolve() == target else real(read)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlfile, "file_text", file_text)
