"""The live run's request budget: a client-side leaky bucket that waits (never refuses) and a
cap on the requests of one run. Portals share their bucket per IP (CONTRACT.md section 4), so
the run keeps to the documented rate with room to spare, and when a portal's bucket is stricter
than that (QUERY_LIMIT_EXCEEDED), the budget adapts the way TCP does: it halves its rate and
burst at once and wins them back a little with every admitted request (AIMD)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

#: The cloud's bucket for non-enterprise plans: 2 requests a second, a burst of 50.
DEFAULT_RATE: Final = 2.0
DEFAULT_BURST: Final = 50
#: Requests one run may send to the portal (the suite's own cleanup is never refused).
DEFAULT_MAX_REQUESTS: Final = 300
#: Slots of the burst left unused: a request reaches the portal a little after it leaves,
#: and uneven delays can make the portal see two requests closer together than we sent them.
HEADROOM: Final = 2
#: What a QUERY_LIMIT_EXCEEDED leaves of the rate and the burst (multiplicative decrease).
DECREASE: Final = 0.5
#: The share of the configured rate, and the burst slots, one admitted request wins back.
RATE_INCREASE: Final = 1 / 50
BURST_INCREASE: Final = 0.1
#: The lowest rate the budget falls to, as a share of the configured rate.
RATE_FLOOR: Final = 1 / 64

#: Slots of rounding error the bucket forgives.
_SLACK: Final = 1e-9

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class BudgetExhausted(RuntimeError):
    """The run has sent as many requests as ``--max-requests`` allows."""


@dataclass(frozen=True)
class BudgetSettings:
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    max_requests: int = DEFAULT_MAX_REQUESTS

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1 or self.max_requests < 1:
            raise ValueError(
                f"budget rate={self.rate}, burst={self.burst}, max_requests={self.max_requests}: "
                "rate must be > 0, burst and max requests >= 1"
            )

    def describe(self) -> str:
        return f"{self.rate:g} req/s, burst {self.burst}, at most {self.max_requests} requests"


class RequestBudget:
    """Admits one request at a time at ``rate`` per second after a burst; counts them.

    ``clock`` and ``sleep`` default to real time; a test passes a fake pair (sleep advancing
    the clock). With the real default, a wait ends early when the run closes.
    """

    def __init__(
        self,
        settings: BudgetSettings = BudgetSettings(),
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        self.settings = settings
        #: the burst slots the budget fills (the configured burst less the headroom)
        self.full_capacity = float(max(1, settings.burst - HEADROOM))
        #: the rate and burst now in force (lower after QUERY_LIMIT_EXCEEDED)
        self.rate = settings.rate
        self.capacity = self.full_capacity
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._level = 0.0
        self._at = clock()
        #: requests admitted, the suite's own essential ones included
        self.made = 0
        #: seconds spent waiting for the bucket
        self.waited = 0.0
        #: QUERY_LIMIT_EXCEEDED answers the budget adapted to
        self.throttles = 0

    def acquire(self, *, essential: bool = False) -> float:
        """Wait for a slot and take it; returns the seconds waited.

        ``essential`` requests (deleting what the run created) pass the cap, never the bucket.
        Raises BudgetExhausted past the cap, and after ``close()`` for anything not essential.
        """
        with self._lock:
            if not essential and (self._closed.is_set() or self.made >= self.settings.max_requests):
                raise BudgetExhausted(
                    f"the run's request budget is spent ({self.settings.max_requests} requests; "
                    "raise it with --max-requests)"
                )
            waited = 0.0
            while True:
                now = self._clock()
                self._level = max(0.0, self._level - (now - self._at) * self.rate)
                self._at = now
                # A hair of tolerance: a wait of 1e-12 s added to a clock at 1000 s would not
                # move it, and the loop would never end.
                if self._level + 1 <= self.capacity + _SLACK:
                    break
                wait = (self._level + 1 - self.capacity) / self.rate
                if self._wait(wait, essential):
                    raise BudgetExhausted("the run has ended")
                waited += wait
            self._level += 1
            self.made += 1
            self.waited += waited
            return waited

    def _wait(self, seconds: float, essential: bool) -> bool:
        """Sleep ``seconds``; True when the run closed meanwhile and the request may not go."""
        if self._sleep is not None:
            self._sleep(seconds)
            return not essential and self._closed.is_set()
        if essential:
            time.sleep(seconds)
            return False
        return self._closed.wait(seconds)

    def throttled(self) -> None:
        """The portal answered QUERY_LIMIT_EXCEEDED: halve the rate and the burst, and count
        the bucket as full, so the next request waits a whole slot at the lower rate."""
        with self._lock:
            self.throttles += 1
            self.rate = max(self.settings.rate * RATE_FLOOR, self.rate * DECREASE)
            self.capacity = max(1.0, self.capacity * DECREASE)
            self._level = self.capacity

    def admitted(self) -> None:
        """The portal took a request: win back a little of the rate and the burst."""
        with self._lock:
            self.rate = min(self.settings.rate, self.rate + self.settings.rate * RATE_INCREASE)
            self.capacity = min(self.full_capacity, self.capacity + BURST_INCREASE)

    @property
    def exhausted(self) -> bool:
        return self.made >= self.settings.max_requests

    def close(self) -> None:
        """Refuse every further request that is not essential (the run is over)."""
        self._closed.set()
