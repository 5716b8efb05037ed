"""The per-run portal checks of live mode: every answer of the portal in a case against the
wire profile. Failures of the portal, not of the client; they fail the case like any other."""

from __future__ import annotations

from collections.abc import Callable

from conformance.engine import CaseResult, Failure
from conformance.live.cases import LiveCase
from conformance.live.exchange import Exchange
from conformance.validation import validate_response


def judge_portal(
    result: CaseResult,
    case: LiveCase,
    exchanges: list[Exchange],
    redact: Callable[[str], str],
) -> None:
    """Add the portal's failures in ``exchanges`` to ``result`` (redacted), failing it."""
    failures = [_redacted(f, redact) for f in portal_failures(case, exchanges)]
    if not failures:
        return
    result.failures.extend(failures)
    rendered = "\n".join(f.render() for f in failures)
    if result.outcome == "passed":
        result.outcome = "failed"
        result.message = rendered
    elif result.outcome in ("failed", "errored"):
        result.message = f"{result.message}\n{rendered}"


def _redacted(failure: Failure, redact: Callable[[str], str]) -> Failure:
    return Failure(
        failure.check,
        redact(failure.title),
        redact(failure.expected),
        redact(failure.actual),
        redact(failure.where),
        redact(failure.hint),
    )


def portal_failures(case: LiveCase, exchanges: list[Exchange]) -> list[Failure]:
    """Every way the portal's answers in a case break the wire profile: failures of the portal."""
    failures = []
    for exchange in exchanges:
        if not exchange.from_portal or exchange.api_method is None:
            continue
        if 300 <= exchange.status <= 399:
            continue  # a moved portal (CONTRACT.md 3.1): the body of a redirect is no envelope
        where = (
            f"case {case.id} (live, step {exchange.step + 1}): the portal's answer to "
            f"{exchange.api_method}, HTTP {exchange.status}"
        )
        body = exchange.json()
        if body is None:
            content_type = exchange.response_headers.get("Content-Type", "no content type")
            failures.append(
                Failure(
                    "portal.wire",
                    "the portal answered with a body that is not JSON",
                    "a v2 JSON envelope (CONTRACT.md 2.1, 2.2)",
                    f"{len(exchange.response_body)} bytes of {content_type}",
                    where,
                    "a proxy, a WAF or a fatal error answered in the portal's place",
                )
            )
            continue
        try:
            result = validate_response(exchange.api_method, body, status=exchange.status)
        except ValueError:
            continue
        for violation in result.violations:
            failures.append(
                Failure(
                    "portal.wire",
                    f"the portal's answer breaks the wire profile: {violation.problem}",
                    violation.expected,
                    violation.actual,
                    f"{where}: {violation.path}; schema {violation.schema_location}",
                    "a failure of the portal, not of the client"
                    + (f"; CONTRACT.md section {violation.contract}" if violation.contract else ""),
                )
            )
    return failures
