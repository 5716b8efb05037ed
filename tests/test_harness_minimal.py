"""harnesses/python-minimal driven through the cmd: adapter against a tiny portal on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from conformance.api import ApiError, Outcome, Success, Target, TransportFailure
from conformance.harness import HarnessFactory, HarnessPool, load_harness_factory
from tests.fixtures.common import ROOT

HARNESS = ROOT / "harnesses" / "python-minimal" / "harness.py"
SECRET = "m1n1mal-5ecret-7"
TOKEN = "tok-m1n1mal-0042"
TIME = {
    "start": 1774257804,
    "finish": 1774257804.284162,
    "duration": 0.2841620445251465,
    "processing": 0,
    "date_start": "2026-03-23T12:23:24+03:00",
    "date_finish": "2026-03-23T12:23:24+03:00",
}
JSON = {"Content-Type": "application/json; charset=utf-8"}
HOSTILE_CODE = "a&b+c#d%e[f]?g ü"

# (status, headers, body); a body that is not bytes is sent as JSON.
Answer = tuple[int, dict[str, str], Any]


@dataclass
class Portal:
    """Answers each path with its scripted answers in turn (the last one repeats)."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            {
                "path": request.path,
                "method": request.method,
                "headers": dict(request.headers),
                "body": request.get_data(),
            }
        )
        queue = self.answers.get(request.path) or [(404, JSON, {"error": "ERROR_METHOD_NOT_FOUND"})]
        status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if status == 0:  # stall past the client's timeout
            time.sleep(body)
            status, headers, body = 200, JSON, {"result": "late", "time": TIME}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return Response(data, status=status, headers=headers)(environ, start_response)

    def target(self, *, oauth: bool = False, timeout: float = 2.0) -> Target:
        return Target(
            base_url=f"{self.url}rest/1/{SECRET}/",
            portal_url=self.url,
            user_id=1,
            secret=SECRET,
            auth_token=TOKEN if oauth else None,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def portal_server() -> Iterator[Portal]:
    """One server for the module; each test clears it (pytest-httpserver style)."""
    app = Portal()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.url = f"http://127.0.0.1:{server.server_port}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def portal(portal_server: Portal) -> Portal:
    portal_server.answers.clear()
    portal_server.seen.clear()
    return portal_server


@pytest.fixture
def minimal(monkeypatch: pytest.MonkeyPatch) -> Iterator[HarnessFactory]:
    """The python-minimal harness, validating every message, in a private pool."""
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    pool = HarnessPool()
    yield load_harness_factory((sys.executable, str(HARNESS)), validate_protocol=True, pool=pool)
    pool.close()


WEBHOOK = f"/rest/1/{SECRET}/"
LIST = f"{WEBHOOK}crm.activity.badge.list.json"
GET = f"{WEBHOOK}crm.activity.badge.get.json"
BADGE = {
    "code": HOSTILE_CODE,
    "title": {"de": "Achtung", "en": "Alarm"},
    "value": "V",
    "type": "failure",
}

ANSWERS: list[tuple[str, str, list[Answer], Outcome, int]] = [
    (
        "success keeps result, time and total",
        LIST,
        [(200, JSON, {"result": {"badges": [BADGE]}, "total": 1, "time": TIME})],
        Success({"badges": [BADGE]}, TIME, 1),
        1,
    ),
    (
        "an error keeps its code and status",
        GET,
        [(400, JSON, {"error": "NOT_FOUND", "error_description": "Badge not found"})],
        ApiError("NOT_FOUND", "Badge not found", 400),
        1,
    ),
    (
        "a numeric code stays a number",
        GET,
        [
            (
                400,
                JSON,
                {"error": 100, "error_description": "Could not find value for parameter {code}"},
            )
        ],
        ApiError(100, "Could not find value for parameter {code}", 400),
        1,
    ),
    (
        "an error envelope with HTTP 200 is an error",
        GET,
        [(200, JSON, {"error": "", "error_description": ""})],
        ApiError("", "", 200),
        1,
    ),
    (
        "an HTML page is non-json with its status",
        GET,
        [(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")],
        TransportFailure("non-json", "HTTP 502, text/html, not JSON", 502),
        1,
    ),
    (
        "an empty body is empty-body",
        GET,
        [(200, JSON, b"")],
        TransportFailure("empty-body", "HTTP 200 with an empty body", 200),
        1,
    ),
    (
        "JSON without result or error is bad-envelope",
        GET,
        [(200, JSON, [1, 2])],
        TransportFailure("bad-envelope", "HTTP 200: JSON without result or error", 200),
        1,
    ),
    (
        "QUERY_LIMIT_EXCEEDED is retried",
        GET,
        [
            (
                503,
                JSON,
                {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
            ),
            (200, JSON, {"result": {"badge": BADGE}, "time": TIME}),
        ],
        Success({"badge": BADGE}, TIME, None),
        2,
    ),
    (
        "OVERLOAD_LIMIT is not retried",
        GET,
        [(503, JSON, {"error": "OVERLOAD_LIMIT", "error_description": "blocked"})],
        ApiError("OVERLOAD_LIMIT", "blocked", 503),
        1,
    ),
    (
        "a redirect is re-posted with its body",
        GET,
        [(302, {"Location": "/moved/get.json"}, b"")],
        Success({"badge": BADGE}, TIME, None),
        2,
    ),
]


@pytest.mark.parametrize(
    ("path", "answers", "expected", "requests"),
    [row[1:] for row in ANSWERS],
    ids=[row[0] for row in ANSWERS],
)
def test_python_minimal_maps_answers_to_outcomes(
    portal: Portal,
    minimal: HarnessFactory,
    path: str,
    answers: list[Answer],
    expected: Outcome,
    requests: int,
) -> None:
    portal.answers[path] = list(answers)
    portal.answers["/moved/get.json"] = [(200, JSON, {"result": {"badge": BADGE}, "time": TIME})]
    method = path.rsplit("/", 1)[-1].removesuffix(".json")
    outcome = minimal(portal.target()).call(method, {"code": HOSTILE_CODE})
    assert repr(outcome) == repr(expected)
    assert len(portal.seen) == requests
    for seen in portal.seen:
        assert seen["method"] == "POST"
        assert seen["headers"]["Content-Type"] == "application/json"
        assert json.loads(seen["body"]) == {"code": HOSTILE_CODE}
    assert portal.seen[0]["path"] == path


def test_python_minimal_starts_once_per_target_in_one_process(
    portal: Portal, minimal: HarnessFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="conformance.harness.stderr")
    portal.answers[LIST] = [(200, JSON, {"result": {"badges": []}, "total": 0, "time": TIME})]
    first = minimal(portal.target())
    assert first.name == "python-minimal"
    assert first.capabilities == frozenset({"status", "time", "total", "oauth", "retry"})
    assert first.call("crm.activity.badge.list", {}) == Success({"badges": []}, TIME, 0)
    oauth = minimal(portal.target(oauth=True))
    portal.answers["/rest/crm.activity.badge.list.json"] = portal.answers[LIST]
    assert oauth.call("crm.activity.badge.list", {}) == Success({"badges": []}, TIME, 0)
    assert len(minimal.pool.processes()) == 1
    assert [s["path"] for s in portal.seen] == [LIST, "/rest/crm.activity.badge.list.json"]
    assert "Authorization" not in portal.seen[0]["headers"]
    assert portal.seen[1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    logged = [r.getMessage() for r in caplog.records if r.name == "conformance.harness.stderr"]
    assert f"harness python-minimal: python-minimal: POST {portal.url}rest/1/***/" in logged[0]
    assert not any(SECRET in line or TOKEN in line for line in logged)


def test_python_minimal_reports_timeouts_and_refused_connections(
    portal: Portal, minimal: HarnessFactory
) -> None:
    portal.answers[GET] = [(0, {}, 1.5)]
    slow = minimal(portal.target(timeout=0.3)).call("crm.activity.badge.get", {"code": "x"})
    assert isinstance(slow, TransportFailure)
    assert (slow.kind, slow.status) == ("timeout", None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    target = Target(f"{closed}rest/1/{SECRET}/", closed, 1, SECRET, timeout=1.0)
    refused = minimal(target).call("crm.activity.badge.get", {"code": "x"})
    assert isinstance(refused, TransportFailure)
    assert refused.kind == "connection"
    assert SECRET not in refused.detail


def test_the_docs_show_the_core_loop_verbatim() -> None:
    doc = (ROOT / "docs" / "harness-protocol.md").read_text()
    found = re.search(r"```python\n(.*?)```", doc, re.DOTALL)
    assert found is not None
    source = HARNESS.read_text()
    for function in found.group(1).strip().split("\n\n\n"):
        assert function in source
