"""The fake portal as a server: limits, injected faults, TLS, scripted cases, garbage, the CLI."""

from __future__ import annotations

import json
import logging
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from conformance.case import all_cases, case_by_id
from conformance.portal import FakePortal, Fault
from conformance.transports import SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER, Script
from conformance.validation import validate_response
from tests.fixtures.clock import FakeClock

LIST = "crm.activity.badge.list"
BADGE = {"code": "b24c-moved", "title": "Call Status", "value": "Missed", "type": "failure"}


def list_call(
    portal: FakePortal, user: int = 1, timeout: float = 5, **kw: Any
) -> requests.Response:
    return requests.post(f"{portal.webhook_url(user)}{LIST}.json", timeout=timeout, **kw)


# --- the leaky bucket ---------------------------------------------------------------------------


def test_fifty_one_quick_calls_trip_the_default_bucket() -> None:
    clock = FakeClock()
    with FakePortal(clock=clock) as portal:
        statuses = [list_call(portal).status_code for _ in range(51)]
        refused = list_call(portal)
        # The bucket drains 2 per second: half a second later one more call has a slot.
        clock.advance(0.5)
        drained = [list_call(portal).status_code for _ in range(2)]
    assert statuses == [200] * 50 + [503]
    assert drained == [200, 503]
    assert refused.status_code == 503
    assert refused.json() == {
        "error": "QUERY_LIMIT_EXCEEDED",
        "error_description": "Too many requests",
    }
    assert "Retry-After" not in refused.headers
    assert validate_response(LIST, refused.json(), status=503).valid


def test_a_client_paced_at_the_drain_rate_never_trips_the_bucket() -> None:
    # 16 per second: 1/16 s is exact in binary, so the fake clock adds up without rounding.
    drain = 16.0
    clock = FakeClock()
    with FakePortal(bucket=(3, drain), clock=clock) as portal:
        statuses = []
        for _ in range(30):
            clock.advance(1 / drain)
            statuses.append(list_call(portal).status_code)
        assert statuses == [200] * 30
        burst = [list_call(portal).status_code for _ in range(10)]
    # The paced calls left one slot taken: two more fit in the burst of 3, then none.
    assert burst == [200, 200] + [503] * 8


def test_the_bucket_is_shared_by_every_caller() -> None:
    with FakePortal(bucket=(4, 0.1)) as portal:
        portal.add_user(2, "secret-two", admin=False)
        portal.add_token("tok", 1)
        calls = [
            lambda: list_call(portal),
            lambda: list_call(portal, user=2),
            lambda: requests.post(
                portal.url + "rest/crm.activity.badge.list", data={"auth": "tok"}, timeout=5
            ),
            lambda: requests.get(portal.url + "rest/1/wrong/crm.activity.badge.list", timeout=5),
            lambda: list_call(portal, user=2),
        ]
        statuses = [call().status_code for call in calls]
    assert statuses == [200, 200, 200, 401, 503]


# --- the operating-time limit -----------------------------------------------------------------


def test_operating_time_is_limited_per_credential_and_method() -> None:
    with FakePortal(
        bucket=None, operating_limit=3.0, operating_cost=1.0, operating_window=1.0
    ) as portal:
        portal.add_token("tok", 1)
        bodies = [list_call(portal).json() for _ in range(3)]
        assert [b["time"]["operating"] for b in bodies] == [1.0, 2.0, 3.0]
        reset_at = bodies[0]["time"]["operating_reset_at"]
        assert isinstance(reset_at, int)
        blocked = list_call(portal)
        assert blocked.status_code == 429
        assert blocked.json() == {
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "Method is blocked due to operation time limit.",
        }
        assert validate_response(LIST, blocked.json(), status=429).valid
        # Another method, and another credential, have budgets of their own.
        other_method = requests.post(
            portal.webhook_url() + "crm.activity.badge.get", data={"code": "x"}, timeout=5
        )
        assert other_method.json()["error"] == "NOT_FOUND"
        other_credential = requests.post(
            portal.url + "rest/crm.activity.badge.list", data={"auth": "tok"}, timeout=5
        )
        assert other_credential.status_code == 200
        # In a batch the command is refused, the batch itself is not.
        inside = requests.post(portal.webhook_url() + "batch", json={"cmd": {"a": LIST}}, timeout=5)
        assert inside.status_code == 200
        assert inside.json()["result"]["result_error"] == {"a": blocked.json()}
        time.sleep(max(0.0, reset_at - time.time()) + 0.05)
        assert list_call(portal).status_code == 200


def test_operating_counters_are_absent_when_the_limiter_is_off() -> None:
    with FakePortal(operating_limit=None) as portal:
        timing = list_call(portal).json()["time"]
    assert "operating" not in timing
    assert "operating_reset_at" not in timing


# --- injected faults ----------------------------------------------------------------------------

# (id, fault, status, content type, body)
FAULTS = [
    (
        "html-502",
        Fault.html(502),
        502,
        "text/html; charset=utf-8",
        b"<center><h1>502 Bad Gateway</h1></center>",
    ),
    (
        "html-504",
        Fault.html(504),
        504,
        "text/html; charset=utf-8",
        b"<title>504 Gateway Time-out</title>",
    ),
    (
        "html-403-waf",
        Fault.html(403, page="<p>blocked</p>"),
        403,
        "text/html; charset=utf-8",
        b"<p>blocked</p>",
    ),
    ("empty-200", Fault.empty(), 200, "text/html; charset=utf-8", b""),
    ("empty-502", Fault.empty(502), 502, "text/html; charset=utf-8", b""),
    (
        "status-500",
        Fault.status(500),
        500,
        "application/json; charset=utf-8",
        b'{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}',
    ),
    (
        "status-503",
        Fault.status(503),
        503,
        "application/json; charset=utf-8",
        b'{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}',
    ),
    (
        "status-overload",
        Fault.status(503, "OVERLOAD_LIMIT", "REST API is blocked due to overload."),
        503,
        "application/json; charset=utf-8",
        b'"error":"OVERLOAD_LIMIT"',
    ),
]


@pytest.mark.parametrize(
    ("fault", "status", "content_type", "body"), [r[1:] for r in FAULTS], ids=[r[0] for r in FAULTS]
)
def test_faults_answer_once_then_the_portal_is_itself_again(
    fault: Fault, status: int, content_type: str, body: bytes
) -> None:
    with FakePortal() as portal:
        portal.inject(fault)
        faulted = list_call(portal)
        assert (faulted.status_code, faulted.headers["Content-Type"]) == (status, content_type)
        assert body in faulted.content if body else faulted.content == b""
        assert list_call(portal).status_code == 200


def test_faults_match_the_method_and_count_down() -> None:
    with FakePortal() as portal:
        portal.inject(Fault.status(500), method="CRM.ACTIVITY.BADGE.GET.json", times=2)
        assert list_call(portal).status_code == 200
        get = portal.webhook_url() + "crm.activity.badge.get"
        assert [requests.get(get, timeout=5).status_code for _ in range(3)] == [500, 500, 400]
        portal.inject(Fault.html(502), times=None)
        assert [list_call(portal).status_code for _ in range(3)] == [502] * 3
        portal.reset()
        assert list_call(portal).status_code == 200


def test_a_reset_drops_the_connection_without_an_answer() -> None:
    with FakePortal() as portal:
        portal.inject(Fault.reset())
        with pytest.raises(requests.ConnectionError):
            list_call(portal)
        assert list_call(portal).status_code == 200


def test_a_stalled_add_still_happens_after_the_client_gave_up() -> None:
    with FakePortal() as portal:
        portal.inject(Fault.stall(0.6), method="crm.activity.badge.add")
        url = portal.webhook_url() + "crm.activity.badge.add.json"
        with pytest.raises(requests.ReadTimeout):
            requests.post(url, json=BADGE, timeout=0.2)
        # Wait for the stalled add itself to finish (not a fixed sleep that races it): the
        # bound only keeps a broken portal from hanging the test.
        _wait_until(lambda: portal.badges != [], within=10.0)
        # The retry meets the badge the first attempt created (CONTRACT.md 4).
        retry = requests.post(url, json=BADGE, timeout=5).json()
        assert retry["error"] == "BX_INVALID_VALUE"
        assert portal.badges == [BADGE]


def _wait_until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"the condition did not hold within {within}s"
        time.sleep(0.01)


def test_stop_releases_stalled_requests() -> None:
    portal = FakePortal().start()
    portal.inject(Fault.stall(30))
    with pytest.raises(requests.ReadTimeout):
        list_call(portal, timeout=0.2)
    started = time.monotonic()
    portal.stop()
    assert time.monotonic() - started < 2


def test_a_redirect_points_at_the_moved_address_which_serves_the_same_portal() -> None:
    with FakePortal() as portal:
        portal.inject(Fault.redirect(), method="crm.activity.badge.add")
        url = portal.webhook_url() + "crm.activity.badge.add.json?x=1"
        moved = requests.post(url, json=BADGE, allow_redirects=False, timeout=5)
        assert moved.status_code == 302
        location = moved.headers["Location"]
        assert location == portal.moved_url + url.removeprefix(portal.url)
        # Nothing was added at the old address; re-POSTing the body to Location adds it.
        assert portal.badges == []
        assert requests.post(location, json=BADGE, timeout=5).json()["result"] == {"badge": BADGE}
        assert portal.requests[-1].url.startswith(portal.moved_url)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Fault.status(418), "pass error= and description="),
        (lambda: Fault.stall(-1), "seconds must be >= 0"),
        (lambda: Fault.redirect(status=200), "expected a 3xx status"),
        (lambda: Fault.html(700), "expected an HTTP status from 100 to 599"),
        (lambda: FakePortal().inject(Fault.reset(), times=0), "times=0"),
    ],
)
def test_fault_usage_errors_name_the_value(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_verifies_against_the_portals_ca_bundle() -> None:
    with FakePortal(tls=True, require_https=True) as portal:
        assert portal.url.startswith("https://127.0.0.1:")
        assert portal.ca_bundle is not None
        target = portal.target()
        assert (target.base_url, target.portal_url, target.ca_bundle) == (
            portal.webhook_url(),
            portal.url,
            portal.ca_bundle,
        )
        assert list_call(portal, verify=portal.ca_bundle).json()["total"] == 0
        # The certificate names the moved address too.
        moved = portal.moved_url + portal.webhook_url().removeprefix(portal.url) + LIST
        assert requests.post(moved, verify=portal.ca_bundle, timeout=5).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            list_call(portal)
        # A client speaking plain HTTP to the TLS port gets no answer, and holds nobody up.
        with socket.create_connection(("127.0.0.1", portal.port), timeout=5) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert plain.recv(100) == b""
        with socket.create_connection(("127.0.0.1", portal.port), timeout=5):
            assert list_call(portal, verify=portal.ca_bundle).status_code == 200
    assert FakePortal().ca_bundle is None


# --- scripted mode ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared() -> Iterator[FakePortal]:
    with FakePortal(stall_limit=5.0) as portal:
        portal.add_token("tok-scripted", 1)
        yield portal


def _served_cases() -> list[Any]:
    return [
        case
        for case in all_cases()
        if "portal" in case.modes
        # Stateful cases have no script: the store answers them (tests/test_portal.py).
        and not getattr(case, "stateful", False)
        and not any(r.fault for s in case.steps for r in s.responses)
    ]


@pytest.mark.parametrize("case", _served_cases(), ids=lambda c: c.id)
def test_scripted_cases_are_served_over_http(shared: FakePortal, case: Any) -> None:
    shared.reset()
    secret = shared.directory.user(1).secret
    script = Script(
        case, substitutions={SECRET_PLACEHOLDER: secret, TOKEN_PLACEHOLDER: "tok-scripted"}
    )
    with shared.scripted(script):
        for index, step in enumerate(case.steps):
            script.begin_step(index)
            if case.auth == "oauth":
                url, headers = (
                    f"{shared.url}rest/{step.method}.json",
                    {"Authorization": "Bearer tok-scripted"},
                )
            else:
                url, headers = f"{shared.webhook_url()}{step.method}.json", {}
            for planned in step.responses:
                response = requests.post(
                    url, json=dict(step.params), headers=headers, allow_redirects=False, timeout=5
                )
                assert response.status_code == planned.status
                if planned.has_body:
                    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
                    assert response.json() == script.served[-1][2]
                else:
                    assert response.content == (planned.raw or "").encode("utf-8")
                if "Location" in planned.headers:
                    assert response.headers["Location"].startswith(shared.moved_url)
                    assert "WEBHOOK_SECRET" not in response.headers["Location"]
    recorded = script.requests
    assert len(recorded) == sum(len(s.responses) for s in case.steps)
    assert [json.loads(r.body) for r in recorded] == [
        dict(s.params) for s in case.steps for _ in s.responses
    ]
    assert [r.url for r in shared.requests] == [r.url for r in recorded]
    # Scripted answers never touch the store.
    assert shared.badges == []


def test_a_scripted_timeout_holds_the_request_until_the_case_ends(shared: FakePortal) -> None:
    script = Script(case_by_id("transport.timeout"))
    script.begin_step(0)
    with shared.scripted(script):
        with pytest.raises(requests.ReadTimeout):
            list_call(shared, timeout=0.3)
        assert not script.closed.is_set()
    assert script.closed.is_set()
    assert len(script.requests) == 1


def test_a_scripted_reset_drops_the_connection(shared: FakePortal) -> None:
    script = Script(case_by_id("transport.connection-reset"))
    script.begin_step(0)
    with shared.scripted(script), pytest.raises(requests.ConnectionError):
        list_call(shared)
    # Outside the block the portal is stateful again.
    assert list_call(shared).json()["result"] == {"badges": []}


def test_only_one_script_at_a_time(shared: FakePortal) -> None:
    first = Script(case_by_id("get.not-found"))
    with (
        shared.scripted(first),
        pytest.raises(RuntimeError, match="already serves a script"),
        shared.scripted(Script(first.case)),
    ):
        pass


# --- whatever arrives, the answer is portal-shaped ------------------------------------------------


def exchange(port: int, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(payload)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def _post(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


# (id, the request bytes ({hook} is user 1's webhook path), status)
GARBAGE = [
    ("binary-request-line", b"\x00\xff\xfe garbage\r\n\r\n", 400),
    ("no-version", b"GET\r\n\r\n", 400),
    ("bad-version", b"GET / HTTP/9.9\r\n\r\n", 505),
    ("odd-verb", b"BREW {hook}crm.activity.badge.list HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (
        "verb-with-form-body",
        b"PURGE {hook}crm.activity.badge.get HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\ncode=x",
        400,
    ),
    (
        "bad-utf8-json",
        b'POST {hook}crm.activity.badge.get HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{"\xff": 1}',
        400,
    ),
    ("bad-utf8-path", b"GET /rest/1/\xff\xfe/crm.activity.badge.list HTTP/1.1\r\n\r\n", 401),
    ("bad-escapes", b"GET /rest/%ff%zz/%00/x HTTP/1.1\r\nHost: [\r\n\r\n", 404),
    (
        "broken-multipart",
        b"POST {hook}crm.activity.badge.get HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 9\r\n\r\n--zz\r\nxx\r\n",
        400,
    ),
    (
        "chunked-json",
        b'POST {hook}crm.activity.badge.get HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"co\r\n0\r\n\r\n',
        400,
    ),
    ("long-target", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ("many-headers", b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", 431),
    (
        "absolute-target",
        b"GET http://elsewhere.example{hook}crm.activity.badge.list HTTP/1.1\r\n\r\n",
        200,
    ),
]


@pytest.mark.parametrize(
    ("payload", "status"), [r[1:] for r in GARBAGE], ids=[r[0] for r in GARBAGE]
)
def test_garbage_gets_a_portal_shaped_answer(
    shared: FakePortal, payload: bytes, status: int
) -> None:
    shared.reset()
    hook = shared.webhook_url().removeprefix(shared.url.rstrip("/")).encode()
    got, headers, body = exchange(shared.port, payload.replace(b"{hook}", hook))
    assert got == status, body
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    envelope = json.loads(body)
    assert ("result" in envelope) != ("error" in envelope)
    assert list_call(shared).status_code == 200


def test_a_body_past_the_limit_is_dropped_like_php_does() -> None:
    with FakePortal(max_body=1024) as portal:
        padding = "x" * 4096
        huge = json.dumps({"code": "b24c-moved", "padding": padding}).encode()
        status, _headers, body = exchange(
            portal.port,
            _post(
                portal.webhook_url().removeprefix(portal.url.rstrip("/"))
                + "crm.activity.badge.get",
                huge,
            ),
        )
        assert (status, json.loads(body)["error"]) == (400, 100)
        assert portal.requests[-1].body == b""


def test_an_unexpected_exception_is_a_json_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("the database went away")

    with FakePortal() as portal:
        monkeypatch.setattr(portal.store, "badges", broken)
        response = list_call(portal)
        assert response.status_code == 500
        assert response.json() == {
            "error": "INTERNAL_SERVER_ERROR",
            "error_description": "Internal server error",
        }
        assert validate_response(LIST, response.json(), status=500).valid


def test_the_portal_is_quiet_and_logs_no_secret(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakePortal() as portal:
        secret = portal.directory.user(1).secret
        list_call(portal)
        requests.get(portal.url + "rest/1/wrong/x", timeout=5)
        portal.inject(Fault.reset())
        with pytest.raises(requests.ConnectionError):
            list_call(portal)
        exchange(portal.port, b"\x00garbage\r\n\r\n")
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
    # urllib3 is the client here; the server side (werkzeug, the portal) logs nothing at all.
    server_side = [r for r in caplog.records if not r.name.startswith("urllib3")]
    assert [r.getMessage() for r in server_side] == []
    assert secret not in repr(portal)


# --- the command line ---------------------------------------------------------------------------


def _start_command(*options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.portal.command", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    assert ready, "the portal command printed nothing within 30 s"
    return process.stdout.readline().strip()


@pytest.mark.parametrize(
    ("options", "stop_with"),
    [
        (("--secret", "cli-secret", "--user-id", "7"), signal.SIGINT),
        (("--tls", "--no-bucket", "--operating-limit", "10"), signal.SIGTERM),
    ],
    ids=["http-sigint", "tls-sigterm"],
)
def test_the_portal_command_serves_until_signalled(
    options: tuple[str, ...], stop_with: signal.Signals
) -> None:
    process = _start_command(*options)
    try:
        webhook = _first_line(process)
        verify: str | bool = True
        if "--tls" in options:
            assert webhook.startswith("https://127.0.0.1:")
            assert process.stdout is not None
            verify = process.stdout.readline().strip()
        else:
            assert webhook.startswith("http://127.0.0.1:")
            assert webhook.endswith("/rest/7/cli-secret/")
        added = requests.post(
            webhook + "crm.activity.badge.add.json", json=BADGE, verify=verify, timeout=5
        )
        assert added.json()["result"] == {"badge": BADGE}
        process.send_signal(stop_with)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out == ""
    assert err == f"serving {webhook.split('rest/')[0]} until interrupted: Ctrl-C to stop\n"


def test_the_portal_command_names_a_busy_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        process = _start_command("--port", str(port))
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"'--port': cannot listen on 127.0.0.1:{port}" in err
