"""Miniatures: deliberately broken clients, one defect each, that prove every check can fail.

Each miniature is the reference client with one method overridden; its one-line docstring says
what it breaks. ``MINIATURES`` maps a stable name to the class (a ``Target -> Adapter``
factory); ``--client miniature:NAME`` runs one against the suite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

import requests

from conformance.allowed import ALLOWED
from conformance.api import AdapterFactory, ApiError, Outcome, Success, TransportFailure
from conformance.leaky import LEAKY
from conformance.reference import ReferenceClient
from conformance.retrying import RETRYING

__all__ = ["MINIATURES", "miniature_doc"]

MINIATURES: dict[str, AdapterFactory] = {}

_Client = TypeVar("_Client", bound=type[ReferenceClient])


def _miniature(cls: _Client) -> _Client:
    MINIATURES[cls.name] = cls
    return cls


def miniature_doc(name: str) -> str:
    """The one-line docstring of a miniature: what it breaks."""
    return (MINIATURES[name].__doc__ or "").strip()


# --- outcomes: what the client reports ------------------------------------------------------


@_miniature
class LosesErrorCode(ReferenceClient):
    """Reports every API error without its code."""

    name = "loses-error-code"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        return replace(outcome, code=None) if isinstance(outcome, ApiError) else outcome


@_miniature
class UppercasesErrorCode(ReferenceClient):
    """Uppercases error codes like b24pysdk, so ``expired_token`` becomes ``EXPIRED_TOKEN``."""

    name = "uppercases-error-code"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError):
            return replace(outcome, code=str(outcome.code).upper())
        return outcome


@_miniature
class FalsyErrorIsSuccess(ReferenceClient):
    """Tests ``if body.get("error"):``, so an error code 0 or "" passes for a success."""

    name = "falsy-error-is-success"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError) and not outcome.code:
            return Success(None)
        return outcome


@_miniature
class TrustsStatus200(ReferenceClient):
    """Trusts HTTP 200, so an error envelope sent with status 200 passes for a success."""

    name = "trusts-status-200"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError) and response.status_code == 200:
            return Success(None)
        return outcome


@_miniature
class CrashesOnNonJson(ReferenceClient):
    """Calls ``json.loads`` on every body unguarded, so HTML or an empty body raises."""

    name = "crashes-on-non-json"

    def _outcome(self, response: requests.Response) -> Outcome:
        json.loads(response.text)
        return super()._outcome(response)


@_miniature
class AnyJsonIsSuccess(ReferenceClient):
    """Takes any JSON body without ``error`` for a success, so ``[]`` or a bare badge passes."""

    name = "any-json-is-success"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, TransportFailure) and outcome.kind == "bad-envelope":
            body = json.loads(response.content.decode("utf-8-sig"))
            return Success(body.get("result") if isinstance(body, dict) else body)
        return outcome


@_miniature
class TitleOnlyAsString(ReferenceClient):
    """Reads ``title`` only as a string: a language map collapses to its first value."""

    name = "title-only-as-string"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, Success) and isinstance(outcome.result, dict):
            badges = [outcome.result.get("badge"), *(outcome.result.get("badges") or [])]
            for badge in badges:
                if isinstance(badge, dict) and isinstance(badge.get("title"), dict):
                    badge["title"] = next(iter(badge["title"].values()), "")
        return outcome


@_miniature
class DropsTotal(ReferenceClient):
    """Declares capability ``total`` but never fills ``Success.total``."""

    name = "drops-total"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        return replace(outcome, total=None) if isinstance(outcome, Success) else outcome


@_miniature
class ListsNoBadges(ReferenceClient):
    """Reports every list answer with an empty badges array, whatever the portal listed."""

    name = "lists-no-badges"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        result = outcome.result if isinstance(outcome, Success) else None
        if isinstance(result, dict) and isinstance(result.get("badges"), list):
            result["badges"] = []
        return outcome


@_miniature
class IgnoresStatus(ReferenceClient):
    """Declares capability ``status`` but reports no HTTP status on errors or failures."""

    name = "ignores-status"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, ApiError | TransportFailure):
            return replace(outcome, status=None)
        return outcome


@_miniature
class CallsEveryFailureConnection(ReferenceClient):
    """Reports every unreadable answer (HTML, empty body, bad envelope) as kind ``connection``."""

    name = "calls-every-failure-connection"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        if isinstance(outcome, TransportFailure):
            return replace(outcome, kind="connection")
        return outcome


@_miniature
class InventsTotal(ReferenceClient):
    """Reports the page length as ``total`` when the list answer carries none."""

    name = "invents-total"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        result = outcome.result if isinstance(outcome, Success) else None
        if isinstance(outcome, Success) and outcome.total is None and isinstance(result, dict):
            return replace(outcome, total=len(result.get("badges") or []))
        return outcome


@_miniature
class DropsErrorDescription(ReferenceClient):
    """Reports every API error without its ``error_description``."""

    name = "drops-error-description"

    def _outcome(self, response: requests.Response) -> Outcome:
        outcome = super()._outcome(response)
        return replace(outcome, description=None) if isinstance(outcome, ApiError) else outcome


# --- retries: how often and how soon the client asks again ----------------------------------

for _retrying in RETRYING:
    _miniature(_retrying)


# --- requests: what the client puts on the wire ---------------------------------------------


@_miniature
class PastesParamsIntoQuery(ReferenceClient):
    """GETs ``{url}?code=...`` with the params pasted into the query string unencoded."""

    name = "pastes-params-into-query"

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        query = "&".join(f"{key}={value}" for key, value in _params(body).items())
        return _request(self, "GET", f"{url}?{query}", headers=_without_content_type(headers))


@_miniature
class FormEncodesMapsAsText(ReferenceClient):
    """Posts a form of ``str(value)`` per param, so a title map goes as ``"{'en': ...}"``."""

    name = "form-encodes-maps-as-text"

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        form = {key: str(value) for key, value in _params(body).items()}
        return _request(self, "POST", url, data=form, headers=_without_content_type(headers))


@_miniature
class FollowsRedirectAsGet(ReferenceClient):
    """Lets requests follow a 302, which turns the POST into a GET without the body."""

    name = "follows-redirect-as-get"

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        return _request(self, "POST", url, data=body, headers=dict(headers))


@_miniature
class LoopsOnRedirectWithoutLocation(ReferenceClient):
    """Posts again to the same address while a 3xx comes without ``Location``."""

    name = "loops-on-redirect-without-location"

    def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        for _ in range(20):
            outcome = super()._post(url, headers, body)
            if not (isinstance(outcome, TransportFailure) and outcome.kind == "redirect"):
                break
        return outcome


@_miniature
class PostsToXml(ReferenceClient):
    """Posts to ``{method}.xml``, the XML transport, instead of ``{method}.json``."""

    name = "posts-to-xml"

    def _endpoint(self, method: str) -> tuple[str, dict[str, str]]:
        url, headers = super()._endpoint(method)
        return url.removesuffix(".json") + ".xml", headers


@_miniature
class OAuthWithoutToken(ReferenceClient):
    """Calls the OAuth endpoint without sending the access token."""

    name = "oauth-without-token"

    def _endpoint(self, method: str) -> tuple[str, dict[str, str]]:
        url, headers = super()._endpoint(method)
        headers.pop("Authorization", None)
        return url, headers


@_miniature
class CrashesBeforeSending(ReferenceClient):
    """Raises AttributeError on the first line of every call, before sending anything."""

    name = "crashes-before-sending"

    def call(self, method: str, params: Mapping[str, Any]) -> Outcome:
        session: Any = None  # a client whose set-up forgot its session
        session.post(method, json=dict(params))
        return super().call(method, params)


# --- secrets: conformance.leaky, one channel each ------------------------------------------

for _leaky in LEAKY:
    _miniature(_leaky)


def _params(body: bytes) -> dict[str, Any]:
    # The reference hands _post the params as JSON; these miniatures send them another way.
    params: dict[str, Any] = json.loads(body)
    return params


def _without_content_type(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "Content-Type"}


def _request(client: ReferenceClient, verb: str, url: str, **options: Any) -> Outcome:
    # The reference's timeout and failure mapping, with requests' own redirect handling.
    try:
        response = client._session.request(
            verb,
            url,
            timeout=client.target.timeout,
            verify=client.target.ca_bundle or True,
            **options,
        )
    except requests.Timeout as exc:
        return TransportFailure("timeout", client._redact(str(exc)))
    except requests.RequestException as exc:
        return TransportFailure("connection", client._redact(str(exc)))
    return client._outcome(response)


# The correct-but-different clients run under the same names (``--client miniature:NAME``).
MINIATURES.update(ALLOWED)
