"""The live pre-flight tells portal problems apart before the first case (one line, exit 2),
and connection failures during a run are counted as such, never as the gateway's refusals."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from conformance.live.run import LiveRun, LiveSettings
from conformance.portal import FakePortal, Fault
from conformance.reference import factory
from tests.fixtures.live import cli, env, live_portal, webhook_env

LIST = "crm.activity.badge.list"


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _problem_line(output: str) -> str:
    lines = [line for line in output.splitlines() if "pre-flight:" in line]
    assert len(lines) == 1, output
    return lines[0]


def _html(portal: FakePortal) -> dict[str, str | None]:
    portal.inject(Fault.html(502), method=LIST)
    return webhook_env(portal)


def _redirect(portal: FakePortal) -> dict[str, str | None]:
    portal.inject(Fault.redirect(), method=LIST)
    return webhook_env(portal)


def _login_page(portal: FakePortal) -> dict[str, str | None]:
    portal.inject(Fault.html(200, "<html><body>Log in</body></html>"), method=LIST)
    return webhook_env(portal)


def _wrong_secret(portal: FakePortal) -> dict[str, str | None]:
    return env(B24_WEBHOOK_URL=f"{portal.url}rest/1/wrongsecret0123456/")


def _expired_token(portal: FakePortal) -> dict[str, str | None]:
    portal.add_token("expired-token-0123456789", 1, expires_in=0)
    return env(B24_PORTAL_URL=portal.url, B24_AUTH_TOKEN="expired-token-0123456789")


def _overloaded(portal: FakePortal) -> dict[str, str | None]:
    portal.inject(Fault.status(503, "OVERLOAD_LIMIT", "REST API is blocked"), method=LIST)
    return webhook_env(portal)


# (id, how to break the portal, what the one line says)
BROKEN = [
    ("html-proxy-page", _html, "not a Bitrix24 REST endpoint: a list answered HTTP 502 with"),
    (
        "redirect",
        _redirect,
        "not a Bitrix24 REST endpoint: a list answered HTTP 302, a redirect to localhost",
    ),
    ("login-page", _login_page, "not a Bitrix24 REST endpoint: a list answered HTTP 200 with"),
    ("wrong-secret", _wrong_secret, "credentials rejected: INVALID_CREDENTIALS (HTTP 401"),
    ("expired-token", _expired_token, "credentials rejected: expired_token (HTTP 401"),
    ("overloaded", _overloaded, "the portal refused a read-only list: OVERLOAD_LIMIT (HTTP 503"),
]


@pytest.mark.parametrize(
    ("breaks", "says"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN]
)
def test_a_broken_portal_is_one_line_and_exit_2_before_any_case(
    breaks: Callable[[FakePortal], dict[str, str | None]], says: str
) -> None:
    with live_portal() as portal:
        variables = breaks(portal)
        result = cli(["run", "--mode", "live", "--allow-writes"], variables)
        secret = portal.directory.user(1).secret
        reached = [r.url.rsplit("/", 1)[-1] for r in portal.requests]
    assert result.exit_code == 2, result.output
    assert says in _problem_line(result.output)
    assert secret not in result.output
    assert "wrongsecret0123456" not in result.output
    assert reached == [f"{LIST}.json"], "one read-only call, and no case ran"


def test_an_unreachable_portal_is_one_line_and_exit_2() -> None:
    port = _unused_port()
    result = cli(
        ["run", "--mode", "live"],
        env(B24_WEBHOOK_URL=f"http://127.0.0.1:{port}/rest/1/s3cr3tvalue99/"),
    )
    assert result.exit_code == 2, result.output
    assert "pre-flight: the portal is unreachable (the portal could not be reached" in (
        _problem_line(result.output)
    )
    assert "s3cr3tvalue99" not in result.output


def test_connection_failures_during_a_run_are_counted_as_such() -> None:
    with live_portal() as portal:
        run = LiveRun(LiveSettings(), env={"B24_WEBHOOK_URL": portal.webhook_url()})
        run.start()
        try:
            portal.inject(Fault.reset(), method="crm.activity.badge.get", times=None)
            outcome = run.run("live.get-unknown", factory).outcome
            summary = run.summary()
            lines = run.summary_lines()
        finally:
            run.close()
    assert outcome in ("failed", "errored")
    assert summary["requests"]["portal_unreachable"] >= 1
    assert summary["requests"]["refused_by_gateway"] == 0
    assert f"{summary['requests']['portal_unreachable']} failed to reach the portal" in lines[0]
    assert "0 refused by the gateway" in lines[0]
