"""The fake portal stays bounded against hostile clients: a request log of bounded bytes, PHP's
nesting limits instead of a 500, a status line for every garbage request, a connection cap."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from conformance.portal import FakePortal
from tests.fixtures.portal import GET, LIST, webhook

# --- the request log keeps bounded bytes --------------------------------------------------------


def _post_body(portal: FakePortal, size: int) -> int:
    """POST a form body of ``size`` bytes to list; the status."""
    body = b"filler=" + b"a" * (size - len("filler="))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = f"{portal.webhook_url()}{LIST}.json"
    return requests.post(url, data=body, headers=headers, timeout=30).status_code


def test_the_log_keeps_a_bounded_part_of_each_body_and_a_bounded_total() -> None:
    with FakePortal(bucket=None, log_body_limit=1000, log_total_limit=5000) as portal:
        statuses = [_post_body(portal, 3000) for _ in range(12)]
        usage = portal.log_usage
        kept = [len(r.body) for r in portal.requests]
    assert statuses == [200] * 12
    assert kept == [1000] * 5, "5000 bytes in all: the five newest bodies, 1000 bytes each"
    assert usage["kept_bytes"] == 5000
    assert usage["received"] == 12
    assert usage["evicted"] == 7
    assert usage["kept_bytes"] + usage["unkept_bytes"] == 12 * 3000, "the rest is counted"


def test_twelve_large_posts_leave_only_the_bounded_bytes_behind() -> None:
    """12 POSTs of 3 MB under the default limits (1 MiB a body): the log holds at most
    12 MiB of bodies, not 36 MB (benchmarks/bench_portal_memory.py measures 12 x 30 MB)."""
    size = 3 * 1000 * 1000
    with FakePortal(bucket=None) as portal:
        statuses = [_post_body(portal, size) for _ in range(12)]
        usage = portal.log_usage
    assert statuses == [200] * 12
    assert usage["kept_bytes"] == 12 * 1024 * 1024
    assert usage["unkept_bytes"] == 12 * (size - 1024 * 1024)


def test_the_request_count_survives_evictions() -> None:
    with FakePortal(bucket=None, log_body_limit=100, log_total_limit=100) as portal:
        _post_body(portal, 100)
        seen = portal.request_count
        _post_body(portal, 100)
        since = portal.requests_since(seen)
    assert seen == 1
    assert len(since) == 1, "the first entry was evicted; the second is still found by number"


@pytest.mark.parametrize(
    ("body_limit", "total_limit"), [(-1, 10), (10, 5)], ids=["negative", "total-below-body"]
)
def test_log_limits_are_checked(body_limit: int, total_limit: int) -> None:
    with pytest.raises(ValueError, match="body_limit"):
        FakePortal(log_body_limit=body_limit, log_total_limit=total_limit)


# --- PHP's nesting limits: a 400 envelope, never a 500 ----------------------------------------------


def _nested_json(depth: int) -> bytes:
    return b'{"code": "x", "deep": ' + b"[" * depth + b"]" * depth + b"}"


def _nested_key(name: str, depth: int) -> str:
    return name + "[a]" * depth + "=1"


def _get(
    portal: FakePortal, query: str = "", body: bytes = b"", json_body: bool = False
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"} if json_body else {}
    url = f"{portal.webhook_url()}{GET}.json" + (f"?{query}" if query else "")
    response = requests.post(url, data=body, headers=headers, timeout=30)
    return response.status_code, response.json()


# (id, query, JSON body or None, status, error): CONTRACT.md section 3.2 (malformed JSON is an
# empty body, so get misses its code: 400 error 100) and PHP's max_input_nesting_level.
NESTING = [
    ("json-within-json-decode-depth", "", _nested_json(500), 400, "NOT_FOUND"),
    ("json-past-json-decode-depth", "", _nested_json(600), 400, 100),
    ("json-past-python-recursion", "", _nested_json(5000), 400, 100),
    (
        "brackets-within-the-nesting-level",
        f"code=x&{_nested_key('deep', 60)}",
        None,
        400,
        "NOT_FOUND",
    ),
    (
        "brackets-past-the-nesting-level",
        f"code=x&{_nested_key('deep', 1000)}",
        None,
        400,
        "NOT_FOUND",
    ),
    ("the-code-itself-too-deep", _nested_key("code", 1000), None, 400, 100),
]


@pytest.mark.parametrize(
    ("query", "body", "status", "error"),
    [row[1:] for row in NESTING],
    ids=[row[0] for row in NESTING],
)
def test_nesting_past_phps_limits_is_dropped_not_a_500(
    portal: FakePortal, query: str, body: bytes | None, status: int, error: str | int
) -> None:
    got_status, answer = _get(portal, query, body or b"", json_body=body is not None)
    assert (got_status, answer.get("error")) == (status, error), answer
    assert set(answer) == {"error", "error_description"}


def test_deep_form_bodies_are_dropped_too(portal: FakePortal) -> None:
    body = f"code=x&{_nested_key('deep', 1000)}".encode()
    status, answer = webhook(portal, GET, None)  # control: no code at all is error 100
    assert (status, answer["error"]) == (400, 100)
    response = requests.post(
        f"{portal.webhook_url()}{GET}.json",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert (response.status_code, response.json()["error"]) == (400, "NOT_FOUND")


# --- a status line for every garbage request ----------------------------------------------------


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n",
        b"\r\n\r\n",
        b"GET /\r\n",
        b"GET /rest/1/x/crm.activity.badge.list\r\n",
        b"garbage\r\n\r\n",
        b"\x00\xff\r\n\r\n",
    ],
    ids=["nothing", "blank-line", "blank-lines", "http-0.9", "http-0.9-rest", "one-word", "binary"],
)
def test_garbage_request_lines_get_a_400_with_a_status_line(
    portal: FakePortal, data: bytes
) -> None:
    answer = _raw(portal.port, data)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1."), answer[:200]
    assert b" 400 " in status_line, answer[:200]
    assert json.loads(body)["error"] == "INVALID_REQUEST"


# --- a cap on connections served at once --------------------------------------------------------


@pytest.fixture
def capped() -> Iterator[FakePortal]:
    with FakePortal(bucket=None, max_connections=2) as portal:
        yield portal


def test_past_the_connection_cap_a_client_gets_503_saying_so(capped: FakePortal) -> None:
    holders = [socket.create_connection(("127.0.0.1", capped.port), timeout=10) for _ in range(2)]
    try:
        # Each holder is accepted and waits in its thread for a request line.
        _wait_until(lambda: _serving(capped) == 2, within=10.0)
        refused = requests.post(f"{capped.webhook_url()}{LIST}.json", timeout=10)
        assert refused.status_code == 503
        assert refused.json()["error"] == "QUERY_LIMIT_EXCEEDED"
        assert "at most 2 at once" in refused.json()["error_description"]
    finally:
        for holder in holders:
            holder.close()
    _wait_until(lambda: _serving(capped) == 0, within=10.0)
    assert requests.post(f"{capped.webhook_url()}{LIST}.json", timeout=10).status_code == 200


def test_the_connection_cap_is_checked() -> None:
    with pytest.raises(ValueError, match="max_connections=0"):
        FakePortal(max_connections=0).start()


def _serving(portal: FakePortal) -> int:
    server = portal._server._server
    assert server is not None
    return server._active


def _wait_until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"the condition did not hold within {within}s"
        time.sleep(0.01)
