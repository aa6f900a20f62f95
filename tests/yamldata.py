"""Reading the suite's YAML data files (tests/data/, compose.yaml): PyYAML's safe loader on
libyaml's C parser when PyYAML was built with it, the pure-Python one otherwise.

The same safe loader either way, so the same data; the pure-Python parser took about a second
and a half of every pytest-xdist worker's collection (the class tables alone are thousands of
cases).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    """The YAML document in the UTF-8 file at `path`."""
    return yaml.load(path.read_text("utf-8"), Loader=_Loader)
