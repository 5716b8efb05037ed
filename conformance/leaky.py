"""Miniatures that leak the webhook secret, one channel each: exception text, a log record,
stdout, stderr, a warning, a base64 log line, the cause of a caught exception, the args of a
returned error object. ``conformance.testing`` registers them."""

from __future__ import annotations

import base64
import logging
import sys
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

import requests

from conformance.api import ApiError, Outcome
from conformance.reference import ReferenceClient

__all__ = [
    "LEAKY",
    "LeaksSecretInCause",
    "LeaksSecretInErrorArgs",
    "LeaksSecretInException",
    "LogsBase64Secret",
    "LogsSecret",
    "PrintsUrl",
    "PrintsUrlToStderr",
    "WarnsWithUrl",
]


class LeaksSecretInException(ReferenceClient):
    """Raises requests' HTTPError on a non-2xx answer, whose text quotes the full webhook URL."""

    name = "leaks-secret-in-exception"

    def _outcome(self, response: requests.Response) -> Outcome:
        response.raise_for_status()
        return super()._outcome(response)


leaky_log: Final = logging.getLogger("b24_leaky_client")


class LogsSecret(ReferenceClient):
    """Logs every request's full URL, webhook secret included, at INFO."""

    name = "logs-secret"

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        leaky_log.info("POST %s", url)
        return super()._post(url, headers, body)


class _LeaksUrl(ReferenceClient):
    """Not a miniature: tells one channel every request's full URL."""

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        self._leak(url)
        return super()._post(url, headers, body)

    def _leak(self, url: str) -> None:
        raise NotImplementedError


class PrintsUrl(_LeaksUrl):
    """Prints every request's full URL, webhook secret included, to stdout."""

    name = "prints-url"

    def _leak(self, url: str) -> None:
        print(f"POST {url}")


class PrintsUrlToStderr(_LeaksUrl):
    """Prints every request's full URL, webhook secret included, to stderr."""

    name = "prints-url-to-stderr"

    def _leak(self, url: str) -> None:
        print(f"POST {url}", file=sys.stderr)


class WarnsWithUrl(_LeaksUrl):
    """Calls warnings.warn with every request's full URL, webhook secret included."""

    name = "warns-with-url"

    def _leak(self, url: str) -> None:
        warnings.warn(f"slow request to {url}", UserWarning, stacklevel=2)


class LogsBase64Secret(_LeaksUrl):
    """Logs a Basic-style header holding the webhook URL in base64, at DEBUG."""

    name = "logs-base64-secret"

    def _leak(self, url: str) -> None:
        leaky_log.debug("Authorization: Basic %s", base64.b64encode(url.encode()).decode())


class ClientApiError(Exception):
    """A client's own API error: its text and repr say only the code; ``args[1]``, where a
    client keeps its context, is the URL it called."""

    def __init__(self, outcome: ApiError, url: str = "") -> None:
        context = (url,) if url else ()
        super().__init__(f"API error {outcome.code}", *context)
        self.outcome = outcome

    def __str__(self) -> str:
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"ClientApiError({self.args[0]!r})"


# Both are what an adapter sees: it catches the client's exception (or takes the error object
# it returns) to report an ApiError, and hands it on as ApiError.raised.
class LeaksSecretInCause(ReferenceClient):
    """Raises its API errors from requests' HTTPError (URL and secret only in that cause)."""

    name = "leaks-secret-in-cause"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        try:
            return super().call(method, params)
        except ClientApiError as error:
            # What an adapter does: the outcome, and the exception handed on for the check.
            return replace(error.outcome, raised=error)

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError):
            try:
                response.raise_for_status()
            except requests.HTTPError as cause:
                raise ClientApiError(outcome) from cause
        return outcome


class LeaksSecretInErrorArgs(ReferenceClient):
    """Returns its API errors as an error object whose args keep the webhook URL."""

    name = "leaks-secret-in-error-args"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError):
            return replace(outcome, raised=ClientApiError(outcome, response.url))
        return outcome


# ---------------------------------------------------------------------------------------------


#: The leaking miniatures, in the order ``conformance.testing`` registers them.
LEAKY: Final = (
    LeaksSecretInException,
    LogsSecret,
    PrintsUrl,
    PrintsUrlToStderr,
    WarnsWithUrl,
    LogsBase64Secret,
    LeaksSecretInCause,
    LeaksSecretInErrorArgs,
)
