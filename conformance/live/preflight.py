"""The live pre-flight: one read-only list before the first case tells a portal problem from a
client problem, so that no case blames the client for an unreachable portal, a proxy page or a
rejected secret. Each answer that is not a badge list becomes one line (exit 2)."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from conformance.live.exchange import Exchange
from conformance.live.target import LiveTargetError

#: Error codes that mean the portal did not accept the credentials (CONTRACT.md section 2.4).
CREDENTIAL_ERRORS: Final = frozenset(
    {
        "NO_AUTH_FOUND",
        "INVALID_CREDENTIALS",
        "INVALID_REQUEST",
        "invalid_token",
        "expired_token",
        "insufficient_scope",
        "WRONG_AUTH_TYPE",
        "authorization_error",
        "user_access_error",
        "APPLICATION_NOT_FOUND",
        "ERROR_OAUTH",
    }
)


class PreflightFailed(LiveTargetError):
    """The pre-flight list did not get a badge list: the portal, not the client, is at fault."""


def preflight_problem(exchange: Exchange, moved_to: str | None = None) -> str | None:
    """Why the answer to the pre-flight list rules the run out, in one line; None when it is
    a badge list. ``moved_to`` is where the portal redirected, if it did."""
    if exchange.unreachable:
        return f"pre-flight: the portal is unreachable ({exchange.local})"
    status = exchange.status
    if 300 <= status <= 399:
        where = urlsplit(moved_to).hostname if moved_to else None
        return (
            f"pre-flight: not a Bitrix24 REST endpoint: a list answered HTTP {status}, a "
            f"redirect{f' to {where}' if where else ''}; point the variable at the portal's "
            "current address"
        )
    body = exchange.json()
    if not isinstance(body, dict) or not ("result" in body or "error" in body):
        content_type = exchange.response_headers.get("Content-Type", "no content type")
        shape = "JSON that is no REST envelope" if body is not None else content_type
        return (
            f"pre-flight: not a Bitrix24 REST endpoint: a list answered HTTP {status} with "
            f"{len(exchange.response_body)} bytes of {shape} (a proxy, a login page or another "
            "server?)"
        )
    if "result" in body:
        return None
    code = body["error"]
    description = _one_line(body.get("error_description"))
    if str(code) in CREDENTIAL_ERRORS or status == 401:
        return f"pre-flight: credentials rejected: {code} (HTTP {status}: {description})"
    return f"pre-flight: the portal refused a read-only list: {code} (HTTP {status}: {description})"


def _one_line(value: object) -> str:
    text = " ".join(str(value if value is not None else "no description").split())
    return text if len(text) <= 200 else text[:197] + "..."
