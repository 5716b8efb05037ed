"""Miniatures that leak the webhook secret, one channel each: exception text, a log record,
stdout, stderr, a warning, a base64 log line. ``conformance.testing`` registers them."""

from __future__ import annotations

import base64
import logging
import sys
import warnings
from collections.abc import Mapping
from typing import Final

import requests

from conformance.api import Outcome
from conformance.reference import ReferenceClient

__all__ = [
    "LEAKY",
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


# ---------------------------------------------------------------------------------------------


#: The leaking miniatures, in the order ``conformance.testing`` registers them.
LEAKY: Final = (
    LeaksSecretInException,
    LogsSecret,
    PrintsUrl,
    PrintsUrlToStderr,
    WarnsWithUrl,
    LogsBase64Secret,
)
