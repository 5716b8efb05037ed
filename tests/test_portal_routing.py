"""The fake portal routes and reads requests like the server source: paths, verbs, raw bodies, PHP-style JSON and the time block (CONTRACT.md sections 1-2)."""

from __future__ import annotations

import json

import pytest
import requests

from conformance.portal import FakePortal
from tests.fixtures.portal import (
    BADGE,
    LIST,
    add,
    assert_error,
    send,
    webhook,
)

# --- routing -------------------------------------------------------------------------------

# (id, path after the portal URL ({hook} is user 1's webhook path), HTTP verb, status, error)
ROUTES = [
    ("webhook-json-suffix", "{hook}crm.activity.badge.list.json", "POST", 200, None),
    ("webhook-no-suffix", "{hook}crm.activity.badge.list", "POST", 200, None),
    ("webhook-get", "{hook}crm.activity.badge.list.json", "GET", 200, None),
    ("method-upper-case", "{hook}CRM.ACTIVITY.BADGE.LIST.json", "POST", 200, None),
    ("method-mixed-case", "{hook}Crm.Activity.Badge.List", "GET", 200, None),
    ("webhook-by-login", "rest/admin/{secret}/crm.activity.badge.list", "POST", 200, None),
    ("xml-suffix", "{hook}crm.activity.badge.list.xml", "POST", 404, "ERROR_METHOD_NOT_FOUND"),
    ("other-suffix", "{hook}crm.activity.badge.list.yaml", "POST", 404, "ERROR_METHOD_NOT_FOUND"),
    (
        "unknown-method",
        "{hook}crm.activity.badge.update.json",
        "POST",
        404,
        "ERROR_METHOD_NOT_FOUND",
    ),
    (
        "unknown-method-before-auth",
        "rest/crm.activity.badge.update",
        "POST",
        404,
        "ERROR_METHOD_NOT_FOUND",
    ),
    (
        "unknown-method-wrong-secret",
        "rest/1/nope/no.such.method",
        "GET",
        404,
        "ERROR_METHOD_NOT_FOUND",
    ),
    ("empty-method", "{hook}", "POST", 404, "ERROR_METHOD_NOT_FOUND"),
    (
        "rest-v3-path",
        "rest/api/1/{secret}/crm.activity.badge.list",
        "POST",
        404,
        "ERROR_METHOD_NOT_FOUND",
    ),
    ("outside-rest", "index.php", "GET", 404, "ERROR_METHOD_NOT_FOUND"),
    ("root", "", "GET", 404, "ERROR_METHOD_NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("path", "verb", "status", "error"), [r[1:] for r in ROUTES], ids=[r[0] for r in ROUTES]
)
def test_routing(portal: FakePortal, path: str, verb: str, status: int, error: str | None) -> None:
    secret = portal.directory.user(1).secret
    hook = portal.webhook_url().removeprefix(portal.url)
    url = portal.url + path.format(hook=hook, secret=secret)
    response = requests.request(verb, url, timeout=5)
    body = response.json()
    assert response.status_code == status, body
    if error is None:
        assert body["result"] == {"badges": []}
        assert body["total"] == 0
    else:
        assert body == {"error": error, "error_description": "Method not found!"}


# (id, body, content type, the error the webhook call gets)
RAW_BODIES = [
    ("malformed-json", b'{"code": "missedCall",', "application/json", 100),
    ("json-array", b'["missedCall"]', "application/json", 100),
    ("bad-utf8-json", b'{"code": "\xff\xfe"}', "application/json", 100),
    ("json-as-text-plain", b'{"code": "missedCall"}', "text/plain", 100),
    ("json-charset-parameter", b'{"code": "missedCall"}', "application/json; charset=utf-8", None),
    ("urlencoded-without-type", b"code=missedCall", "", None),
]


@pytest.mark.parametrize(
    ("body", "content_type", "error"), [r[1:] for r in RAW_BODIES], ids=[r[0] for r in RAW_BODIES]
)
def test_raw_bodies_are_read_like_the_server(
    portal: FakePortal, body: bytes, content_type: str, error: int | None
) -> None:
    add(portal)
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(
        portal.webhook_url() + "crm.activity.badge.get", data=body, headers=headers, timeout=5
    )
    if error is None:
        assert response.json()["result"] == {"badge": BADGE}
    else:
        assert_error(
            (response.status_code, response.json()),
            400,
            error,
            "Could not find value for parameter {code}",
        )


def test_body_wins_over_query(portal: FakePortal) -> None:
    add(portal, code="from-body")
    url = portal.webhook_url() + "crm.activity.badge.get.json?code=from-query"
    assert send(url, {"code": "from-body"})[1]["result"]["badge"]["code"] == "from-body"
    assert (
        send(url, {"code": "from-body"}, encoding="form")[1]["result"]["badge"]["code"]
        == "from-body"
    )


def test_json_is_written_the_php_way(portal: FakePortal) -> None:
    add(portal, code="<a&b>", title={"ru": "Статус", "en": 'It\'s "on"'})
    text = requests.get(portal.webhook_url() + "crm.activity.badge.list", timeout=5).text
    assert text.isascii()
    for escaped in ("\\u003Ca\\u0026b\\u003E", "\\u0421", "\\u0027", "\\u0022"):
        assert escaped in text
    assert json.loads(text)["result"]["badges"][0]["code"] == "<a&b>"


def test_success_envelopes_carry_the_time_block(portal: FakePortal) -> None:
    body = webhook(portal, LIST)[1]
    assert list(body) == ["result", "total", "time"]
    timing = body["time"]
    assert {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating",
        "operating_reset_at",
    } == set(timing)
    assert timing["start"] <= timing["finish"]
    assert timing["operating_reset_at"] >= timing["start"]
