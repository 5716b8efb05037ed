"""a24wh's ``request24`` (``--client conformance.adapters.a24wh_rest:factory``).

Named ``a24wh_rest`` (after the client's module ``a24wh.rest``), not ``a24wh``, so that the
adapter never stands in for the client package, whatever ends up on ``sys.path``.

What it maps. Each call is ``request24(method, params, webhook_url, timeout=...)``: one POST
of the params as JSON to ``{webhook}{method}.json``. request24 never raises; it returns a dict,
and that dict is all an application gets:

- no ``error_result`` key -> ``Success(result, time, total)`` from the dict. request24 returns
  a 200 body that is a JSON object as it is (so an object that is no envelope, or one whose
  ``error`` is falsy, ``""`` or ``0``, comes back as a success without ``result``), and wraps
  any other JSON value as ``{"result": value}``;
- ``error_type`` ``bitrix_error`` (a 200 body with a truthy ``error``) -> ``ApiError(error_code,
  error_message, status_code)``: the client's ``error_code`` is ``str(error)``;
- ``error_type`` ``http_error`` (any status but 200): the client's ``error_code`` is the HTTP
  status as text (``"400"``) and its message ``"Bitrix24 returned HTTP 400."``, but it keeps the
  portal's body in ``details`` (parsed, when it was JSON), where an application can read it, so
  the adapter reads it there: an envelope -> ``ApiError(error, error_description,
  status_code)``; text -> ``TransportFailure("non-json")`` (``"empty-body"`` when empty); JSON
  that is no envelope -> ``TransportFailure("bad-envelope")``, each with ``status_code``;
- ``invalid_json`` (a 200 body that is not JSON, an empty one included) ->
  ``TransportFailure("non-json", details, 200)``;
- ``timeout_error`` -> ``TransportFailure("timeout")``; ``transport_error`` (any other
  ``requests`` exception, named in ``error_code``) -> ``TransportFailure("redirect")`` for
  ``TooManyRedirects``, ``TransportFailure("connection")`` otherwise;
- ``unexpected_error`` (request24 caught an exception of its own) and ``configuration_error``
  (request24 refused the call before sending) -> raised as :class:`A24whSwallowedError`: the
  client failed inside, and the case is *errored* as it would be had the client not swallowed
  the exception.

Texts are the client's own (``error_message``, ``details``), handed on as they are: where the
client puts the webhook URL, secret and all, into ``details`` (``str()`` of a ``requests``
exception) or into its log, the suite's secret checks see it as an application would; the whole
returned dict goes with every error outcome (``raised=ReturnedError(dict)``), as a caller logging it
would show every field.

Capabilities: ``status`` (``status_code``), ``time`` and ``total`` (the success dict is the
envelope), ``retry`` (request24 retries HTTP 429, 500, 502, 503 and 504 itself). Webhook only:
request24 has no OAuth mode, so no ``oauth``.

Knobs: none. The client's retry settings (3 retries, a fixed 1 s delay) come from environment
variables read on every call; they stay at their defaults, so the request counts and waits the
cases see are a24wh's own. ``timeout`` is ``Target.timeout`` (request24's default is 60 s).
The portal's CA (``--tls``) reaches ``requests`` through ``REQUESTS_CA_BUNDLE``, set around
each call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.adapters import missing_extra, trusting_ca_bundle
from conformance.api import ApiError, Outcome, ReturnedError, Success, Target, TransportFailure

try:
    # a24wh ships no py.typed marker: everything it gives is Any to mypy.
    from a24wh import request24
except ImportError as exc:
    raise missing_extra(__name__, "a24wh", "a24wh", exc) from None


class A24whSwallowedError(RuntimeError):
    """request24 caught an exception of its own, or refused the call, and returned it as a dict."""


class A24whAdapter:
    """a24wh's ``request24``: its returned dict, read by its ``error_type``."""

    name = "a24wh"
    capabilities = frozenset({"status", "time", "total", "retry"})

    def __init__(self, target: Target) -> None:
        self._webhook_url = target.base_url
        self._timeout = target.timeout
        self._ca_bundle = target.ca_bundle

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        with trusting_ca_bundle(self._ca_bundle):
            answer = request24(method, dict(params), self._webhook_url, timeout=self._timeout)
        if not isinstance(answer, dict):
            raise A24whSwallowedError(f"request24 returned {type(answer).__name__}, not a dict")
        if "error_result" not in answer:
            total = answer.get("total")
            timing = answer.get("time")
            return Success(
                answer.get("result"),
                timing if isinstance(timing, dict) else None,
                total if isinstance(total, int) and not isinstance(total, bool) else None,
            )
        return self._from_error(answer)

    def _from_error(self, answer: Mapping[str, Any]) -> Outcome:
        kind = answer.get("error_type")
        code = answer.get("error_code")
        message = str(answer.get("error_message", ""))
        status = answer.get("status_code")
        status = status if isinstance(status, int) else None
        kept = answer.get("details")
        details = str(kept if kept is not None else "")
        # The dict request24 returned instead of raising: every field of it, for the secret check.
        returned = ReturnedError(dict(answer))
        if kind == "bitrix_error":
            return ApiError(code, message, status, raised=returned)
        if kind == "http_error":
            return _from_http_error(code, message, status, kept, returned)
        if kind == "invalid_json":
            text = f"{message} {details}".strip()
            return TransportFailure("non-json", text, status, raised=returned)
        if kind == "timeout_error":
            text = f"{message} {details}".strip()
            return TransportFailure("timeout", text, status, raised=returned)
        if kind == "transport_error":
            failure = "redirect" if code == "TooManyRedirects" else "connection"
            text = f"{code}: {message} {details}".strip()
            return TransportFailure(failure, text, status, raised=returned)
        raise A24whSwallowedError(f"request24 returned {kind} {code}: {message} {details}".strip())


def _from_http_error(
    code: Any, message: str, status: int | None, kept: Any, returned: ReturnedError
) -> Outcome:
    """An ``http_error``: request24 keeps the portal's body in ``details``, parsed when it
    was JSON. An application that reads it there finds the envelope, so the adapter does."""
    if isinstance(kept, dict) and "error" in kept:
        described = kept.get("error_description")
        text = str(described) if described is not None else ""
        return ApiError(kept["error"], text, status, raised=returned)
    if isinstance(kept, str):
        kind = "empty-body" if not kept.strip() else "non-json"
        text = f"{code}: {message} {kept}".strip()
        return TransportFailure(kind, text, status, raised=returned)
    # JSON, but no envelope: an object without error, a list, a number, null.
    return TransportFailure("bad-envelope", f"{code}: {message} {kept!r}", status, raised=returned)


def factory(target: Target) -> A24whAdapter:
    """``--client conformance.adapters.a24wh_rest:factory``."""
    return A24whAdapter(target)
