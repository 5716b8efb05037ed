"""FakePortal: the portal application on the shared server plumbing (conformance._http_server):
127.0.0.1, HTTP or TLS (a throwaway CA from trustme), quiet, never answering with a traceback."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from conformance._http_server import (
    LOCALHOST,
    LOOPBACK,
    MAX_CONNECTIONS,
    Certificates,
    ServerThread,
)
from conformance._network import MOVED_ADDRESSES
from conformance.api import Target
from conformance.portal.app import (
    LOG_BODY_LIMIT,
    LOG_TOTAL_LIMIT,
    AnswerHook,
    PortalApp,
    PortalState,
    RequestLog,
)
from conformance.portal.auth import Directory, random_secret
from conformance.portal.faults import Fault
from conformance.portal.limits import Clock, LeakyBucket, OperatingLimiter
from conformance.portal.rest import RestLayer
from conformance.portal.store import BadgeStore
from conformance.transports import SECRET_PLACEHOLDER, RecordedRequest, Script

#: The portal's "new address" for redirects: the same server under another host name.
MOVED_NAME = LOCALHOST


class FakePortal:
    """A Bitrix24 portal on 127.0.0.1 for clients in any language (DESIGN.md section 4).

    Stateful by default (badge store, webhook and OAuth auth, limits, injected faults);
    inside ``scripted(script)`` every /rest/ request is answered from a case's Script.
    User 1 is an admin with a random webhook secret. ``clock`` drives the leaky bucket
    (seconds, monotonic; a test passes a fake one to pace requests without waiting).
    The request log keeps ``log_body_limit`` bytes of each body and ``log_total_limit`` in
    all; ``max_connections`` are served at once, one more gets 503 (docs/portal.md).
    """

    def __init__(
        self,
        tls: bool = False,
        port: int = 0,
        bucket: tuple[int, float] | None = (50, 2.0),
        operating_limit: float | None = 480.0,
        operating_cost: float = 0.0,
        require_https: bool = False,
        *,
        operating_window: float = 600.0,
        stall_limit: float = 60.0,
        max_body: int = 32 * 1024 * 1024,
        on_answer: AnswerHook | None = None,
        clock: Clock = time.monotonic,
        log_body_limit: int = LOG_BODY_LIMIT,
        log_total_limit: int = LOG_TOTAL_LIMIT,
        max_connections: int = MAX_CONNECTIONS,
        moved_on_default_port: bool = False,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port={port}: expected 0 (any free port) to 65535")
        self.directory = Directory(require_https=require_https)
        self.store = BadgeStore()
        limiter = (
            OperatingLimiter(operating_limit, operating_cost, operating_window)
            if operating_limit is not None
            else None
        )
        self._state = PortalState(
            directory=self.directory,
            store=self.store,
            rest=RestLayer(self.store, limiter),
            bucket=LeakyBucket(*bucket, clock=clock) if bucket is not None else None,
            stall_limit=stall_limit,
            max_body=max_body,
            on_answer=on_answer,
            log=RequestLog(body_limit=log_body_limit, total_limit=log_total_limit),
        )
        self._limiter = limiter
        self._certificates = Certificates(MOVED_ADDRESSES) if tls else None
        self._moved_wanted = moved_on_default_port
        self._moved: ServerThread | None = None
        self._server = ServerThread(
            PortalApp(self._state),
            port,
            self._certificates.context if self._certificates else None,
            name="b24-portal",
            max_connections=max_connections,
        )
        self.add_user(1, random_secret(), admin=True, login="admin")

    def __repr__(self) -> str:
        where = self.url if self._server.running else "not running"
        return f"<FakePortal {where}>"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakePortal:
        self._state.stopping.clear()
        self._server.start()
        port = self._server.port
        scheme = "https" if self._certificates else "http"
        self._state.url = f"{scheme}://{LOOPBACK}:{port}/"
        self._state.moved_url = f"{scheme}://{MOVED_NAME}:{port}/"
        if self._moved_wanted and self._moved is None:
            self._moved = self._moved_listener(443 if self._certificates else 80)
            if self._moved is not None:
                self._state.moved_url = f"{scheme}://{self._moved.host}/"
        return self

    def _moved_listener(self, default_port: int) -> ServerThread | None:
        """The same portal on a moved address at the scheme's default port, or None when this
        machine does not let us listen there (not root, every address taken)."""
        for address in MOVED_ADDRESSES:
            listener = ServerThread(
                self._server.app,
                default_port,
                self._certificates.context if self._certificates else None,
                name="b24-portal-moved",
                host=address,
            )
            try:
                listener.start()
            except OSError:
                continue
            return listener
        return None

    @property
    def moved_on_default_port(self) -> bool:
        """Whether the moved address is on the scheme's default port (see MOVED_ADDRESSES)."""
        self._running()
        return self._moved is not None

    def stop(self) -> None:
        # Release stalled requests first, so their threads end with the server.
        self._state.stopping.set()
        if self._moved is not None:
            self._moved.stop()
            self._moved = None
        self._server.stop()

    def __enter__(self) -> FakePortal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------------------------

    def _running(self) -> None:
        if not self._server.running:
            raise RuntimeError("the portal is not running: call start() or use `with portal:`")

    @property
    def url(self) -> str:
        """The portal address, ``http://127.0.0.1:PORT/`` (https with tls=True)."""
        self._running()
        return self._state.url

    @property
    def moved_url(self) -> str:
        """The same server under another address: ``https://127.0.0.N/`` on the scheme's default
        port when it could listen there (``moved_on_default_port``), else
        ``http(s)://localhost:PORT/``."""
        self._running()
        return self._state.moved_url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def ca_bundle(self) -> str | None:
        """Path of the CA certificate (PEM) that signed the portal's certificate, when tls."""
        return self._certificates.ca_bundle if self._certificates else None

    def webhook_url(self, user_id: int = 1) -> str:
        """``{url}rest/{user_id}/{secret}/``: the base URL of the user's webhook."""
        return f"{self.url}rest/{user_id}/{self.directory.user(user_id).secret}/"

    def target(self, user_id: int = 1, token: str | None = None, timeout: float = 10.0) -> Target:
        """A Target for an adapter: this portal's webhook, address, CA bundle and timeout."""
        return Target(
            base_url=self.webhook_url(user_id),
            portal_url=self.url,
            user_id=user_id,
            secret=self.directory.user(user_id).secret,
            auth_token=token,
            ca_bundle=self.ca_bundle,
            timeout=timeout,
        )

    # --- who may call -----------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        secret: str,
        admin: bool = True,
        extranet: bool = False,
        scopes: Iterable[str] = ("crm",),
        *,
        login: str | None = None,
    ) -> None:
        """Add (or replace) a user and its webhook secret; ``login`` also works in the path."""
        self.directory.add_user(
            user_id, secret, admin=admin, extranet=extranet, scopes=scopes, login=login
        )

    def add_token(
        self,
        token: str,
        user_id: int,
        expires_in: float = 3600,
        scopes: Iterable[str] = ("crm",),
        *,
        app: str = "app",
    ) -> None:
        """Add an OAuth access token of ``user_id``; ``expires_in <= 0`` makes it expired."""
        self.directory.user(user_id)
        self.directory.add_token(token, user_id, expires_in=expires_in, scopes=scopes, app=app)

    # --- test controls ----------------------------------------------------------------------

    @contextmanager
    def scripted(self, script: Script) -> Iterator[Script]:
        """Answer every /rest/ request from ``script`` until the block ends (then release
        stalled requests). WEBHOOK_SECRET in scripted headers stands for user 1's secret
        unless the script substitutes it already."""
        script.substitutions.setdefault(SECRET_PLACEHOLDER, self.directory.user(1).secret)
        with self._state.script_lock:
            if self._state.script is not None:
                raise RuntimeError("the portal already serves a script")
            self._state.script = script
        try:
            yield script
        finally:
            script.closed.set()
            with self._state.script_lock:
                self._state.script = None

    def inject(
        self, fault: Fault, method: str | None = None, times: int | None = 1, *, after: int = 0
    ) -> None:
        """Apply ``fault`` to the next ``times`` requests (of ``method``; None: any request),
        after letting ``after`` of them through untouched."""
        self._state.faults.add(fault, method, times, after)

    def mark_in_use(self, code: str, in_use: bool = True) -> None:
        """An open activity shows the badge: delete answers ENTITY_WITH_BADGE_EXISTS."""
        self.store.mark_in_use(code, in_use)

    @property
    def badges(self) -> list[dict[str, Any]]:
        """The stored badges as the portal serialises them."""
        return self.store.badges()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in both modes, oldest first."""
        return self._state.log.snapshot()

    @property
    def request_count(self) -> int:
        """Requests received since the start (or the last reset), kept in the log or not."""
        return self._state.log.received

    def requests_since(self, count: int) -> list[RecordedRequest]:
        """The logged requests received after the first ``count`` (see request_count)."""
        return self._state.log.since(count)

    @property
    def log_usage(self) -> dict[str, int]:
        """What the bounded request log holds and what it let go: entries, body bytes kept,
        body bytes not kept, entries evicted, requests received."""
        log = self._state.log
        return {
            "entries": len(log.snapshot()),
            "kept_bytes": log.kept_bytes,
            "unkept_bytes": log.unkept_bytes,
            "evicted": log.evicted,
            "received": log.received,
        }

    def reset(self) -> None:
        """Clear the badges, faults, limits and request log (users and tokens stay)."""
        self.store.clear()
        self._state.faults.clear()
        self._state.log.clear()
        if self._state.bucket is not None:
            self._state.bucket.reset()
        if self._limiter is not None:
            self._limiter.reset()
