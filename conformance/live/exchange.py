"""What the live gateway keeps of each request (an Exchange) and the answers it gives itself."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

#: Who made a request that is not part of a case: the suite itself (probes, cleanup, sweep).
SUITE_TAG: Final = "(suite)"


@dataclass(frozen=True)
class Exchange:
    """One request of the run and its answer, as the portal (or the gateway) gave it."""

    number: int
    tag: str
    step: int
    at: float
    wall: float
    http_method: str
    client_url: str
    portal_url: str
    request_headers: dict[str, str]
    request_body: bytes
    api_method: str | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    seconds: float
    waited: float
    #: why the gateway answered itself; None when the portal answered
    local: str | None = None
    #: a QUERY_LIMIT_EXCEEDED the gateway waited out and sent again: the client never saw it
    absorbed: bool = False
    #: the gateway answered itself because the portal could not be reached (or timed out)
    unreachable: bool = False

    @property
    def from_portal(self) -> bool:
        return self.local is None

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.response_body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            return None


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    local: str | None = None
    unreachable: bool = False


def local_answer(status: int, code: str, text: str) -> Answer:
    body = json.dumps({"error": code, "error_description": f"b24-conformance: {text}"})
    return Answer(
        status,
        [("Content-Type", "application/json; charset=utf-8")],
        body.encode("utf-8"),
        local=f"{code}: {text}",
    )


def query_limit_exceeded(answer: Answer) -> bool:
    if answer.local is not None or answer.status != 503:
        return False
    try:
        body = json.loads(answer.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(body, dict) and body.get("error") == "QUERY_LIMIT_EXCEEDED"


def absorbed_attempt(
    http_method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    answer: Answer,
    at: float,
    wall: float,
) -> Exchange:
    """A refused attempt the gateway absorbed (tag, step and client URL are set on keeping)."""
    return Exchange(
        number=0,
        tag=SUITE_TAG,
        step=-1,
        at=at,
        wall=wall,
        http_method=http_method.upper(),
        client_url="",
        portal_url=url,
        request_headers=dict(headers),
        request_body=body,
        api_method=None,
        status=answer.status,
        response_headers=dict(answer.headers),
        response_body=answer.body,
        seconds=time.monotonic() - at,
        waited=0.0,
        absorbed=True,
    )


def unreachable(status: int, text: str) -> Answer:
    return Answer(
        status,
        [("Content-Type", "text/plain; charset=utf-8")],
        f"b24-conformance: {text}".encode(),
        local=text,
        unreachable=True,
    )
