"""Server-side rate limits: rolling windows counted at request arrival."""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

__all__ = ["RetryAfterFormat", "RollingWindow", "retry_after_value"]

RetryAfterFormat = Literal["auto", "int", "float"]


class RollingWindow:
    """At most ``capacity`` admitted arrivals in any ``period`` seconds.

    Harvest counts requests as they arrive; a throttled request is not counted.
    """

    def __init__(self, capacity: int, period: float) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"rate limit capacity must be an int >= 1, got {capacity!r}")
        if isinstance(period, bool) or not isinstance(period, (int, float)) or period <= 0:
            raise ValueError(f"rate limit period must be > 0 seconds, got {period!r}")
        self.capacity = capacity
        self.period = float(period)
        self._arrivals: deque[float] = deque()

    def __repr__(self) -> str:
        return f"RollingWindow({self.capacity}, {self.period})"

    def admit(self, now: float) -> float | None:
        """Count an arrival at ``now``; ``None`` if admitted, else seconds until room."""
        arrivals = self._arrivals
        cutoff = now - self.period
        while arrivals and arrivals[0] <= cutoff:
            arrivals.popleft()
        if len(arrivals) >= self.capacity:
            return arrivals[0] + self.period - now
        arrivals.append(now)
        return None

    def in_window(self, now: float) -> int:
        """Arrivals counted in the window ending at ``now``."""
        cutoff = now - self.period
        return sum(1 for t in self._arrivals if t > cutoff)

    def reset(self) -> None:
        """Forget every arrival."""
        self._arrivals.clear()


def retry_after_value(seconds: float, fmt: RetryAfterFormat, period: float) -> int | float:
    """The ``Retry-After`` to send for a wait of ``seconds``.

    ``"int"``: whole seconds rounded up, at least 1 (what Harvest sends). ``"float"``:
    seconds rounded up to the millisecond, at least 0.001 (for scaled-down windows).
    ``"auto"``: ``"int"`` when the window's period is a whole number of seconds, else
    ``"float"``.
    """
    if fmt == "auto":
        fmt = "int" if period >= 1 and float(period).is_integer() else "float"
    if fmt == "int":
        return max(1, math.ceil(seconds - 1e-9))
    return max(0.001, math.ceil(seconds * 1000 - 1e-6) / 1000)
