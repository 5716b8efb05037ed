"""Miniatures that retry wrongly, one defect each: without bound, without backoff, what must not
be retried, before the announced reset, never though they declare retry, re-adding after a
dropped add, or waiting on a silent portal without a timeout.
``conformance.testing`` registers them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import requests

from conformance.api import ApiError, Outcome, Target, TransportFailure
from conformance.reference import ReferenceClient

__all__ = [
    "RETRYING",
    "DeclaresRetryNeverRetries",
    "IgnoresOperatingReset",
    "Loops503Unbounded",
    "NoTimeout",
    "ReAddsAfterDrop",
    "RefreshesWithoutBound",
    "RetriesEvery503",
    "RetriesEveryError",
    "RetriesWithoutBackoff",
    "SleepsNegativeWait",
    "WaitsForResetOnError",
]


class ReAddsAfterDrop(ReferenceClient):
    """Sends an add again at once when its connection drops, without checking what it did."""

    name = "re-adds-after-drop"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        outcome = super().call(method, params)
        dropped = isinstance(outcome, TransportFailure) and outcome.kind == "connection"
        return super().call(method, params) if dropped and method.endswith(".add") else outcome


class RefreshesWithoutBound(ReferenceClient):
    """Refreshes the token and replays the call on every 401 expired_token, without bound."""

    name = "refreshes-without-bound"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.code == "expired_token":
            return 0.0  # the "refresh" hands back a token at once; the replay follows
        return super()._retry_delay(outcome, attempt)


class RetriesEveryError(ReferenceClient):
    """Retries every API error twice, NOT_FOUND and ACCESS_DENIED included."""

    name = "retries-every-error"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        delay = super()._retry_delay(outcome, attempt)
        if delay is None and isinstance(outcome, ApiError) and attempt < 2:
            return self.backoff
        return delay


class RetriesEvery503(ReferenceClient):
    """Retries every 503 like b24pysdk, OVERLOAD_LIMIT (a manual block) included."""

    name = "retries-every-503"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.status == 503 and attempt < self.max_retries:
            return float(self.backoff * 2**attempt)
        return super()._retry_delay(outcome, attempt)


class Loops503Unbounded(ReferenceClient):
    """Retries a 503 at once and without bound, until something other than a 503 comes."""

    name = "loops-503-unbounded"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.status == 503:
            return 0.0
        return super()._retry_delay(outcome, attempt)


class DeclaresRetryNeverRetries(ReferenceClient):
    """Declares capability retry, then hands QUERY_LIMIT_EXCEEDED back at once: a broken promise."""

    name = "declares-retry-never-retries"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.code == "QUERY_LIMIT_EXCEEDED":
            return None
        return super()._retry_delay(outcome, attempt)


class RetriesWithoutBackoff(ReferenceClient):
    """Retries QUERY_LIMIT_EXCEEDED immediately, with no backoff."""

    name = "retries-without-backoff"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        delay = super()._retry_delay(outcome, attempt)
        if isinstance(outcome, ApiError) and outcome.code == "QUERY_LIMIT_EXCEEDED" and delay:
            return 0.0
        return delay


class IgnoresOperatingReset(ReferenceClient):
    """Retries OPERATION_TIME_LIMIT at once, ignoring the announced ``operating_reset_at``."""

    name = "ignores-operating-reset"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.code == "OPERATION_TIME_LIMIT":
            return 0.0 if attempt < self.max_retries else None
        return super()._retry_delay(outcome, attempt)


class WaitsForResetOnError(ReferenceClient):
    """Looks for ``operating_reset_at`` in the 429 itself, finds none, and sleeps a day."""

    name = "waits-for-reset-on-error"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.code == "OPERATION_TIME_LIMIT":
            return 86_400.0 if attempt == 0 else None
        return super()._retry_delay(outcome, attempt)


class SleepsNegativeWait(ReferenceClient):
    """Sleeps operating_reset_at minus now unclamped: a reset already passed raises ValueError."""

    name = "sleeps-negative-wait"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        reset_at = self._operating_reset_at
        if isinstance(outcome, ApiError) and outcome.code == "OPERATION_TIME_LIMIT" and reset_at:
            self._operating_reset_at = None
            return min(reset_at - time.time(), self.max_wait) if attempt == 0 else None
        return super()._retry_delay(outcome, attempt)


class _NoTimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = None
        return super().request(*args, **kwargs)


class NoTimeout(ReferenceClient):
    """Sends without a timeout and hangs on a stall (only a portal that stalls can show it)."""

    name = "no-timeout"

    def __init__(self, target: Target, **options: Any) -> None:
        super().__init__(target, session=_NoTimeoutSession(), **options)


#: The retrying miniatures, in the order ``conformance.testing`` registers them.
RETRYING: Final = (
    ReAddsAfterDrop,
    RefreshesWithoutBound,
    RetriesEveryError,
    RetriesEvery503,
    Loops503Unbounded,
    DeclaresRetryNeverRetries,
    RetriesWithoutBackoff,
    IgnoresOperatingReset,
    WaitsForResetOnError,
    SleepsNegativeWait,
    NoTimeout,
)
