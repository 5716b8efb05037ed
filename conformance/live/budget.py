"""The live run's request budget: a client-side leaky bucket that waits (never refuses) and a
cap on the requests of one run. Portals share their bucket per IP (CONTRACT.md section 4), so
the run keeps to the documented rate with room to spare."""

from __future__ import annotations

import threading
import time
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
    """Admits one request at a time at ``rate`` per second after a burst; counts them."""

    def __init__(
        self,
        settings: BudgetSettings = BudgetSettings(),
    ) -> None:
        self.settings = settings
        self.capacity = max(1, settings.burst - HEADROOM)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._level = 0.0
        self._at = time.monotonic()
        #: requests admitted, the suite's own essential ones included
        self.made = 0
        #: seconds spent waiting for the bucket
        self.waited = 0.0

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
                now = time.monotonic()
                self._level = max(0.0, self._level - (now - self._at) * self.settings.rate)
                self._at = now
                if self._level + 1 <= self.capacity:
                    break
                wait = (self._level + 1 - self.capacity) / self.settings.rate
                if not essential and self._closed.wait(wait):
                    raise BudgetExhausted("the run has ended")
                if essential:
                    time.sleep(wait)
                waited += wait
            self._level += 1
            self.made += 1
            self.waited += waited
            return waited

    @property
    def exhausted(self) -> bool:
        return self.made >= self.settings.max_requests

    def close(self) -> None:
        """Refuse every further request that is not essential (the run is over)."""
        self._closed.set()
