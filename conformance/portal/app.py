"""The portal as a WSGI application: reads and records every request, then answers it from
the active Script (scripted mode) or from the badge store (stateful mode), with injected faults.

Whatever arrives, the answer is portal-shaped: an unexpected exception becomes the JSON
500 INTERNAL_SERVER_ERROR envelope, never a traceback.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected

from conformance._http_server import DropConnection, ascii_target, header_value, read_body
from conformance.portal.auth import Directory
from conformance.portal.depth import drop_deep_pairs, json_too_deep
from conformance.portal.envelope import (
    Answer,
    PortalError,
    error_answer,
    internal_error,
    json_answer,
    success_body,
)
from conformance.portal.faults import FaultQueue, fault_answer
from conformance.portal.limits import LeakyBucket, query_limit_exceeded
from conformance.portal.rest import RestLayer, method_not_found
from conformance.portal.store import BadgeStore
from conformance.transports import OFFLINE_HOST, RecordedRequest, Script
from conformance.wire import DecodedRequest, decode_request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: Scripted cases name the portal's old and new addresses on these hosts (transport.yaml);
#: over real HTTP they are rewritten in scripted headers to this server's two addresses.
MOVED_HOST: Final = "moved.b24-conformance.invalid"

#: How often a stalled request looks at its release conditions, in seconds.
_POLL: Final = 0.05


#: Bytes of one request body the log keeps, and of all bodies together (the rest is counted).
LOG_BODY_LIMIT: Final = 1024 * 1024
LOG_TOTAL_LIMIT: Final = 64 * 1024 * 1024


class RequestLog:
    """Every request the portal received, oldest first, bounded: at most ``limit`` entries,
    ``body_limit`` bytes of each body and ``total_limit`` bytes of bodies in all (the oldest
    entries go first). What is not kept is counted, so a long run cannot grow it without
    limit and a test can still see that it happened."""

    def __init__(
        self,
        limit: int = 100_000,
        body_limit: int = LOG_BODY_LIMIT,
        total_limit: int = LOG_TOTAL_LIMIT,
    ) -> None:
        if limit < 1 or body_limit < 0 or total_limit < body_limit:
            raise ValueError(
                f"request log limit={limit}, body_limit={body_limit}, total_limit={total_limit}:"
                " expected limit >= 1 and 0 <= body_limit <= total_limit"
            )
        self.limit = limit
        self.body_limit = body_limit
        self.total_limit = total_limit
        self._lock = threading.Lock()
        self._entries: deque[tuple[int, RecordedRequest]] = deque()
        self._kept_bytes = 0
        #: requests received since the last clear (kept or not)
        self.received = 0
        #: body bytes received but not kept (cut off, or gone with an evicted entry)
        self.unkept_bytes = 0
        #: entries evicted to stay within the limits
        self.evicted = 0

    def append(self, entry: RecordedRequest) -> None:
        body = entry.body
        if len(body) > self.body_limit:
            entry = replace(entry, body=body[: self.body_limit])
        with self._lock:
            self.unkept_bytes += len(body) - len(entry.body)
            while self._entries and (
                len(self._entries) >= self.limit
                or self._kept_bytes + len(entry.body) > self.total_limit
            ):
                _, old = self._entries.popleft()
                self._kept_bytes -= len(old.body)
                self.unkept_bytes += len(old.body)
                self.evicted += 1
            self._entries.append((self.received, entry))
            self._kept_bytes += len(entry.body)
            self.received += 1

    @property
    def kept_bytes(self) -> int:
        """Body bytes the log holds now."""
        with self._lock:
            return self._kept_bytes

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return [entry for _, entry in self._entries]

    def since(self, number: int) -> list[RecordedRequest]:
        """The kept entries received after the first ``number`` (see ``received``)."""
        with self._lock:
            return [entry for index, entry in self._entries if index >= number]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._kept_bytes = 0
            self.received = self.unkept_bytes = self.evicted = 0


#: ``on_answer(method, path, status)``; the path still holds a webhook secret: redact it.
AnswerHook = Callable[[str, str, int | None], None]


@dataclass
class PortalState:
    """Everything the application answers from; owned by FakePortal."""

    directory: Directory
    store: BadgeStore
    rest: RestLayer
    bucket: LeakyBucket | None
    faults: FaultQueue = field(default_factory=FaultQueue)
    log: RequestLog = field(default_factory=RequestLog)
    stopping: threading.Event = field(default_factory=threading.Event)
    stall_limit: float = 60.0
    max_body: int = 32 * 1024 * 1024
    script: Script | None = None
    script_lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    moved_url: str = ""
    #: Called after each request: HTTP method, path (no query), status (None: dropped).
    on_answer: AnswerHook | None = None


@dataclass(frozen=True)
class Incoming:
    """A request as read off the wire."""

    method: str
    url: str
    target: str
    headers: dict[str, str]
    body: bytes
    https: bool
    started: float

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


def wait_for_release(events: Iterable[threading.Event], limit: float) -> None:
    """Block until one of ``events`` is set or ``limit`` seconds pass."""
    waiting = tuple(events)
    deadline = time.monotonic() + limit
    while not any(e.is_set() for e in waiting):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        waiting[0].wait(min(_POLL, left))


def _host(environ: WSGIEnvironment) -> str:
    host = str(environ.get("HTTP_HOST", ""))
    try:
        if host and host.isascii() and host.isprintable():
            urlsplit(f"http://{host}/").port  # noqa: B018 - raises on a malformed host
            return host
    except ValueError:
        pass
    return f"{environ.get('SERVER_NAME', '127.0.0.1')}:{environ.get('SERVER_PORT', '80')}"


def _within_php_limits(request: Incoming) -> Incoming:
    """The request as PHP would parse it: JSON too deep for json_decode read as an empty body,
    variables nested deeper than max_input_nesting_level dropped (conformance.portal.depth)."""
    mime = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    body = request.body
    if mime == "application/json":
        if json_too_deep(body):
            body = b""
    elif mime != "multipart/form-data" and body:
        body = drop_deep_pairs(body.decode("latin-1")).encode("latin-1")
    path, mark, query = request.target.partition("?")
    target = path + mark + drop_deep_pairs(query) if mark else request.target
    if body == request.body and target == request.target:
        return request
    url = request.url[: len(request.url) - len(request.target)] + target
    return replace(request, body=body, target=target, url=url)


class PortalApp:
    """The WSGI application of FakePortal."""

    def __init__(self, state: PortalState) -> None:
        self.state = state

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            answer = self.answer(environ)
        except DropConnection:
            self._announce(environ, None)
            raise
        except Exception:
            answer = internal_error()
        self._announce(environ, answer.status)
        headers = [
            (name, header_value(value))
            for name, value in answer.headers
            if name.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        headers.append(("Content-Length", str(len(answer.body))))
        start_response(answer.status_line, headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else answer.body]

    def _announce(self, environ: WSGIEnvironment, status: int | None) -> None:
        hook = self.state.on_answer
        if hook is not None:
            # An observer must not change what the client gets.
            with suppress(Exception):
                path = urlsplit(ascii_target(environ)).path
                hook(str(environ.get("REQUEST_METHOD", "GET")), path, status)

    def read(self, environ: WSGIEnvironment) -> Incoming:
        started = time.time()
        target = ascii_target(environ)
        scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
        try:
            body = read_body(environ, self.state.max_body)
        except (ClientDisconnected, ConnectionError, TimeoutError):
            raise DropConnection() from None
        return Incoming(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            url=f"{scheme}://{_host(environ)}{target}",
            target=target,
            headers=dict(EnvironHeaders(environ).items()),
            body=body,
            https=scheme == "https",
            started=started,
        )

    def answer(self, environ: WSGIEnvironment) -> Answer:
        request = self.read(environ)
        script = self.state.script
        scripted = script is not None and request.path.startswith("/rest/")
        self.state.log.append(
            RecordedRequest(
                request.method,
                request.url,
                request.headers,
                request.body,
                time.monotonic(),
                time.time(),
                script.step if script is not None and scripted else -1,
            )
        )
        if script is not None and scripted:
            return self.scripted(script, request)
        return self.stateful(request)

    # --- scripted mode ----------------------------------------------------------------------

    def scripted(self, script: Script, request: Incoming) -> Answer:
        with self.state.script_lock:
            script.record(request.method, request.url, request.headers, request.body)
            planned = script.next_answer(request.url)
            rendered = None if planned.fault is not None else script.render(planned)
        if planned.fault == "timeout":
            wait_for_release((script.closed, self.state.stopping), self.state.stall_limit)
            raise DropConnection()
        if rendered is None:
            raise DropConnection()
        status, headers, body = rendered
        return Answer(status, tuple((k, self._rewrite(v)) for k, v in headers.items()), body)

    def _rewrite(self, value: str) -> str:
        for host, address in ((OFFLINE_HOST, self.state.url), (MOVED_HOST, self.state.moved_url)):
            if address:
                value = value.replace(f"https://{host}/", address)
        return value

    # --- stateful mode ----------------------------------------------------------------------

    def stateful(self, request: Incoming) -> Answer:
        request = _within_php_limits(request)
        decoded = decode_request(request.method, request.url, request.headers, request.body)
        method = decoded.api_method if decoded.path_kind != "unknown" else None
        fault = self.state.faults.take(method)
        if fault is not None:
            if fault.kind == "reset":
                raise DropConnection()
            if fault.kind == "stall":
                wait_for_release((self.state.stopping,), fault.seconds)
            else:
                return fault_answer(fault, self.state.moved_url, request.target)
        try:
            return self._call(request, decoded)
        except PortalError as error:
            return error_answer(error)

    def _call(self, request: Incoming, decoded: DecodedRequest) -> Answer:
        if not request.path.startswith("/rest/"):
            raise method_not_found()
        if self.state.bucket is not None and not self.state.bucket.admit():
            raise query_limit_exceeded()
        method = decoded.api_method
        # Only the .json transport is served; .xml and anything else is an unknown method.
        if method is None or decoded.path_kind == "unknown" or decoded.suffix == "xml":
            raise method_not_found()
        if not RestLayer.exists(method):
            raise method_not_found()
        caller = self.state.directory.authenticate(decoded, request.https)
        called = self.state.rest.call(method, decoded.params, caller)
        timing = replace(called.timing, start=request.started)
        return json_answer(200, success_body(called.result, timing, time.time(), called.total))
