"""Checks of what the client sends: how many requests, their params, path and credentials."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any, Final

from conformance import schemas
from conformance.case import ADD_METHOD
from conformance.checks._registry import CheckContext, StepRun, check
from conformance.results import Failure, show
from conformance.transports import api_method_of
from conformance.wire import as_form_values

GET_METHOD: Final = "crm.activity.badge.get"
LIST_METHOD: Final = "crm.activity.badge.list"


@check("requests.count")
def check_request_count(context: CheckContext) -> Iterator[Failure]:
    """Each call makes as many requests as the script allows: no storms, no retried 4xx."""
    for run in context.runs:
        count, allowed = len(run.requests), run.step.requests
        if run.hung or allowed.allows(count):
            continue
        if run.exception is not None and not count:
            continue  # it raised before sending anything: the escaped exception says so
        too_many = count > allowed.maximum
        yield Failure(
            "requests.count",
            "too many requests (a retry storm or a retried non-retryable answer)"
            if too_many
            else "too few requests (a retryable answer was not retried)",
            f"{allowed.describe()} request(s)",
            f"{count} request(s)",
            context.where(run),
            _count_hint(run, too_many),
            # a storm is harmful whatever the case (CONTRACT.md 4.1)
            level="must" if too_many else "",
        )


def _count_hint(run: StepRun, too_many: bool) -> str:
    codes = [
        r.body.get("error") for r in run.step.responses if r.has_body and isinstance(r.body, dict)
    ]
    codes = [c for c in codes if c is not None and not isinstance(c, dict)]
    if too_many and codes:
        seen = ", ".join(map(str, dict.fromkeys(codes)))
        return (
            f"answers seen: {seen}; only QUERY_LIMIT_EXCEEDED and OPERATION_TIME_LIMIT are retried"
        )
    if not too_many and not run.requests:
        return (
            "the transport saw no request from the client: it may not reach this mode "
            "(stub sees clients on requests only)"
        )
    if not too_many and any(300 <= (r.status or 0) < 400 for r in run.step.responses):
        return "a redirect was not followed: POST the same body again to Location"
    if not too_many:
        return "retry QUERY_LIMIT_EXCEEDED with backoff; wait out OPERATION_TIME_LIMIT"
    return ""


@cache  # the schemas do not change while the suite runs; every request asks
def _read_by(method: str) -> frozenset[str]:
    """The parameter names a method's controller reads; not those it reads and drops
    (``x-ignored`` in the params schema, like list's ``start``): sending them changes nothing,
    so only the cases about them judge them (CONTRACT.md 4.1)."""
    properties = schemas.contents_at(schemas.params_schema(method)).get("properties", {})
    return frozenset(name for name, rule in properties.items() if "x-ignored" not in rule)


@check("requests.params")
def check_request_params(context: CheckContext) -> Iterator[Failure]:
    """What the client sent decodes, as the portal decodes it, to the case's params.

    Only the names the method reads are judged: the binder looks each one up exactly and
    ignores the rest, so an SDK's own bookkeeping parameters change nothing on the portal.
    """
    for run, number, _sent_request, decoded in context.sent():
        method, wanted = _asked(run, decoded.api_method)
        if method == LIST_METHOD and method != run.step.method:
            continue  # a list checking an unanswered add: list reads nothing
        read = _read_by(method) | set(wanted)
        got = {name: value for name, value in decoded.params.items() if name in read}
        if decoded.encoding != "json":
            wanted = as_form_values(wanted)
        if got != wanted:
            yield Failure(
                "requests.params",
                "the request does not decode to the params the client was given",
                show(wanted),
                f"{show(got)} (sent as {decoded.encoding})",
                context.where(run, f"request {number}"),
                _params_hint(decoded.encoding, decoded.malformed_json),
            )


def _asked(run: StepRun, api_method: str | None) -> tuple[str, dict[str, Any]]:
    """The method and params a request of ``run`` is judged against: the step's own, or, for a
    read the step allows (a check of what an unanswered add did), that read of the add's code."""
    if api_method and api_method != run.step.method and api_method in run.step.reads:
        code = run.step.params.get("code")
        return api_method, ({"code": code} if api_method == GET_METHOD else {})
    return run.step.method, dict(run.step.params)


def _params_hint(encoding: str, malformed: bool) -> str:
    if malformed:
        return "the body was sent as application/json but is not a JSON object"
    if encoding in ("query", "form"):
        return "percent-encode & + # % [ ] ? = in values; send maps as title[en]=...; or POST JSON"
    return "names are lowercase and case-sensitive; JSON keeps types"


@check("requests.unchecked-add")
def check_unchecked_add(context: CheckContext) -> Iterator[Failure]:
    """An add whose answer never came is not sent again before a get or list checks what the
    first one did: the portal may have added the badge already (CONTRACT.md 4.1)."""
    for run in context.runs:
        if not run.step.outcome_unknown:
            continue
        added, checked = False, False
        for number, request in enumerate(run.requests, 1):
            method = api_method_of(request.url)
            if method in (GET_METHOD, LIST_METHOD):
                checked = True
            elif method == ADD_METHOD:
                if added and not checked:
                    yield Failure(
                        "requests.unchecked-add",
                        "an add was sent again without checking what the unanswered one did",
                        "surface the failure, or a get or list before sending the add again",
                        f"request {number} is another add, with no get or list since the last",
                        context.where(run, f"request {number}"),
                        "a dropped connection or a timeout after the write leaves the badge "
                        "made: a blind re-send duplicates or fails with BX_INVALID_VALUE",
                        level="must",
                    )
                    break
                added, checked = True, False


@check("requests.path")
def check_request_path(context: CheckContext) -> Iterator[Failure]:
    """Requests go to the case's method, on the webhook or OAuth path, with or without .json."""
    for run, number, sent, decoded in context.sent():
        expected_kind = "oauth" if context.case.auth == "oauth" else "webhook"
        problems = []
        allowed = {run.step.method, *run.step.reads}
        if decoded.api_method not in allowed or decoded.suffix not in (None, "json"):
            problems.append(
                f"method {decoded.api_method}{'.' + decoded.suffix if decoded.suffix else ''}"
            )
        if decoded.path_kind != expected_kind:
            problems.append(f"a {decoded.path_kind} path")
        if problems:
            yield Failure(
                "requests.path",
                "the request went to the wrong endpoint",
                f"{expected_kind} path to {run.step.method} (optionally .json)",
                f"{'; '.join(problems)}: {sent.method} {sent.url}",
                context.where(run, f"request {number}"),
                "webhook: {base_url}{method}.json; OAuth: {portal_url}rest/{method}.json",
            )


@check("requests.auth")
def check_request_auth(context: CheckContext) -> Iterator[Failure]:
    """The webhook secret goes in the path; the token as auth, access_token or Bearer."""
    target = context.target
    for run, number, sent, decoded in context.sent():
        if context.case.auth == "oauth":
            ok = decoded.token == target.auth_token and target.secret not in sent.url
            expected = "the access token as auth, access_token or Authorization: Bearer"
            actual = f"token via {decoded.token_carrier or 'nothing'}"
        else:
            ok = decoded.secret == target.secret and str(decoded.user_id) == str(target.user_id)
            expected = "the webhook user id and secret in the URL path"
            actual = "a different or missing user id or secret in the path"
        if not ok:
            yield Failure(
                "requests.auth",
                "the request does not carry the right credentials",
                expected,
                actual,
                context.where(run, f"request {number}"),
            )
