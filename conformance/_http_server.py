"""The HTTP plumbing the fake portal and the live gateway share: werkzeug's threaded server on
127.0.0.1 in a daemon thread, quiet, with a throwaway TLS CA (trustme), and the raw request
reading both applications need (the client's target as ASCII, the body within a limit)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import weakref
from contextlib import suppress
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import get_input_stream

from conformance.wire import php_json

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: The only interface the servers listen on.
LOOPBACK: Final = "127.0.0.1"
#: The same server under another name (the fake portal's "new address" for redirects).
LOCALHOST: Final = "localhost"

#: Connections a server serves at once; past it a new one gets 503 and is closed.
MAX_CONNECTIONS: Final = 256

#: Characters kept as they are when a raw request target is made ASCII again.
URL_SAFE: Final = "!#$%&'()*+,/:;=?@[]~"


class DropConnection(BaseException):
    """Raised by an application to close the connection without any HTTP answer.

    A BaseException so that werkzeug's own ``except Exception`` (which would send a 500)
    lets it through to the request handler, which resets the socket.
    """


def ascii_target(environ: WSGIEnvironment) -> str:
    """The request target exactly as the client sent it, non-ASCII bytes percent-escaped."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        query = environ.get("QUERY_STRING", "")
        raw = environ.get("PATH_INFO", "/") + (f"?{query}" if query else "")
    # werkzeug hands the request target over as UTF-8 bytes of the latin-1 text http.server
    # decoded; undo both steps to get the client's bytes, then percent-escape what is not ASCII.
    try:
        octets = str(raw).encode("latin-1").decode("utf-8").encode("latin-1")
    except UnicodeError:
        octets = str(raw).encode("utf-8", "surrogateescape")
    target = quote(octets, safe=URL_SAFE)
    if target.lower().startswith(("http://", "https://")):
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target if target.startswith("/") else "/" + target


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The request body, or b"" when it is larger than ``limit`` (PHP past post_max_size).

    Raises ClientDisconnected when the client sends less than its Content-Length.
    """
    length = environ.get("CONTENT_LENGTH", "")
    if not environ.get("wsgi.input_terminated") and length.isdigit():
        # The common case, read in one call: Content-Length bytes from the connection.
        size = int(length)
        if size > limit:
            # Like PHP past post_max_size: the method sees no body at all (werkzeug drains
            # the rest after the answer).
            return b""
        body: bytes = environ["wsgi.input"].read(size) if size else b""
        if len(body) < size:
            raise ClientDisconnected()
        return body
    stream = get_input_stream(environ, safe_fallback=True)
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if total > limit:
            return b""
        chunks.append(chunk)
    return b"".join(chunks)


def header_value(value: str) -> str:
    """A header value http.server can write (it writes latin-1 and fails on anything else)."""
    if value.isprintable() and (value.isascii() or all(ord(c) < 256 for c in value)):
        return value
    return quote(value, safe=URL_SAFE + " ")


def error_body(code: int, message: str | None, error: str | None = None) -> bytes:
    """A portal-shaped JSON error envelope for a request the HTTP layer itself rejects."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Error"
    if error is None:
        error = "INTERNAL_SERVER_ERROR" if code >= 500 else "INVALID_REQUEST"
    return php_json({"error": error, "error_description": message or phrase}).encode("ascii")


def too_many_connections(cap: int) -> bytes:
    """The whole HTTP answer to a connection past the cap: a 503 the client may retry later
    (QUERY_LIMIT_EXCEEDED, the portal's own retryable 503, CONTRACT.md section 4)."""
    body = error_body(
        503,
        f"Too many connections: this server serves at most {cap} at once; retry later",
        "QUERY_LIMIT_EXCEEDED",
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without request logs, with JSON for requests http.server rejects
    itself, a TLS handshake off the accept loop, and connection resets on request."""

    #: Seconds a client may stay silent while sending its request.
    timeout = 30.0
    _drop = False
    _answered = False

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

    def handle_one_request(self) -> None:
        super().handle_one_request()
        if not self.raw_requestline and not self._answered:
            # A connection that closed without sending anything gets an answer too (nginx
            # answers 400), so that no request goes without a status line.
            self.command, self.request_version, self.requestline = "", "HTTP/1.0", ""
            self.send_error(400, "Empty request")
        self._answered = True

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if not parsed and not self.requestline.strip():
            # http.server drops a blank request line without a word.
            self.send_error(400, "Empty request line")
            return False
        if parsed and self.request_version == "HTTP/0.9":
            # An HTTP/0.9 request would get a bare body without a status line.
            self.send_error(400, "HTTP/0.9 requests are not served")
            return False
        return parsed

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
        body = error_body(code, message)
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
        """Requests are recorded by the applications, never logged (a webhook URL holds a
        secret)."""

    def log_error(self, format: str, *args: Any) -> None:
        """Quiet: client errors are not the server's to report."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class QuietServer(ThreadedWSGIServer):
    """werkzeug's threaded server, quiet, with a cap on the connections served at once."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS
    _active = 0
    _active_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            admitted = self._active < self.max_connections
            if admitted:
                self._active += 1
        if admitted:
            super().process_request(request, client_address)
            return
        # Answered here, on the accept loop, without a thread: that is the point of the cap.
        # A TLS client would need a handshake first, which could stall the loop: it is closed.
        if not isinstance(request, ssl.SSLSocket):
            with suppress(OSError):
                request.settimeout(1.0)
                request.sendall(too_many_connections(self.max_connections))
                # Read what already arrived: closing on unread data would send a reset that
                # can reach the client before the answer does.
                request.setblocking(False)
                request.recv(65536)
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active -= 1

    def log(self, type: str, message: str, *args: Any) -> None:
        """Quiet: the application answers every error itself."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a failed handshake or a vanished client needs no traceback."""


class ServerThread:
    """Any WSGI application on werkzeug's threaded server at 127.0.0.1, in a daemon thread."""

    def __init__(
        self,
        app: WSGIApplication,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        *,
        name: str = "b24-server",
        max_connections: int = MAX_CONNECTIONS,
        host: str = LOOPBACK,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections={max_connections}: expected at least 1")
        self.app = app
        self.max_connections = max_connections
        self.requested_port = port
        self.host = host
        self.ssl_context = ssl_context
        self.name = name
        self._server: QuietServer | None = None
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
        listener = socket.create_server((self.host, self.requested_port), backlog=128)
        try:
            server = QuietServer(self.host, 0, self.app, self.handler(), fd=listener.fileno())
        finally:
            listener.close()
        server.max_connections = self.max_connections
        server._active_lock = threading.Lock()
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
            server.ssl_context = self.ssl_context
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.name}-{server.port}",
            daemon=True,
        )
        self._thread.start()

    def handler(self) -> type[QuietHandler]:
        """The request handler class; subclasses may return a configured one."""
        return QuietHandler

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()


class Certificates:
    """A throwaway CA and a certificate for 127.0.0.1, localhost and ``extra_hosts``; the CA
    PEM on disk."""

    def __init__(self, extra_hosts: tuple[str, ...] = ()) -> None:
        import trustme

        authority = trustme.CA()
        leaf = authority.issue_cert(LOOPBACK, LOCALHOST, *extra_hosts)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)
        directory = tempfile.mkdtemp(prefix="b24-portal-ca-")
        self.ca_bundle = os.path.join(directory, "ca.pem")
        authority.cert_pem.write_to_path(self.ca_bundle)
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True)
