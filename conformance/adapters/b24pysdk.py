"""b24pysdk, the official Python SDK (``--client conformance.adapters.b24pysdk:factory``).

What it maps. Each call is the SDK's lazy ``BitrixAPIRequest`` for the method, the object
``client.crm.activity.badge.get(...)`` and its siblings build, created here for the method by
name so the case's params reach the wire as given (the typed wrappers check argument types
first and would refuse the deliberately ill-typed params before sending). Its ``response`` is
what an application reads:

- ``BitrixAPIResponse`` -> ``Success(result, time.to_dict(), total)``;
- ``BitrixAPIError`` (v2 body with ``error``) -> ``ApiError(error, error_description,
  status_code)``; REST v3 errors -> ``ApiError(code, message, status_code)``. The codes come
  from the SDK's own accessors; where an accessor raises (it does on a numeric code), the
  exception escapes and the case is *errored*, because an application would get it too;
- ``BitrixResponseJSONDecodeError`` -> ``TransportFailure("non-json", ..., status_code)``
  (the SDK does not tell an empty body from any other undecodable one);
- ``BitrixRequestTimeout`` -> ``TransportFailure("timeout")``; ``BitrixRequestError`` ->
  ``TransportFailure("connection")``. Details are the SDK's own exception text, and every
  outcome made from an SDK exception hands that exception on (``raised``), for the secret
  check to read as an application's log would show it.

Capabilities: ``status``, ``time``, ``total``, ``oauth`` (a ``BitrixToken`` bound to a
placeholder ``BitrixApp``, without a refresh token, so the SDK never refreshes against an
external host; no ``refresh``), ``retry`` (the SDK retries HTTP 503 itself).

Knobs: ``initial_retry_delay`` and ``retry_delay_increment`` shrink from 1 s to 0.25 s, so a
503 retry waits 0.25 s, then 0.5 s (same shape, a quarter of the time; at a tenth the 0.1 s
growth drowned in a loaded machine's scheduling delay and the backoff check flapped);
``max_retries`` keeps the SDK's default (3 attempts); ``timeout`` is ``Target.timeout``.
They are passed per request, as ``Client(...)`` passes them, not through ``Config``, which is
thread-local (the suite calls adapters from a worker thread).

TLS: the SDK builds ``https://{domain}/rest/...`` itself, so portal mode needs ``--tls``; the
portal's CA reaches ``requests`` through ``REQUESTS_CA_BUNDLE``, set around each call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from conformance.adapters import installed_version, missing_extra, trusting_ca_bundle
from conformance.api import ApiError, Outcome, Success, Target, TransportFailure

try:
    # b24pysdk ships no py.typed marker: everything it gives is Any to mypy.
    import b24pysdk
    from b24pysdk import errors
    from b24pysdk.api.requests import BitrixAPIRequest
    from b24pysdk.errors import v3 as errors_v3
except ImportError as exc:
    raise missing_extra(__name__, "b24pysdk", "b24pysdk", exc) from None

#: The SDK's retry waits (1 s, then +1 s per retry), shrunk fourfold; attempts stay at 3.
INITIAL_RETRY_DELAY: Final = 0.25
RETRY_DELAY_INCREMENT: Final = 0.25


class B24PySdkAdapter:
    """b24pysdk's typed request objects, reported as outcomes."""

    name = "b24pysdk"
    version = installed_version("b24pysdk")
    capabilities = frozenset({"status", "time", "total", "oauth", "retry"})

    def __init__(self, target: Target) -> None:
        portal = urlsplit(target.portal_url)
        if portal.scheme != "https":
            raise ValueError(
                "b24pysdk builds https://{domain}/rest/ URLs itself and cannot call "
                f"{portal.scheme}://: run portal mode with --tls"
            )
        self._ca_bundle = target.ca_bundle
        if target.auth_token:
            # Never used: without a refresh token there is nothing to exchange it for.
            app = b24pysdk.BitrixApp(client_id="b24-conformance", client_secret="unused")  # noqa: S106
            # No refresh token: the SDK treats the token as one-off and never refreshes it.
            self._token = b24pysdk.BitrixToken(
                domain=portal.netloc, auth_token=target.auth_token, bitrix_app=app
            )
        else:
            self._token = b24pysdk.BitrixWebhook(
                domain=portal.netloc, webhook_token=f"{target.user_id}/{target.secret}"
            )
        self._options: dict[str, Any] = {
            "timeout": target.timeout,
            "initial_retry_delay": INITIAL_RETRY_DELAY,
            "retry_delay_increment": RETRY_DELAY_INCREMENT,
        }

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        request = BitrixAPIRequest(
            bitrix_token=self._token, api_method=method, params=dict(params), **self._options
        )
        with trusting_ca_bundle(self._ca_bundle):
            try:
                response = request.response
            except errors.BitrixRequestTimeout as error:
                return TransportFailure("timeout", str(error), raised=error)
            except errors.BitrixRequestError as error:
                return TransportFailure("connection", str(error), raised=error)
            except errors.BitrixResponseJSONDecodeError as error:
                return TransportFailure("non-json", str(error), _status(error), raised=error)
            except errors.BitrixAPIError as error:
                return ApiError(error.error, error.error_description, _status(error), raised=error)
            except errors_v3.BitrixAPIError as error:
                return ApiError(error.code, error.error.message, _status(error), raised=error)
        timing = response.time.to_dict() if response.time is not None else None
        total = response.total
        return Success(response.result, timing, total if isinstance(total, int) else None)


def _status(error: Any) -> int | None:
    status = error.status_code
    return status if isinstance(status, int) else None


def factory(target: Target) -> B24PySdkAdapter:
    """``--client conformance.adapters.b24pysdk:factory`` (portal mode needs ``--tls``)."""
    return B24PySdkAdapter(target)
