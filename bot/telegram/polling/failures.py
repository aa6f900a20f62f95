"""Failed polls: how long to wait before the next (`Backoff`) and the log line that says why
(`describe_failure`, never the token)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between failed polls: `first` seconds, doubling, at most `cap`."""

    first: float = 1.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failure in a row."""
        return min(self.cap, self.first * 2 ** min(max(failures - 1, 0), 30))


def describe_failure(exc: BaseException, token: str) -> str:
    """One line for the log: the error type and Telegram's description, token removed."""
    detail = str(exc)
    for secret in {token, token.partition(":")[2]} - {""}:
        detail = detail.replace(secret, "***")
    detail = " ".join(detail.split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
