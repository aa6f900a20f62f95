"""CSV cells that a spreadsheet shows as text and never runs as a formula.

A patient's words or a staff note starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return would be read by Excel or LibreOffice as a formula (``=HYPERLINK(...)``,
``+cmd|' /C calc'!A0``). Every exported cell goes through `safe_cell`, which prefixes such a
cell with an apostrophe, as OWASP's CSV-injection guidance recommends.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
