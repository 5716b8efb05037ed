"""The live gateway: a reverse proxy on 127.0.0.1 between the client under test and the portal.

Every request of a live run passes here, whatever the client's language or HTTP stack, so the
safety rules hold for any client: only ``get`` and ``list`` reach the portal (``add`` and
``delete`` too with ``--allow-writes``, and only for codes under the run's prefix), every
request waits for the budget, and every exchange is kept for the portal checks, the drift
report and the recorder. What the gateway refuses never reaches the portal; it answers itself
with an error whose code starts with ``B24CT_``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import requests
from werkzeug.datastructures import EnvironHeaders

from conformance import __version__, schemas
from conformance._http_server import ascii_target, read_body
from conformance.api import Redactor
from conformance.live.budget import BudgetExhausted, RequestBudget
from conformance.live.exchange import (
    SUITE_TAG,
    Answer,
    Exchange,
    absorbed_attempt,
    local_answer,
    query_limit_exceeded,
    unreachable,
)
from conformance.live.target import LivePortal
from conformance.wire import DecodedRequest, decode_request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ADD, GET, LIST, DELETE = schemas.METHODS
READ_METHODS: Final = frozenset({GET, LIST})
WRITE_METHODS: Final = frozenset({ADD, DELETE})


#: Headers that belong to one connection, never forwarded either way.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
    }
)
#: Cookies are no part of the REST contract and can identify a session: they stay behind.
_DROPPED: Final = frozenset({"cookie", "set-cookie"})
#: Where a redirect to another host goes: the gateway refuses it (the portal moved).
MOVED_PATH: Final = "/b24ct-moved"
_MAX_BODY: Final = 32 * 1024 * 1024
#: Times the gateway sends a request again after QUERY_LIMIT_EXCEEDED, each after the budget
#: has halved its rate and waited a slot: the portal refused it before running the method
#: (CONTRACT.md section 4), so sending it again is safe, and the client never sees the portal's
#: throttling (its verdict does not depend on the bucket).
THROTTLE_RETRIES: Final = 8


@dataclass
class Gateway:
    """Policy, budget, forwarding and the exchange log of one live run (thread-safe)."""

    portal: LivePortal
    budget: RequestBudget
    prefix: str
    allow_writes: bool = False
    timeout: float = 30.0
    #: the gateway's own address as clients see it (set when its server starts)
    public_url: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    exchanges: list[Exchange] = field(default_factory=list)
    #: codes an add was sent for: the finalizer deletes every one of them
    created: dict[str, None] = field(default_factory=dict)
    #: codes the portal confirmed deleted
    deleted: dict[str, None] = field(default_factory=dict)
    #: a redirect to another address, when the portal answered one
    moved_to: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _idle: threading.Condition = field(init=False)
    _in_flight: int = 0
    _tag: str = SUITE_TAG
    _step: int = -1
    _closed: bool = False

    def __post_init__(self) -> None:
        self._idle = threading.Condition(self._lock)
        self.redact = Redactor(self.portal.secrets)

    # --- context ----------------------------------------------------------------------------

    @contextmanager
    def tagged(self, tag: str, step: int = -1) -> Iterator[None]:
        """Attribute the requests made inside the block to a case (and step)."""
        with self._lock:
            previous = self._tag, self._step
            self._tag, self._step = tag, step
        try:
            yield
        finally:
            with self._lock:
                self._tag, self._step = previous

    def created_codes(self) -> list[str]:
        """A snapshot of the codes an add was sent for (server threads add to it)."""
        with self._lock:
            return sorted(self.created)

    def note_deleted(self, code: str) -> None:
        with self._lock:
            self.deleted[code] = None

    def since(self, index: int) -> list[Exchange]:
        with self._lock:
            return self.exchanges[index:]

    def mark(self) -> int:
        with self._lock:
            return len(self.exchanges)

    def close(self, wait: float = 5.0) -> None:
        """Refuse every further client request and wait (bounded) for those in flight."""
        with self._lock:
            self._closed = True
        self.budget.close()
        deadline = time.monotonic() + wait
        with self._idle:
            while self._in_flight and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))

    # --- policy -----------------------------------------------------------------------------

    def refusal(
        self, decoded: DecodedRequest, target: str, *, essential: bool = False
    ) -> str | None:
        """Why a request must not reach the portal, or None; ``essential`` ones (the suite's
        cleanup) pass after the run has ended, never past the rules."""
        if self._closed and not essential:
            return "the run has ended"
        if target.startswith(MOVED_PATH):
            return (
                "the portal redirected to another address; point the target variable at the "
                "portal's new address"
            )
        method = decoded.api_method
        if decoded.path_kind == "unknown" or method is None:
            return "only REST calls under /rest/ reach the portal"
        if decoded.suffix not in (None, "json"):
            return f"only the JSON transport reaches the portal, not .{decoded.suffix}"
        if method in READ_METHODS:
            return None
        return self._write_refusal(method, decoded.params.get("code"))

    def _write_refusal(self, method: str, code: Any) -> str | None:
        if method not in WRITE_METHODS:
            return (
                f"{method} is outside the suite: only crm.activity.badge.get and .list reach "
                "the portal (and .add and .delete with --allow-writes)"
            )
        if not self.allow_writes:
            return f"{method} writes to the portal: run with --allow-writes to allow it"
        if not isinstance(code, str) or not code.startswith(self.prefix):
            return f"{method} of a code outside this run's prefix {self.prefix!r} is refused"
        return None

    # --- forwarding -------------------------------------------------------------------------

    def handle(
        self,
        http_method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        essential: bool = False,
    ) -> tuple[Answer, Exchange]:
        """Answer one request: refused here, or forwarded to the portal within budget."""
        started, wall = time.monotonic(), time.time()
        client_url = (self.public_url or "http://127.0.0.1/").rstrip("/") + target
        portal_url = self.portal.origin + target
        decoded = decode_request(http_method, portal_url, dict(headers), body)
        with self._lock:
            tag, step = self._tag, self._step
            self._in_flight += 1
        waited = 0.0
        absorbed: list[Exchange] = []
        try:
            refusal = self.refusal(decoded, target, essential=essential)
            if refusal is not None:
                answer = local_answer(403, "B24CT_REFUSED", refusal + "; the portal was not called")
            else:
                try:
                    waited = self.budget.acquire(essential=essential)
                except BudgetExhausted as exc:
                    answer = local_answer(429, "B24CT_BUDGET_EXHAUSTED", str(exc))
                else:
                    if decoded.api_method == ADD and isinstance(decoded.params.get("code"), str):
                        # Noted before the portal sees it: a lost answer still gets cleaned up.
                        with self._lock:
                            self.created[decoded.params["code"]] = None
                            self.deleted.pop(decoded.params["code"], None)
                    answer, waited = self._forward_within_limit(
                        http_method, portal_url, headers, body, essential, waited, absorbed
                    )
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        for attempt in absorbed:
            self._keep(
                replace(
                    attempt,
                    tag=tag,
                    step=step,
                    client_url=client_url,
                    api_method=decoded.api_method,
                ),
                decoded,
            )
        exchange = Exchange(
            number=0,
            tag=tag,
            step=step,
            at=started,
            wall=wall,
            http_method=http_method.upper(),
            client_url=client_url,
            portal_url=portal_url,
            request_headers=dict(headers),
            request_body=body,
            api_method=decoded.api_method,
            status=answer.status,
            response_headers=dict(answer.headers),
            response_body=answer.body,
            seconds=time.monotonic() - started,
            waited=waited,
            local=answer.local,
            unreachable=answer.unreachable,
        )
        return answer, self._keep(exchange, decoded)

    def _forward_within_limit(
        self,
        http_method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        essential: bool,
        waited: float,
        absorbed: list[Exchange],
    ) -> tuple[Answer, float]:
        """Forward; on QUERY_LIMIT_EXCEEDED slow the budget down and send again (at most
        THROTTLE_RETRIES times), keeping each refused attempt in ``absorbed``."""
        for _ in range(THROTTLE_RETRIES):
            sent_at, sent_wall = time.monotonic(), time.time()
            answer = self._forward(http_method, url, headers, body)
            if not query_limit_exceeded(answer):
                self.budget.admitted()
                return answer, waited
            self.budget.throttled()
            absorbed.append(
                absorbed_attempt(http_method, url, headers, body, answer, sent_at, sent_wall)
            )
            try:
                waited += self.budget.acquire(essential=essential)
            except BudgetExhausted:
                return answer, waited
        return self._forward(http_method, url, headers, body), waited

    def _keep(self, exchange: Exchange, decoded: DecodedRequest) -> Exchange:
        body = exchange.json() if exchange.from_portal else None
        with self._lock:
            exchange = _numbered(exchange, len(self.exchanges) + 1)
            self.exchanges.append(exchange)
            if (
                decoded.api_method == DELETE
                and isinstance(body, dict)
                and body.get("result") is True
            ):
                self.deleted[str(decoded.params.get("code"))] = None
        return exchange

    def _forward(
        self, http_method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> Answer:
        sent = {
            name: value
            for name, value in headers.items()
            if name.lower() not in _HOP_BY_HOP | _DROPPED
        }
        try:
            response = self.session.request(
                http_method,
                url,
                data=body or None,
                headers=sent,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            return unreachable(504, f"the portal did not answer within {self.timeout:g}s")
        except requests.RequestException as exc:
            return unreachable(502, self.redact(f"the portal could not be reached: {exc}"))
        kept = [
            (name, self._rewrite_location(value) if name.lower() == "location" else value)
            for name, value in response.headers.items()
            if name.lower() not in _HOP_BY_HOP | _DROPPED
        ]
        return Answer(response.status_code, kept, response.content)

    def _rewrite_location(self, location: str) -> str:
        public = (self.public_url or "http://127.0.0.1/").rstrip("/")
        origin = self.portal.origin
        if location.startswith(origin + "/") or location == origin:
            return public + location[len(origin) :]
        if location.startswith("/"):
            return location
        self.moved_to = location
        # Another host: the client's next request comes back here and is refused.
        return public + MOVED_PATH

    # --- the suite's own calls --------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any], *, essential: bool = False) -> Exchange:
        """Call the portal as the suite (admin probe, cleanup, sweep): JSON POST, budgeted."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"b24-conformance/{__version__} (live)",
        }
        if self.portal.kind == "oauth":
            target = f"/rest/{method}.json"
            headers["Authorization"] = f"Bearer {self.portal.auth_token}"
        else:
            target = f"/rest/{self.portal.user_id}/{self.portal.secret}/{method}.json"
        body = json.dumps(dict(params), ensure_ascii=False).encode("utf-8")
        with self.tagged(SUITE_TAG):
            return self.handle("POST", target, headers, body, essential=essential)[1]


def _numbered(exchange: Exchange, number: int) -> Exchange:
    return replace(exchange, number=number)


class GatewayApp:
    """The gateway as a WSGI application (on conformance._http_server, like the fake portal)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = read_body(environ, _MAX_BODY)
        except Exception:
            body = b""
        headers = dict(EnvironHeaders(environ).items())
        try:
            answer, _ = self.gateway.handle(
                str(environ.get("REQUEST_METHOD", "GET")), ascii_target(environ), headers, body
            )
        except Exception as exc:  # the gateway must answer whatever happens
            answer = unreachable(
                502, self.gateway.redact(f"the gateway failed: {type(exc).__name__}")
            )
        try:
            phrase = HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = "Unknown"
        headers_out = [*answer.headers, ("Content-Length", str(len(answer.body)))]
        start_response(f"{answer.status} {phrase}", headers_out)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else answer.body]
