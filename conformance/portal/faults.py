"""Faults a test injects into the stateful portal: what proxies, WAFs, crashed PHP workers,
moved portals and flaky networks do to a request (CONTRACT.md sections 3.1, 3.2 and 4)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Literal

from conformance.portal.envelope import Answer, json_answer
from conformance.wire import split_method

FaultKind = Literal["html", "empty", "status", "stall", "redirect", "reset"]

#: The JSON error a bare ``Fault.status(code)`` answers with (the system error table, 2.4).
STATUS_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    401: ("NO_AUTH_FOUND", "Wrong authorization data"),
    403: ("ACCESS_DENIED", "REST API is available only on commercial plans."),
    404: ("ERROR_METHOD_NOT_FOUND", "Method not found!"),
    429: ("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit."),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
    502: ("ERROR_UNEXPECTED_ANSWER", "Server returned an unexpected response."),
    503: ("QUERY_LIMIT_EXCEEDED", "Too many requests"),
    504: ("ERROR_UNEXPECTED_ANSWER", "Server returned an unexpected response."),
}


def nginx_page(status: int) -> str:
    """The page nginx writes for an error status, byte for byte."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if status == 504:
        phrase = "Gateway Time-out"
    title = f"{status} {phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour; build it with the class methods."""

    kind: FaultKind
    http_status: int = 0
    seconds: float = 0.0
    location: str | None = None
    error: str | int | None = None
    description: str | None = None
    page: str | None = None

    @classmethod
    def html(cls, status: int = 502, page: str | None = None) -> Fault:
        """An HTML page (nginx's by default) under ``status``, as a proxy or WAF sends it."""
        return cls("html", http_status=_checked_status(status), page=page)

    @classmethod
    def empty(cls, status: int = 200) -> Fault:
        """An empty body under ``status``."""
        return cls("empty", http_status=_checked_status(status))

    @classmethod
    def status(
        cls, status: int, error: str | int | None = None, description: str | None = None
    ) -> Fault:
        """A JSON error envelope under ``status`` (500 INTERNAL_SERVER_ERROR, 503
        QUERY_LIMIT_EXCEEDED, ...); another code: ``Fault.status(503, "OVERLOAD_LIMIT")``."""
        _checked_status(status)
        if error is None:
            if status not in STATUS_ERRORS:
                known = ", ".join(map(str, STATUS_ERRORS))
                raise ValueError(
                    f"Fault.status({status}): no default error code for this status "
                    f"(defaults exist for {known}); pass error= and description="
                )
            error, default = STATUS_ERRORS[status]
            description = default if description is None else description
        return cls("status", http_status=status, error=error, description=description or "")

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        """Hold the request ``seconds`` (released early when the portal stops), then answer it."""
        if seconds < 0:
            raise ValueError(f"Fault.stall({seconds}): seconds must be >= 0")
        return cls("stall", seconds=float(seconds))

    @classmethod
    def redirect(cls, location: str | None = None, status: int = 302) -> Fault:
        """A redirect to ``location``; by default the same path on the portal's moved address."""
        if not 300 <= status <= 399:
            raise ValueError(f"Fault.redirect(status={status}): expected a 3xx status")
        return cls("redirect", http_status=status, location=location)

    @classmethod
    def reset(cls) -> Fault:
        """Drop the connection without any HTTP answer."""
        return cls("reset")


def _checked_status(status: int) -> int:
    if not 100 <= status <= 599:
        raise ValueError(f"status {status}: expected an HTTP status from 100 to 599")
    return status


def fault_answer(fault: Fault, moved_url: str, path_and_query: str) -> Answer:
    """The HTTP answer of a fault that has one (not stall or reset)."""
    html = (("Content-Type", "text/html; charset=utf-8"),)
    if fault.kind == "html":
        return Answer(
            fault.http_status, html, (fault.page or nginx_page(fault.http_status)).encode("utf-8")
        )
    if fault.kind == "empty":
        return Answer(fault.http_status, html, b"")
    if fault.kind == "status":
        return json_answer(
            fault.http_status, {"error": fault.error, "error_description": fault.description}
        )
    if fault.kind == "redirect":
        location = fault.location or moved_url.rstrip("/") + path_and_query
        page = nginx_page(fault.http_status).encode("utf-8")
        return Answer(fault.http_status, (*html, ("Location", location)), page)
    raise ValueError(f"a {fault.kind} fault has no HTTP answer")


@dataclass
class _Injected:
    fault: Fault
    method: str | None
    remaining: int | None
    #: matching requests still to let through before the fault applies
    skip: int = 0


class FaultQueue:
    """Injected faults, first match wins; each applies ``times`` times (None: until cleared)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Injected] = []

    def add(
        self, fault: Fault, method: str | None = None, times: int | None = 1, after: int = 0
    ) -> None:
        if times is not None and times < 1:
            raise ValueError(f"times={times}: expected a count >= 1, or None for every request")
        if after < 0:
            raise ValueError(f"after={after}: expected a count of requests >= 0")
        name = split_method(method)[0] if method else None
        with self._lock:
            self._queue.append(_Injected(fault, name, times, after))

    def take(self, method: str | None) -> Fault | None:
        """The fault for a request to ``method`` (None outside /rest/), used up once."""
        with self._lock:
            for entry in self._queue:
                if entry.method is None or entry.method == method:
                    if entry.skip:
                        entry.skip -= 1
                        continue
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            self._queue.remove(entry)
                    return entry.fault
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
