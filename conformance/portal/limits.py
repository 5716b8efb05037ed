"""The two cloud limits (CONTRACT.md section 4): the request-rate leaky bucket and the
per-method operating-time budget. Both are thread-safe and take an injectable clock."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.portal.envelope import PortalError

Clock = Callable[[], float]


def query_limit_exceeded() -> PortalError:
    return PortalError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)


def operation_time_limit() -> PortalError:
    return PortalError(
        "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429
    )


class LeakyBucket:
    """A counter that every request raises by one and that drains ``drain`` per second;
    a request that would lift it past ``burst`` is refused (and does not count)."""

    def __init__(self, burst: int, drain: float, clock: Clock = time.monotonic) -> None:
        if burst < 1 or drain <= 0:
            raise ValueError(f"bucket=({burst}, {drain}): burst must be >= 1 and drain > 0")
        self.burst = burst
        self.drain = drain
        self._clock = clock
        self._lock = threading.Lock()
        self._level = 0.0
        self._at = clock()

    def admit(self) -> bool:
        with self._lock:
            now = self._clock()
            self._level = max(0.0, self._level - (now - self._at) * self.drain)
            self._at = now
            if self._level + 1 > self.burst:
                return False
            self._level += 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._level = 0.0
            self._at = self._clock()


@dataclass
class _Budget:
    #: basket index -> seconds spent in it
    baskets: dict[int, float] = field(default_factory=dict)


class OperatingLimiter:
    """Execution time per (credential, method) in ``baskets`` baskets spanning ``window``
    seconds; a method whose accumulated time reached ``limit`` answers 429 until baskets expire.
    """

    def __init__(
        self,
        limit: float,
        cost: float = 0.0,
        window: float = 600.0,
        baskets: int = 10,
        clock: Clock = time.time,
    ) -> None:
        if limit <= 0 or cost < 0 or window <= 0 or baskets < 1:
            raise ValueError(
                f"operating limit={limit}, cost={cost}, window={window}: "
                "limit and window must be > 0 and cost >= 0"
            )
        self.limit = limit
        self.cost = cost
        self.window = window
        self.width = window / baskets
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], _Budget] = {}

    def _live(self, key: tuple[str, str], now: float) -> _Budget:
        budget = self._budgets.setdefault(key, _Budget())
        # A basket counts while any part of it lies inside the window.
        oldest = math.floor((now - self.window) / self.width) + 1
        for index in [i for i in budget.baskets if i < oldest]:
            del budget.baskets[index]
        return budget

    def _state(self, budget: _Budget, now: float) -> tuple[float, int]:
        spent = sum(budget.baskets.values())
        if budget.baskets:
            reset_at = min(budget.baskets) * self.width + self.window
        else:
            reset_at = now + self.window
        return round(spent, 6), math.ceil(reset_at)

    def check(self, credential: str, method: str) -> None:
        """Raise OPERATION_TIME_LIMIT when the method's budget for this credential is spent."""
        with self._lock:
            now = self._clock()
            spent, _reset = self._state(self._live((credential, method), now), now)
        if spent >= self.limit:
            raise operation_time_limit()

    def charge(
        self, credential: str, method: str, seconds: float | None = None
    ) -> tuple[float, int]:
        """Add a call's cost; returns (operating, operating_reset_at) for the time block."""
        with self._lock:
            now = self._clock()
            budget = self._live((credential, method), now)
            index = math.floor(now / self.width)
            cost = self.cost if seconds is None else seconds
            if cost:
                budget.baskets[index] = budget.baskets.get(index, 0.0) + cost
            return self._state(budget, now)

    def state(self, credential: str, method: str) -> tuple[float, int]:
        with self._lock:
            now = self._clock()
            return self._state(self._live((credential, method), now), now)

    def reset(self) -> None:
        with self._lock:
            self._budgets.clear()
