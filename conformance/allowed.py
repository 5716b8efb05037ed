"""Correct-but-different miniatures: clients the contract allows (CONTRACT.md 4.1).

Each differs from the reference client in one way that a verdict must not count as a must
failure; the self-tests run them in every mode that reaches them and expect zero must
failures (a false-alarm guard). ``--client miniature:NAME`` runs one, like the broken ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from conformance.api import (
    AdapterFactory,
    ApiError,
    Outcome,
    Success,
    Target,
    TransportFailure,
)
from conformance.case import NO_ENVELOPE_KINDS
from conformance.reference import OPERATING_LIMIT_CODE, ReferenceClient
from conformance.schemas import documented_time_keys

__all__ = ["ALLOWED", "OWN_TIMEOUT"]

ALLOWED: dict[str, AdapterFactory] = {}

#: The fixed read timeout of ``fixed-timeout``: common clients use 10 to 30 s.
OWN_TIMEOUT: Final = 20.0


def _allowed(cls: type[ReferenceClient]) -> type[ReferenceClient]:
    ALLOWED[cls.name] = cls
    return cls


@_allowed
class NeverRetries(ReferenceClient):
    """Never retries anything and does not declare retry: every answer goes to its caller."""

    name = "never-retries"
    capabilities = frozenset({"status", "time", "total", "oauth"})

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        return None


class _FixedTimeoutSession(requests.Session):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.own_timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = self.own_timeout
        return super().request(*args, **kwargs)


@_allowed
class FixedTimeout(ReferenceClient):
    """Reads with a fixed timeout of its own (20 s), whatever Target.timeout says."""

    name = "fixed-timeout"

    def __init__(self, target: Target, *, own_timeout: float = OWN_TIMEOUT, **options: Any):
        super().__init__(target, session=_FixedTimeoutSession(own_timeout), **options)


@_allowed
class CallsEveryNonEnvelopeNonJson(ReferenceClient):
    """Reports every body that is not an envelope (empty, bad envelope) as kind non-json."""

    name = "calls-every-non-envelope-non-json"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, TransportFailure) and outcome.kind in NO_ENVELOPE_KINDS:
            return replace(outcome, kind="non-json")
        return outcome


@_allowed
class HandsOperatingLimitBack(ReferenceClient):
    """Hands 429 OPERATION_TIME_LIMIT to its caller at once instead of waiting for the reset."""

    name = "hands-operating-limit-back"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and str(outcome.code) == OPERATING_LIMIT_CODE:
            return None
        return super()._retry_delay(outcome, attempt)


@_allowed
class AddsStartToList(ReferenceClient):
    """Adds ``start=0`` to every list call, as paging SDKs do (list ignores it)."""

    name = "adds-start-to-list"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        if method == "crm.activity.badge.list" and "start" not in params:
            params = {**params, "start": 0}
        return super().call(method, params)


@_allowed
class RePostsMovedPortalOnce(ReferenceClient):
    """Re-POSTs a moved portal's call, body and all, but follows one move only."""

    name = "re-posts-moved-portal-once"

    def __init__(self, target: Target, **options: Any) -> None:
        super().__init__(target, max_redirects=1, **options)


@_allowed
class RebuildsMovedAddressFromHost(ReferenceClient):
    """Follows a moved portal to the Location's scheme and host on the default port."""

    # As b24pysdk does: right against a real portal, whose new address has no port of its own.

    name = "rebuilds-moved-address-from-host"

    def _follow(self, url: str, location: str) -> str:
        moved = urlsplit(urljoin(url, location))
        return urlunsplit((moved.scheme, moved.hostname or "", moved.path, moved.query, ""))


@_allowed
class SurfacesUnnamedRedirects(ReferenceClient):
    """Follows 302 only; 301, 307 and 308 are redirect failures that keep the status."""

    name = "surfaces-unnamed-redirects"

    def _follows(self, status: int) -> bool:
        return status == 302


@_allowed
class DropsUnknownTimeKeys(ReferenceClient):
    """Keeps only the time keys the docs list, dropping any others (as b24pysdk does)."""

    name = "drops-unknown-time-keys"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, Success) and outcome.time is not None:
            kept = {k: v for k, v in outcome.time.items() if k in documented_time_keys()}
            return replace(outcome, time=kept)
        return outcome


@_allowed
class RetriesTimedOutReads(ReferenceClient):
    """Cuts each attempt at Target.timeout; retries a timed-out get or list twice, 2 s apart."""

    # Reads are safe to repeat (CONTRACT.md 4): judged per attempt, not on the attempts' sum.

    name = "retries-timed-out-reads"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        outcome = super().call(method, params)
        reads = method in ("crm.activity.badge.get", "crm.activity.badge.list")
        for _ in range(2):
            if not (reads and isinstance(outcome, TransportFailure) and outcome.kind == "timeout"):
                break
            self._sleep(2.0)
            outcome = super().call(method, params)
        return outcome


@_allowed
class ChecksDroppedAdd(ReferenceClient):
    """When an add's connection drops, gets the code and reports the badge if the add made it."""

    name = "checks-dropped-add"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        outcome = super().call(method, params)
        dropped = isinstance(outcome, TransportFailure) and outcome.kind == "connection"
        if not (dropped and method == "crm.activity.badge.add"):
            return outcome
        found = super().call("crm.activity.badge.get", {"code": params.get("code")})
        return found if isinstance(found, Success) else outcome


@_allowed
class RefreshesOnce(ReferenceClient):
    """Refreshes the token once on 401 expired_token and replays the call, then hands it on."""

    name = "refreshes-once"

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if isinstance(outcome, ApiError) and outcome.code == "expired_token":
            return 0.0 if attempt == 0 else None
        return super()._retry_delay(outcome, attempt)
