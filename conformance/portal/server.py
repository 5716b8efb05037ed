"""FakePortal: the portal application served by werkzeug's threaded server on 127.0.0.1,
over HTTP or TLS (a throwaway CA from trustme), quiet, and never answering with a traceback."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from conformance.api import Target
from conformance.portal.app import AnswerHook, PortalApp, PortalState
from conformance.portal.auth import Directory, random_secret
from conformance.portal.envelope import DropConnection
from conformance.portal.faults import Fault
from conformance.portal.limits import LeakyBucket, OperatingLimiter
from conformance.portal.rest import RestLayer
from conformance.portal.store import BadgeStore
from conformance.transports import SECRET_PLACEHOLDER, RecordedRequest, Script
from conformance.wire import php_json

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

#: The only interface the portal listens on.
LOOPBACK = "127.0.0.1"
#: The same server under another name: the portal's "new address" for redirects.
MOVED_NAME = "localhost"


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without request logs, with JSON for requests http.server rejects
    itself, a TLS handshake off the accept loop, and connection resets on request."""

    #: Seconds a client may stay silent while sending its request.
    timeout = 30.0
    _drop = False

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            # The listening socket does not handshake on accept, so one slow or plain-text
            # client cannot hold up the accept loop; the handshake happens here, per thread.
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except DropConnection:
            self._drop = True
            self.close_connection = True

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        if self._drop:
            try:
                # Linger 0: close() sends a reset, not an orderly end of stream.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            except OSError:
                pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        error = "INTERNAL_SERVER_ERROR" if code >= 500 else "INVALID_REQUEST"
        body = php_json({"error": error, "error_description": message or phrase}).encode("ascii")
        if self.request_version == "HTTP/0.9":
            # Answer garbage with a status line, as nginx would, not HTTP/0.9's bare body.
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        self.send_response(code, phrase)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are recorded by the portal, never logged (a webhook URL holds a secret)."""

    def log_error(self, format: str, *args: Any) -> None:
        """Quiet: client errors are not the portal's to report."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _QuietServer(ThreadedWSGIServer):
    daemon_threads = True

    def log(self, type: str, message: str, *args: Any) -> None:
        """Quiet: the application answers every error itself."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a failed handshake or a vanished client needs no traceback."""


class ServerThread:
    """Any WSGI application on werkzeug's threaded server at 127.0.0.1, in a daemon thread."""

    def __init__(
        self, app: WSGIApplication, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app = app
        self.requested_port = port
        self.ssl_context = ssl_context
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not running")
        return self._server.port

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        # Bind here rather than in werkzeug, which prints and exits when the port is taken.
        listener = socket.create_server((LOOPBACK, self.requested_port), backlog=128)
        try:
            server = _QuietServer(LOOPBACK, 0, self.app, _QuietHandler, fd=listener.fileno())
        finally:
            listener.close()
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            server.ssl_context = self.ssl_context
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"b24-portal-{server.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()


class _Certificates:
    """A throwaway CA and a certificate for 127.0.0.1 and localhost; the CA PEM on disk."""

    def __init__(self) -> None:
        import trustme

        authority = trustme.CA()
        leaf = authority.issue_cert(LOOPBACK, MOVED_NAME)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)
        directory = tempfile.mkdtemp(prefix="b24-portal-ca-")
        self.ca_bundle = os.path.join(directory, "ca.pem")
        authority.cert_pem.write_to_path(self.ca_bundle)
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)


class FakePortal:
    """A Bitrix24 portal on 127.0.0.1 for clients in any language (DESIGN.md section 4).

    Stateful by default (badge store, webhook and OAuth auth, limits, injected faults);
    inside ``scripted(script)`` every /rest/ request is answered from a case's Script.
    User 1 is an admin with a random webhook secret.
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
            bucket=LeakyBucket(*bucket) if bucket is not None else None,
            stall_limit=stall_limit,
            max_body=max_body,
            on_answer=on_answer,
        )
        self._limiter = limiter
        self._certificates = _Certificates() if tls else None
        self._server = ServerThread(
            PortalApp(self._state),
            port,
            self._certificates.context if self._certificates else None,
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
        return self

    def stop(self) -> None:
        # Release stalled requests first, so their threads end with the server.
        self._state.stopping.set()
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
        """The same server under another host name, ``http://localhost:PORT/``."""
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

    def inject(self, fault: Fault, method: str | None = None, times: int | None = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests (of ``method``; None: any request)."""
        self._state.faults.add(fault, method, times)

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

    def reset(self) -> None:
        """Clear the badges, faults, limits and request log (users and tokens stay)."""
        self.store.clear()
        self._state.faults.clear()
        self._state.log.clear()
        if self._state.bucket is not None:
            self._state.bucket.reset()
        if self._limiter is not None:
            self._limiter.reset()
