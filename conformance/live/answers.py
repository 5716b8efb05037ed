"""Reading the portal's answers the suite itself asks for (lists, deletes), and the live.log
line of an exchange."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conformance.live.exchange import Exchange


def listed_codes(exchange: Exchange) -> list[str]:
    """The badge codes in a list answer ([] when it is none)."""
    body = exchange.json()
    result = body.get("result") if isinstance(body, dict) else None
    badges = result.get("badges") if isinstance(result, dict) else None
    if not isinstance(badges, list):
        return []
    return [b["code"] for b in badges if isinstance(b, dict) and isinstance(b.get("code"), str)]


def error_code(exchange: Exchange) -> Any:
    """The error code of an error envelope (as the portal sent it), or None."""
    body = exchange.json()
    if isinstance(body, dict) and "error" in body and not isinstance(body["error"], dict):
        return body["error"]
    return None


def log_line(exchange: Exchange) -> str:
    """One line of live.log: who answered what, how fast, how long the budget held it."""
    when = datetime.fromtimestamp(exchange.wall, UTC).isoformat(timespec="milliseconds")
    step = f" step {exchange.step + 1}" if exchange.step >= 0 else ""
    code = error_code(exchange)
    answer = f"HTTP {exchange.status}" + (f" {code}" if code is not None else "")
    who = "gateway" if exchange.local else "portal"
    line = (
        f"#{exchange.number} {when} {exchange.tag}{step}: {exchange.http_method} "
        f"{exchange.api_method or '?'} -> {who} {answer} in {exchange.seconds:.3f}s "
        f"(waited {exchange.waited:.3f}s for the budget)"
    )
    if exchange.local:
        line += f" [{exchange.local}]"
    return line


def gone(exchange: Exchange) -> bool:
    """A delete answered true, or NOT_FOUND: the badge is not on the portal any more."""
    body = exchange.json()
    return isinstance(body, dict) and (
        body.get("result") is True or body.get("error") == "NOT_FOUND"
    )
