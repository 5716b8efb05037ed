"""``--mode live``: the client under test calls the real portal through the live gateway.

Like portal mode, this is real HTTP on 127.0.0.1, so it reaches any client in any language;
the gateway forwards to the portal within the budget and keeps every exchange.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.api import Target
from conformance.case import Case
from conformance.live.cases import WRONG_CREDENTIALS, WRONG_SECRET, WRONG_TOKEN
from conformance.live.gateway import Gateway
from conformance.transports import RecordedRequest, Script

#: Target.secret of an OAuth-only run: it has no webhook, and this text is in no URL.
NO_WEBHOOK = "no-webhook-secret"


class LiveTransport:
    """The gateway's address for the client; the gateway's log for the request-side checks."""

    name = "live"

    def __init__(
        self, gateway: Gateway, *, ca_bundle: str | None = None, timeout: float = 10.0
    ) -> None:
        self.gateway = gateway
        self.ca_bundle = ca_bundle
        self.timeout = timeout

    def target_for(self, case: Case, secret: str, token: str) -> Target:
        """A Target on the gateway with the portal's credentials (the planted ones are unused:
        live secrets are real, and redacted by value)."""
        portal = self.gateway.portal
        base = self.gateway.public_url
        wrong = WRONG_CREDENTIALS.get(case.id)
        if case.auth == "oauth":
            return Target(
                base_url=f"{base}rest/",
                portal_url=base,
                user_id=portal.user_id,
                secret=portal.secret or NO_WEBHOOK,
                auth_token=WRONG_TOKEN if wrong else portal.auth_token,
                ca_bundle=self.ca_bundle,
                timeout=self.timeout,
            )
        hook = WRONG_SECRET if wrong else (portal.secret or NO_WEBHOOK)
        return Target(
            base_url=f"{base}rest/{portal.user_id}/{hook}/",
            portal_url=base,
            user_id=portal.user_id,
            secret=hook,
            ca_bundle=self.ca_bundle,
            timeout=self.timeout,
        )

    @contextmanager
    def serve(self, script: Script) -> Iterator[None]:
        try:
            with self.gateway.tagged(script.case.id):
                yield
        finally:
            script.closed.set()

    @contextmanager
    def step(self, script: Script, index: int) -> Iterator[None]:
        script.begin_step(index)
        seen = self.gateway.mark()
        try:
            with self.gateway.tagged(script.case.id, index):
                yield
        finally:
            for exchange in self.gateway.since(seen):
                if exchange.tag != script.case.id or exchange.absorbed:
                    continue  # another case's, or a throttled attempt the client never saw
                script.requests.append(
                    RecordedRequest(
                        exchange.http_method,
                        exchange.client_url,
                        exchange.request_headers,
                        exchange.request_body,
                        exchange.at,
                        exchange.wall,
                        index,
                    )
                )
