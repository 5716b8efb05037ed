"""The reference client: a small, correct Bitrix24 client on requests (``--client reference``).

Correct means CONTRACT.md: JSON POST to ``{method}.json``, error codes kept exactly as sent,
the HTTP status kept, only QUERY_LIMIT_EXCEEDED retried with backoff (never OVERLOAD_LIMIT or
any 4xx), 429 OPERATION_TIME_LIMIT waited out until the last ``operating_reset_at``, a 302
re-posted with its body (one without ``Location`` reported as a redirect failure), non-JSON
and empty bodies reported as transport failures, a timeout on every request, and no secret in
any exception text or log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import requests

from conformance import __version__
from conformance.api import ApiError, Outcome, Redactor, Success, Target, TransportFailure
from conformance.wire import is_error_code

log = logging.getLogger(__name__)

RETRY_BACKOFF_CODES: Final = frozenset({"QUERY_LIMIT_EXCEEDED"})
OPERATING_LIMIT_CODE: Final = "OPERATION_TIME_LIMIT"
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})


class ReferenceClient:
    """A correct client; the suite's yardstick and its own client for live checks."""

    name = "reference"
    version = __version__
    capabilities = frozenset({"status", "time", "total", "oauth", "retry"})

    def __init__(
        self,
        target: Target,
        *,
        max_retries: int = 4,
        backoff: float = 0.1,
        max_wait: float = 60.0,
        max_redirects: int = 3,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = target
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.max_redirects = max_redirects
        self._session = session or requests.Session()
        self._sleep = sleep
        self._redact = Redactor(target.secrets)
        self._operating_reset_at: float | None = None

    def _endpoint(self, method: str) -> tuple[str, dict[str, str]]:
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"b24-conformance-reference/{__version__}",
        }
        if self.target.auth_token:
            headers["Authorization"] = f"Bearer {self.target.auth_token}"
            return f"{self.target.oauth_url}{method}.json", headers
        return f"{self.target.base_url}{method}.json", headers

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        url, headers = self._endpoint(method)
        body = json.dumps(params, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            outcome = self._post(url, headers, body)
            delay = self._retry_delay(outcome, attempt)
            if delay is None:
                return outcome
            attempt += 1
            log.info("retrying %s in %.2fs (attempt %d)", method, delay, attempt + 1)
            self._sleep(delay)

    def _retry_delay(self, outcome: Outcome, attempt: int) -> float | None:
        if not isinstance(outcome, ApiError) or attempt >= self.max_retries:
            return None
        code = str(outcome.code)
        if code in RETRY_BACKOFF_CODES:
            return float(self.backoff * 2**attempt)
        if code == OPERATING_LIMIT_CODE and self._operating_reset_at is not None:
            # Error answers carry no time block: wait for the reset the last success announced,
            # once. A second 429 means the next basket is far off: report it, do not spin.
            wait = self._operating_reset_at - time.time()
            self._operating_reset_at = None
            return min(max(wait, 0.0), self.max_wait)
        return None

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        for _ in range(self.max_redirects + 1):
            try:
                response = self._session.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=self.target.timeout,
                    allow_redirects=False,
                    verify=self.target.ca_bundle or True,
                )
            except requests.Timeout as exc:
                return TransportFailure("timeout", self._redact(str(exc)))
            except requests.RequestException as exc:
                return TransportFailure("connection", self._redact(str(exc)))
            log.debug("POST %s -> HTTP %d", self._redact(url), response.status_code)
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_STATUSES and location:
                if not self._follows(response.status_code):
                    return TransportFailure(
                        "redirect",
                        f"HTTP {response.status_code} to another address, not followed",
                        response.status_code,
                    )
                # The portal moved: send the same POST, body included, to the new address.
                url = self._follow(url, location)
                continue
            if response.status_code in REDIRECT_STATUSES:
                # Nowhere to go: neither a success nor the page's text, and not worth a retry.
                status = response.status_code
                return TransportFailure("redirect", f"HTTP {status} without Location", status)
            return self._outcome(response)
        return TransportFailure("redirect", f"more than {self.max_redirects} redirects")

    def _follows(self, status: int) -> bool:
        """Whether a redirect with this status is followed (every one of REDIRECT_STATUSES)."""
        return True

    def _follow(self, url: str, location: str) -> str:
        """The address a redirect from ``url`` to ``location`` leads to."""
        return str(requests.compat.urljoin(url, location))

    def _outcome(self, response: requests.Response) -> Outcome:
        status = response.status_code
        if not response.content.strip():
            return TransportFailure("empty-body", f"HTTP {status} with an empty body", status)
        try:
            body = json.loads(response.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            kind = response.headers.get("Content-Type", "no content type")
            return TransportFailure("non-json", f"HTTP {status}, {kind}, not JSON", status)
        if isinstance(body, dict) and "error" in body and is_error_code(body["error"]):
            error = body["error"]
            if isinstance(error, dict):
                # A REST v3 error object: keep its code, say where it came from.
                return ApiError(error.get("code"), self._text(error.get("message")), status)
            return ApiError(error, self._text(body.get("error_description")), status)
        if isinstance(body, dict) and "result" in body and "error" not in body:
            timing = body.get("time") if isinstance(body.get("time"), dict) else None
            if timing and isinstance(timing.get("operating_reset_at"), int | float):
                self._operating_reset_at = float(timing["operating_reset_at"])
            total = body.get("total") if isinstance(body.get("total"), int) else None
            return Success(body["result"], timing, total)
        return TransportFailure(
            "bad-envelope", f"HTTP {status}: JSON without result or error", status
        )

    def _text(self, value: object) -> str | None:
        return self._redact(value) if isinstance(value, str) else None


def factory(target: Target) -> ReferenceClient:
    """``--client reference``: the suite's own correct client."""
    return ReferenceClient(target)
