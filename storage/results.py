"""Typed access to what a DML statement did.

`AsyncSession.execute` is typed to return a plain `Result`; for INSERT/UPDATE/DELETE the object
is a `CursorResult`, which carries `rowcount`. `affected()` is the one place that says so.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.engine import CursorResult, Result


def affected(result: Result[Any]) -> int:
    """Number of rows an UPDATE or DELETE matched (0 when the driver cannot tell)."""
    count = cast(CursorResult[Any], result).rowcount
    return max(int(count or 0), 0)
