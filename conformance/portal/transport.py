"""``--mode portal``: the catalogue's cases over real HTTP, answered by the fake portal.

Scripted cases are served from their Script; stateful cases (``stateful: true``) by the
portal's badge store, reset before each case. One portal serves a whole run (per process).
"""

from __future__ import annotations

import atexit
import dataclasses
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from conformance.api import Target, TransportFailure
from conformance.case import Case
from conformance.checks import StepRun
from conformance.portal.app import MOVED_HOST
from conformance.portal.server import FakePortal
from conformance.transports import Script

#: The timeout adapters get in portal mode: long enough for loopback, short enough for stalls.
PORTAL_TIMEOUT: Final = 2.0

_SHARED: dict[bool, FakePortal] = {}
_LOCK = threading.Lock()


def shared_portal(tls: bool = False) -> FakePortal:
    """The process's portal for runs (started on first use, stopped at exit); no rate limits,
    so the conformance cases, not the limiter, decide every answer."""
    with _LOCK:
        if tls not in _SHARED:
            portal = FakePortal(
                tls=tls,
                bucket=None,
                operating_limit=None,
                stall_limit=30.0,
                moved_on_default_port=True,
            )
            portal.start()
            atexit.register(portal.stop)
            _SHARED[tls] = portal
        return _SHARED[tls]


class PortalTransport:
    """Real HTTP(S) on 127.0.0.1: reaches any client in any language."""

    name = "portal"

    def __init__(self, portal: FakePortal | None = None, *, tls: bool = False) -> None:
        self.portal = portal or shared_portal(tls)

    def target_for(self, case: Case, secret: str, token: str) -> Target:
        """A Target on the portal whose user 1 (admin) has the case's planted secret and token."""
        portal = self.portal
        portal.add_user(1, secret, admin=True, login="admin")
        oauth = case.auth == "oauth"
        if oauth:
            portal.add_token(token, 1)
        return Target(
            base_url=f"{portal.url}rest/1/{secret}/",
            portal_url=portal.url,
            user_id=1,
            secret=secret,
            auth_token=token if oauth else None,
            ca_bundle=portal.ca_bundle,
            timeout=PORTAL_TIMEOUT,
        )

    def unobservable(self, case: Case, runs: Sequence[StepRun]) -> str | None:
        """Why a failed case says nothing about the client, or None.

        A real portal's new address is on the scheme's default port (CONTRACT.md 4.1). Where
        this machine would not let the moved portal listen there, a client that rebuilds the
        address from the host name goes to the default port, finds nothing and reports a
        connection failure: that is the test portal's doing, not the client's.
        """
        if self.portal.moved_on_default_port:
            return None
        redirected = any(
            MOVED_HOST in value
            for step in case.steps
            for answer in step.responses
            for value in answer.headers.values()
        )
        lost = any(
            isinstance(run.outcome, TransportFailure) and run.outcome.kind == "connection"
            for run in runs
        )
        if not (redirected and lost):
            return None
        return (
            "not observable on this machine: the moved portal could not listen on the default "
            "port (443/80; root or net.ipv4.ip_unprivileged_port_start needed), and the client "
            "lost the connection after the redirect, as it would if it went to the default port"
        )

    @contextmanager
    def serve(self, script: Script) -> Iterator[None]:
        if script.case.stateful:
            self.portal.reset()
            try:
                yield
            finally:
                script.closed.set()
            return
        with self.portal.scripted(script):
            yield

    @contextmanager
    def step(self, script: Script, index: int) -> Iterator[None]:
        script.begin_step(index)
        if not script.case.stateful:
            yield
            return
        # The store answers: take the step's requests from the portal's own log.
        seen = self.portal.request_count
        try:
            yield
        finally:
            for request in self.portal.requests_since(seen):
                script.requests.append(dataclasses.replace(request, step=index))
