"""Checks of live mode: a list shows the case's own badges; the portal's answers are wire-valid.

``outcome.own-badges`` judges the client on a shared portal (other people's badges are
listed too); ``portal.wire`` judges the portal itself, from the gateway's exchanges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.api import Success
from conformance.checks._registry import CheckContext, ExchangeContext, check
from conformance.live.cases import LiveCase
from conformance.results import Failure, clip, normalised
from conformance.validation import BodyRejected, validate_response


def _key(badge: Any) -> str:
    return json.dumps(badge, sort_keys=True, default=str)


@check("outcome.own-badges")
def check_own_badges(context: CheckContext) -> Iterator[Failure]:
    """A live list shows exactly the case's own badges among the portal's, and a total."""
    case = context.case
    if not isinstance(case, LiveCase) or not case.own_badges:
        return
    for run in context.runs:
        expected = case.own_badges.get(run.index)
        if expected is None or not isinstance(run.outcome, Success):
            continue
        where = f"case {case.id} ({context.mode}, step {run.index + 1}): Success.result.badges"
        result = run.outcome.result
        badges = result.get("badges") if isinstance(result, dict) else None
        if not isinstance(badges, list):
            yield Failure(
                "outcome.own-badges",
                "the list answer has no badges array",
                "result.badges: an array",
                clip(json.dumps(result, default=str), 200),
                where,
            )
            continue
        ours = [b for b in badges if isinstance(b, dict) and b.get("code") in case.codes]
        want = sorted((normalised(b) for b in expected), key=_key)
        got = sorted((normalised(b) for b in ours), key=_key)
        if want != got:
            yield Failure(
                "outcome.own-badges",
                "the list does not show the case's own badges as they were stored",
                clip(json.dumps(want, ensure_ascii=False), 300),
                clip(json.dumps(got, ensure_ascii=False), 300),
                where,
                f"only badges whose codes start with {case.prefix} are compared",
            )
        total = run.outcome.total
        if "total" in context.capabilities and (total is None or total < len(badges)):
            yield Failure(
                "outcome.own-badges",
                "the list's top-level total is missing or smaller than the badges listed",
                f"an integer total >= {len(badges)}",
                f"total={total}",
                where.replace("result.badges", "total"),
            )


@check("portal.wire", scope="exchanges")
def check_portal_wire(context: ExchangeContext) -> Iterator[Failure]:
    """Every answer the portal gave during a live case validates under the wire profile."""
    case = context.case
    for exchange in context.exchanges:
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
            yield (
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
        except BodyRejected as exc:
            yield Failure(
                "portal.wire",
                "the portal answered with a body that cannot be checked",
                "a v2 JSON envelope (CONTRACT.md 2.1, 2.2)",
                str(exc),
                where,
                "a failure of the portal, not of the client",
            )
            continue
        except ValueError:
            continue
        for violation in result.violations:
            yield (
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
