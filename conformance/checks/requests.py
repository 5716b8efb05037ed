"""Checks of what the client sends: how many requests, their params, path and credentials."""

from __future__ import annotations

from collections.abc import Iterator

from conformance import schemas
from conformance.checks._registry import CheckContext, StepRun, check
from conformance.results import Failure, show
from conformance.wire import as_form_values


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
        wanted = dict(run.step.params)
        read = _read_by(run.step.method) | set(wanted)
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


def _params_hint(encoding: str, malformed: bool) -> str:
    if malformed:
        return "the body was sent as application/json but is not a JSON object"
    if encoding in ("query", "form"):
        return "percent-encode & + # % [ ] ? = in values; send maps as title[en]=...; or POST JSON"
    return "names are lowercase and case-sensitive; JSON keeps types"


@check("requests.path")
def check_request_path(context: CheckContext) -> Iterator[Failure]:
    """Requests go to the case's method, on the webhook or OAuth path, with or without .json."""
    for run, number, sent, decoded in context.sent():
        expected_kind = "oauth" if context.case.auth == "oauth" else "webhook"
        problems = []
        if decoded.api_method != run.step.method or decoded.suffix not in (None, "json"):
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
