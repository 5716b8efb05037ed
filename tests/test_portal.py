"""The fake portal in stateful mode answers like the server source (CONTRACT.md sections 1-3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conformance.portal import FakePortal
from conformance.validation import validate_response
from conformance.wire import php_form_pairs

ADD, GET, LIST, DELETE = (f"crm.activity.badge.{m}" for m in ("add", "get", "list", "delete"))
BADGE = {"code": "missedCall", "title": "Call Status", "value": "Missed", "type": "failure"}
NON_ADMIN, EXTRANET, EXTRANET_ADMIN, NO_CRM = 2, 3, 4, 5


@pytest.fixture(scope="module")
def running() -> Iterator[FakePortal]:
    with FakePortal(bucket=None) as portal:
        portal.add_user(NON_ADMIN, "secret-non-admin", admin=False)
        portal.add_user(EXTRANET, "secret-extranet", admin=False, extranet=True)
        portal.add_user(EXTRANET_ADMIN, "secret-extranet-admin", admin=True, extranet=True)
        portal.add_user(NO_CRM, "secret-no-crm", scopes=("user",))
        portal.add_token("tok-admin", 1)
        portal.add_token("tok-non-admin", NON_ADMIN)
        portal.add_token("tok-expired", 1, expires_in=0)
        portal.add_token("tok-no-crm", 1, scopes=("user", "task"))
        yield portal


@pytest.fixture
def portal(running: FakePortal) -> FakePortal:
    running.reset()
    return running


def send(
    url: str,
    params: dict[str, Any] | None = None,
    *,
    encoding: str = "json",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST params as JSON or form, or GET them as a query; the status and the parsed body."""
    params = params or {}
    if encoding == "json":
        response = requests.post(url, json=params, headers=headers, timeout=5)
    elif encoding == "form":
        response = requests.post(url, data=php_form_pairs(params), headers=headers, timeout=5)
    else:
        response = requests.get(url, params=php_form_pairs(params), headers=headers, timeout=5)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Retry-After" not in response.headers
    return response.status_code, response.json()


def webhook(
    portal: FakePortal,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    user: int = 1,
    **kw: Any,
) -> tuple[int, Any]:
    return send(f"{portal.webhook_url(user)}{method}.json", params, **kw)


def add(portal: FakePortal, **changes: Any) -> dict[str, Any]:
    status, body = webhook(portal, ADD, {**BADGE, **changes})
    assert status == 200, body
    return body


def assert_error(answer: tuple[int, Any], status: int, code: str | int, fragment: str = "") -> None:
    got_status, body = answer
    assert (got_status, body.get("error")) == (status, code), body
    # An error envelope carries nothing but the code and its description.
    assert set(body) == {"error", "error_description"}
    assert fragment in body["error_description"]


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


# --- authentication ---------------------------------------------------------------------------

# (id, how to call list: (path, headers, params as JSON or form or query), status, error)
AUTH = [
    (
        "bearer",
        "rest/crm.activity.badge.list",
        {"Authorization": "Bearer tok-admin"},
        {},
        "json",
        200,
        None,
    ),
    (
        "auth-in-json-body",
        "rest/crm.activity.badge.list.json",
        {},
        {"auth": "tok-admin"},
        "json",
        200,
        None,
    ),
    (
        "auth-in-form-body",
        "rest/crm.activity.badge.list",
        {},
        {"auth": "tok-admin"},
        "form",
        200,
        None,
    ),
    (
        "auth-in-query",
        "rest/crm.activity.badge.list",
        {},
        {"auth": "tok-admin"},
        "query",
        200,
        None,
    ),
    (
        "access-token",
        "rest/crm.activity.badge.list",
        {},
        {"access_token": "tok-admin"},
        "form",
        200,
        None,
    ),
    (
        "bearer-first",
        "rest/crm.activity.badge.list",
        {"Authorization": "Bearer tok-admin"},
        {"auth": "tok-nope"},
        "json",
        200,
        None,
    ),
    ("no-credentials", "rest/crm.activity.badge.list", {}, {}, "json", 401, "NO_AUTH_FOUND"),
    (
        "auth-not-a-string",
        "rest/crm.activity.badge.list",
        {},
        {"auth": 12},
        "json",
        401,
        "NO_AUTH_FOUND",
    ),
    (
        "unknown-token",
        "rest/crm.activity.badge.list",
        {},
        {"auth": "tok-nope"},
        "json",
        401,
        "invalid_token",
    ),
    (
        "expired-token",
        "rest/crm.activity.badge.list",
        {},
        {"auth": "tok-expired"},
        "json",
        401,
        "expired_token",
    ),
    (
        "token-without-crm",
        "rest/crm.activity.badge.list",
        {},
        {"auth": "tok-no-crm"},
        "json",
        401,
        "insufficient_scope",
    ),
    (
        "wrong-secret",
        "rest/1/wrong-secret/crm.activity.badge.list",
        {},
        {},
        "json",
        401,
        "INVALID_CREDENTIALS",
    ),
    (
        "unknown-user",
        "rest/99/wrong-secret/crm.activity.badge.list",
        {},
        {},
        "json",
        401,
        "INVALID_CREDENTIALS",
    ),
    (
        "another-users-secret",
        "rest/1/secret-non-admin/crm.activity.badge.list",
        {},
        {},
        "json",
        401,
        "INVALID_CREDENTIALS",
    ),
    (
        "webhook-without-crm",
        "rest/5/secret-no-crm/crm.activity.badge.list",
        {},
        {},
        "json",
        401,
        "insufficient_scope",
    ),
    (
        "extranet-list",
        "rest/3/secret-extranet/crm.activity.badge.list",
        {},
        {},
        "json",
        403,
        "allowed_only_intranet_user",
    ),
    (
        "extranet-get",
        "rest/3/secret-extranet/crm.activity.badge.get",
        {},
        {"code": "x"},
        "json",
        403,
        "allowed_only_intranet_user",
    ),
    # The intranet pre-filter runs before the binder: no code, still 403.
    (
        "extranet-get-no-code",
        "rest/3/secret-extranet/crm.activity.badge.get",
        {},
        {},
        "json",
        403,
        "allowed_only_intranet_user",
    ),
    (
        "extranet-add",
        "rest/3/secret-extranet/crm.activity.badge.add",
        {},
        BADGE,
        "json",
        403,
        "allowed_only_intranet_user",
    ),
    (
        "extranet-delete",
        "rest/3/secret-extranet/crm.activity.badge.delete",
        {},
        {"code": "x"},
        "json",
        403,
        "allowed_only_intranet_user",
    ),
    (
        "extranet-admin",
        "rest/4/secret-extranet-admin/crm.activity.badge.list",
        {},
        {},
        "json",
        200,
        None,
    ),
    (
        "non-admin-list",
        "rest/2/secret-non-admin/crm.activity.badge.list",
        {},
        {},
        "json",
        200,
        None,
    ),
]


@pytest.mark.parametrize(
    ("path", "headers", "params", "encoding", "status", "error"),
    [r[1:] for r in AUTH],
    ids=[r[0] for r in AUTH],
)
def test_authentication(
    portal: FakePortal,
    path: str,
    headers: dict[str, str],
    params: dict[str, Any],
    encoding: str,
    status: int,
    error: str | None,
) -> None:
    answer = send(portal.url + path, params, encoding=encoding, headers=headers)
    if error is None:
        assert answer[0] == 200, answer[1]
        assert "badges" in answer[1]["result"]
    else:
        assert_error(answer, status, error)


def test_oauth_inside_malformed_json_is_no_auth_found(portal: FakePortal) -> None:
    response = requests.post(
        portal.url + "rest/crm.activity.badge.get.json",
        data=b'{"auth": "tok-admin", "code": "x",',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert_error((response.status_code, response.json()), 401, "NO_AUTH_FOUND")


def test_every_credential_sees_the_same_badge(portal: FakePortal) -> None:
    add(portal)
    hook = webhook(portal, GET, {"code": "missedCall"})
    bearer = send(
        portal.url + "rest/crm.activity.badge.get",
        {"code": "missedCall"},
        headers={"Authorization": "Bearer tok-admin"},
    )
    query = send(
        portal.url + "rest/crm.activity.badge.get.json",
        {"code": "missedCall", "auth": "tok-admin"},
        encoding="query",
    )
    assert hook[1]["result"] == bearer[1]["result"] == query[1]["result"] == {"badge": BADGE}


def test_https_required_for_webhooks_only() -> None:
    with FakePortal(require_https=True) as portal:
        portal.add_token("tok", 1)
        answer = send(portal.webhook_url() + "crm.activity.badge.list")
        assert_error(answer, 401, "INVALID_REQUEST", "Https required.")
        # A wrong secret is not even looked at over http.
        assert_error(
            send(portal.url + "rest/1/nope/crm.activity.badge.list"), 401, "INVALID_REQUEST"
        )
        assert send(portal.url + "rest/crm.activity.badge.list", {"auth": "tok"})[0] == 200


# --- add: the validation order, first error only ---------------------------------------------

# (id, params, encoding, user, status, error, a fragment of the description)
ADD_ERRORS = [
    ("nothing", {}, "json", 1, 400, 100, "Could not find value for parameter {code}"),
    ("upper-case-names", {k.upper(): v for k, v in BADGE.items()}, "json", 1, 400, 100, "{code}"),
    ("no-title", {"code": "a", "value": "v", "type": "failure"}, "json", 1, 400, 100, "{title}"),
    ("no-value", {"code": "a", "title": "t", "type": "failure"}, "json", 1, 400, 100, "{value}"),
    # The binder runs first: a missing type wins over an empty title.
    (
        "no-type-and-empty-title",
        {"code": "a", "title": "", "value": "v"},
        "json",
        1,
        400,
        100,
        "{type}",
    ),
    (
        "code-number",
        {**BADGE, "code": 123},
        "json",
        1,
        400,
        100,
        "Invalid value 123 to match with parameter {code}. Should be value of type string.",
    ),
    (
        "code-null",
        {**BADGE, "code": None},
        "json",
        1,
        400,
        100,
        "parameter {code}. Should be value of type string.",
    ),
    (
        "code-map",
        {**BADGE, "code": {"en": "x"}},
        "form",
        1,
        400,
        100,
        "Should be value of type string.",
    ),
    ("type-number-before-title", {**BADGE, "title": "", "type": 5}, "json", 1, 400, 100, "{type}"),
    # The binder runs before the admin check.
    (
        "non-admin-no-code",
        {"title": "t", "value": "v", "type": "failure"},
        "json",
        NON_ADMIN,
        400,
        100,
        "{code}",
    ),
    ("non-admin", BADGE, "json", NON_ADMIN, 400, "ACCESS_DENIED", "Access denied"),
    ("non-admin-bad-title", {**BADGE, "title": ""}, "json", NON_ADMIN, 400, "ACCESS_DENIED", ""),
    (
        "title-empty",
        {**BADGE, "title": ""},
        "json",
        1,
        400,
        "REQUIRED_ARG_MISSING",
        "Argument 'title' is required",
    ),
    ("title-number", {**BADGE, "title": 123}, "json", 1, 400, "REQUIRED_ARG_MISSING", "'title'"),
    ("title-boolean", {**BADGE, "title": True}, "json", 1, 400, "REQUIRED_ARG_MISSING", "'title'"),
    ("title-null", {**BADGE, "title": None}, "json", 1, 400, "REQUIRED_ARG_MISSING", "'title'"),
    ("title-empty-map", {**BADGE, "title": {}}, "json", 1, 400, "REQUIRED_ARG_MISSING", "'title'"),
    (
        "title-before-value-and-type",
        {**BADGE, "title": 1, "value": "", "type": "bad"},
        "json",
        1,
        400,
        "REQUIRED_ARG_MISSING",
        "'title'",
    ),
    (
        "value-before-type",
        {**BADGE, "value": "", "type": "bad"},
        "json",
        1,
        400,
        "REQUIRED_ARG_MISSING",
        "Argument 'value' is required",
    ),
    (
        "title-json-list",
        {**BADGE, "title": ["Call", "Status"]},
        "json",
        1,
        400,
        0,
        "Language `0` was not found",
    ),
    (
        "title-form-list",
        {**BADGE, "title": ["Call"]},
        "form",
        1,
        400,
        0,
        "Language `0` was not found",
    ),
    (
        "title-unknown-language",
        {**BADGE, "title": {"xx": "A"}},
        "json",
        1,
        400,
        0,
        "Language `xx` was not found",
    ),
    (
        "title-language-upper-case",
        {**BADGE, "title": {"EN": "A"}},
        "json",
        1,
        400,
        0,
        "Language `EN` was not found",
    ),
    (
        "title-language-empty-value",
        {**BADGE, "title": {"en": "Alarm", "de": ""}},
        "json",
        1,
        400,
        0,
        "Wrong value of field `title` for language de",
    ),
    (
        "title-language-number-value",
        {**BADGE, "title": {"en": 5}},
        "json",
        1,
        400,
        0,
        "Wrong value of field `title` for language en",
    ),
    (
        "value-language-empty-value",
        {**BADGE, "value": {"ru": ""}},
        "form",
        1,
        400,
        0,
        "Wrong value of field `value` for language ru",
    ),
    (
        "title-language-before-value",
        {**BADGE, "title": {"zz": "A"}, "value": ""},
        "json",
        1,
        400,
        0,
        "Language `zz`",
    ),
    (
        "type-unknown",
        {**BADGE, "type": "danger"},
        "json",
        1,
        400,
        "WRONG_TYPE_VALUE",
        "Wrong value of field `type`",
    ),
    ("type-case", {**BADGE, "type": "Failure"}, "form", 1, 400, "WRONG_TYPE_VALUE", ""),
    (
        "code-empty",
        {**BADGE, "code": ""},
        "json",
        1,
        400,
        "BX_EMPTY_REQUIRED",
        'Field "CODE" is required',
    ),
]


@pytest.mark.parametrize(
    ("params", "encoding", "user", "status", "error", "fragment"),
    [r[1:] for r in ADD_ERRORS],
    ids=[r[0] for r in ADD_ERRORS],
)
def test_add_reports_the_first_error(
    portal: FakePortal,
    params: dict[str, Any],
    encoding: str,
    user: int,
    status: int,
    error: str | int,
    fragment: str,
) -> None:
    answer = webhook(portal, ADD, params, user=user, encoding=encoding)
    assert_error(answer, status, error, fragment)
    # Error 100 and error 0 are JSON numbers on the wire.
    assert type(answer[1]["error"]) is type(error)
    assert portal.badges == []


# (id, params, encoding, the badge the portal echoes)
ADDED = [
    ("json-strings", BADGE, "json", BADGE),
    ("form-strings", BADGE, "form", BADGE),
    ("query-strings", BADGE, "query", BADGE),
    ("form-code-number", {**BADGE, "code": 123}, "form", {**BADGE, "code": "123"}),
    (
        "json-map",
        {**BADGE, "title": {"de": "Achtung", "en": "Alarm"}},
        "json",
        {**BADGE, "title": {"de": "Achtung", "en": "Alarm"}},
    ),
    (
        "form-map",
        {**BADGE, "value": {"ru": "Пропущен", "en": "Missed"}},
        "form",
        {**BADGE, "value": {"ru": "Пропущен", "en": "Missed"}},
    ),
    (
        "hostile-code",
        {**BADGE, "code": "a&b+c#d%e[f]g?h i"},
        "form",
        {**BADGE, "code": "a&b+c#d%e[f]g?h i"},
    ),
    ("title-zero", {**BADGE, "title": "0"}, "json", {**BADGE, "title": "0"}),
    ("every-type", {**BADGE, "type": "secondary"}, "json", {**BADGE, "type": "secondary"}),
]


@pytest.mark.parametrize(
    ("params", "encoding", "echoed"), [r[1:] for r in ADDED], ids=[r[0] for r in ADDED]
)
def test_add_echoes_the_badge_and_get_returns_it(
    portal: FakePortal, params: dict[str, Any], encoding: str, echoed: dict[str, Any]
) -> None:
    status, body = webhook(portal, ADD, params, encoding=encoding)
    assert status == 200, body
    assert body["result"] == {"badge": echoed}
    # Exactly four keys, in the serialiser's order, and no id.
    assert list(body["result"]["badge"]) == ["code", "title", "value", "type"]
    assert webhook(portal, GET, {"code": echoed["code"]})[1]["result"] == {"badge": echoed}


def test_duplicate_codes_collide_like_mysql(portal: FakePortal) -> None:
    add(portal)
    for code in ("missedCall", "MISSEDCALL", "missedcall  "):
        assert_error(
            webhook(portal, ADD, {**BADGE, "code": code, "value": "Other"}),
            400,
            "BX_INVALID_VALUE",
            "Code must be unique",
        )
    assert portal.badges == [BADGE]
    # Lookups use the same collation and return the code as stored.
    assert webhook(portal, GET, {"code": "MissedCall "})[1]["result"] == {"badge": BADGE}


def test_get_and_delete_lifecycle(portal: FakePortal) -> None:
    assert_error(
        webhook(portal, GET, {"code": "missedCall"}),
        400,
        "NOT_FOUND",
        "Badge not found for code `missedCall`",
    )
    add(portal)
    status, body = webhook(portal, DELETE, {"code": "missedCall"})
    assert (status, body["result"]) == (200, True)
    assert set(body) == {"result", "time"}
    assert_error(
        webhook(portal, DELETE, {"code": "missedCall"}),
        400,
        "NOT_FOUND",
        "Badge not found for code `missedCall`",
    )
    assert_error(webhook(portal, GET, {"code": "missedCall"}), 400, "NOT_FOUND")


# (id, method, params, user, status, error)
METHOD_ERRORS = [
    ("get-no-code", GET, {}, 1, 400, 100),
    ("get-code-number", GET, {"code": 7}, 1, 400, 100),
    ("delete-no-code", DELETE, {"CODE": "missedCall"}, 1, 400, 100),
    ("delete-no-code-non-admin", DELETE, {}, NON_ADMIN, 400, 100),
    ("delete-non-admin", DELETE, {"code": "missedCall"}, NON_ADMIN, 400, "ACCESS_DENIED"),
    ("delete-unknown-non-admin", DELETE, {"code": "nope"}, NON_ADMIN, 400, "ACCESS_DENIED"),
]


@pytest.mark.parametrize(
    ("method", "params", "user", "status", "error"),
    [r[1:] for r in METHOD_ERRORS],
    ids=[r[0] for r in METHOD_ERRORS],
)
def test_get_and_delete_errors(
    portal: FakePortal,
    method: str,
    params: dict[str, Any],
    user: int,
    status: int,
    error: str | int,
) -> None:
    add(portal)
    assert_error(webhook(portal, method, params, user=user), status, error)
    assert portal.badges == [BADGE]


def test_non_admins_read_but_do_not_write(portal: FakePortal) -> None:
    add(portal)
    assert webhook(portal, GET, {"code": "missedCall"}, user=NON_ADMIN)[1]["result"] == {
        "badge": BADGE
    }
    assert webhook(portal, LIST, user=NON_ADMIN)[1]["total"] == 1


def test_a_badge_in_use_cannot_be_deleted(portal: FakePortal) -> None:
    add(portal)
    portal.mark_in_use("MISSEDCALL")
    assert_error(
        webhook(portal, DELETE, {"code": "missedCall"}),
        400,
        "ENTITY_WITH_BADGE_EXISTS",
        "There are entities with this badge. Delete them first.",
    )
    portal.mark_in_use("missedCall", in_use=False)
    assert webhook(portal, DELETE, {"code": "missedCall"})[1]["result"] is True


def test_list_has_every_badge_and_a_top_level_total(portal: FakePortal) -> None:
    for number in range(60):
        add(portal, code=f"b24c-{number:02}")
    for params in ({}, {"start": 50}, {"start": "50"}):
        status, body = webhook(portal, LIST, params, encoding="form")
        assert status == 200
        assert [b["code"] for b in body["result"]["badges"]] == [f"b24c-{n:02}" for n in range(60)]
        assert body["total"] == 60
        assert "next" not in body
    for start in (-1, "-1"):
        body = webhook(portal, LIST, {"start": start})[1]
        assert "total" not in body
        assert len(body["result"]["badges"]) == 60


def test_type_fidelity_follows_the_encoding(portal: FakePortal) -> None:
    assert_error(
        webhook(portal, ADD, {**BADGE, "code": 123}), 400, 100, "Should be value of type string."
    )
    assert (
        webhook(portal, ADD, {**BADGE, "code": 123}, encoding="form")[1]["result"]["badge"]["code"]
        == "123"
    )


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


# --- every answer validates under the wire profile -------------------------------------------

# (id, method called, params, user, encoding)
WIRE_CALLS = [
    ("add", ADD, {**BADGE, "code": "fresh"}, 1, "json"),
    ("add-map", ADD, {**BADGE, "code": "fresh-map", "title": {"en": "A", "de": "B"}}, 1, "form"),
    ("add-duplicate", ADD, BADGE, 1, "json"),
    ("add-missing", ADD, {}, 1, "json"),
    ("add-code-number", ADD, {**BADGE, "code": 5}, 1, "json"),
    ("add-non-admin", ADD, BADGE, NON_ADMIN, "json"),
    ("add-title-empty", ADD, {**BADGE, "title": ""}, 1, "json"),
    ("add-title-list", ADD, {**BADGE, "title": ["x"]}, 1, "json"),
    ("add-type", ADD, {**BADGE, "type": "nope"}, 1, "json"),
    ("add-code-empty", ADD, {**BADGE, "code": ""}, 1, "json"),
    ("add-extranet", ADD, BADGE, EXTRANET, "json"),
    ("get", GET, {"code": "missedCall"}, 1, "json"),
    ("get-missing", GET, {"code": "nope"}, 1, "query"),
    ("get-no-code", GET, {}, 1, "json"),
    ("list", LIST, {}, 1, "json"),
    ("list-start", LIST, {"start": 50}, 1, "form"),
    ("list-no-crm-scope", LIST, {}, NO_CRM, "json"),
    ("delete-non-admin", DELETE, {"code": "missedCall"}, NON_ADMIN, "json"),
    ("delete-missing", DELETE, {"code": "nope"}, 1, "json"),
    ("delete", DELETE, {"code": "missedCall"}, 1, "json"),
]


@pytest.mark.parametrize(
    ("method", "params", "user", "encoding"),
    [r[1:] for r in WIRE_CALLS],
    ids=[r[0] for r in WIRE_CALLS],
)
def test_every_answer_validates_under_the_wire_profile(
    portal: FakePortal, method: str, params: dict[str, Any], user: int, encoding: str
) -> None:
    add(portal)
    portal.add_token("tok-admin", 1)
    status, body = webhook(portal, method, params, user=user, encoding=encoding)
    result = validate_response(method, body, profile="wire", status=status)
    assert result.valid, [v.as_dict() for v in result.violations]


# (id, method, a call that yields an auth or system error)
WIRE_SYSTEM_ERRORS = [
    ("no-auth", GET, lambda p: send(p.url + "rest/crm.activity.badge.get", {"code": "x"})),
    (
        "expired",
        GET,
        lambda p: send(p.url + "rest/crm.activity.badge.get", {"code": "x", "auth": "tok-expired"}),
    ),
    (
        "invalid-token",
        LIST,
        lambda p: send(p.url + "rest/crm.activity.badge.list", {"auth": "nope"}),
    ),
    ("wrong-secret", LIST, lambda p: send(p.url + "rest/1/nope/crm.activity.badge.list")),
    (
        "token-scope",
        DELETE,
        lambda p: send(
            p.url + "rest/crm.activity.badge.delete", {"code": "x", "auth": "tok-no-crm"}
        ),
    ),
    ("not-found-method", GET, lambda p: send(p.webhook_url() + "crm.activity.badge.get.xml")),
]


@pytest.mark.parametrize(
    ("method", "make_call"),
    [r[1:] for r in WIRE_SYSTEM_ERRORS],
    ids=[r[0] for r in WIRE_SYSTEM_ERRORS],
)
def test_system_errors_validate_under_the_wire_profile(
    portal: FakePortal, method: str, make_call: Any
) -> None:
    status, body = make_call(portal)
    assert status >= 400
    result = validate_response(method, body, profile="wire", status=status)
    assert result.valid, [v.as_dict() for v in result.violations]


def test_list_without_total_is_the_one_known_wire_violation(portal: FakePortal) -> None:
    # start=-1 drops total (CONTRACT.md 1.3), which the wire schema requires: reported, as it should be.
    status, body = webhook(portal, LIST, {"start": -1})
    violations = validate_response(LIST, body, profile="wire", status=status).violations
    assert [(v.path, v.keyword) for v in violations] == [("$.total", "required")]


# --- batch ------------------------------------------------------------------------------------


def batch(
    portal: FakePortal, params: dict[str, Any], *, user: int = 1, encoding: str = "json"
) -> dict[str, Any]:
    status, body = webhook(portal, "batch", params, user=user, encoding=encoding)
    # A batch answers 200 whatever its commands do.
    assert status == 200, body
    assert set(body["result"]) == {
        "result",
        "result_error",
        "result_total",
        "result_next",
        "result_time",
    }
    return body["result"]


def test_batch_sections(portal: FakePortal) -> None:
    add(portal)
    cmd = {
        "one": "crm.activity.badge.get?code=missedCall",
        "all": "CRM.ACTIVITY.BADGE.LIST",
        "gone": "crm.activity.badge.get?code=nope",
    }
    result = batch(portal, {"halt": 0, "cmd": cmd})
    assert result["result"] == {"one": {"badge": BADGE}, "all": {"badges": [BADGE]}}
    assert result["result_error"] == {
        "gone": {"error": "NOT_FOUND", "error_description": "Badge not found for code `nope`"}
    }
    assert result["result_total"] == {"all": 1}
    # An empty PHP array is [] on the wire, never {}.
    assert result["result_next"] == []
    assert set(result["result_time"]) == {"one", "all"}
    for timing in result["result_time"].values():
        assert validate_response(GET, {"result": {"badge": BADGE}, "time": timing}).valid


def test_batch_substitutes_earlier_results(portal: FakePortal) -> None:
    add(portal)
    cmd = {
        "first": "crm.activity.badge.get?code=missedCall",
        "copy": "crm.activity.badge.add?code=copy-of-$result[first][badge][code]&title=$result[first][badge][title]&value=v&type=$result[first][badge][type]",
        "check": "crm.activity.badge.get?code=$result[copy][badge][code]",
    }
    result = batch(portal, {"cmd": cmd}, encoding="form")
    assert result["result_error"] == []
    assert result["result"]["check"] == {
        "badge": {
            "code": "copy-of-missedCall",
            "title": "Call Status",
            "value": "v",
            "type": "failure",
        }
    }


# (id, halt as sent, encoding, whether the batch stops after the first failure)
HALTS = [
    ("json-1", 1, "json", True),
    ("json-true", True, "json", True),
    ("json-0", 0, "json", False),
    ("json-false", False, "json", False),
    ("form-1", "1", "form", True),
    ("form-0", "0", "form", False),
    # PHP's (bool)"false" is true.
    ("form-false-string", "false", "form", True),
    ("absent", None, "json", False),
]


@pytest.mark.parametrize(
    ("halt", "encoding", "stops"), [r[1:] for r in HALTS], ids=[r[0] for r in HALTS]
)
def test_batch_halt(portal: FakePortal, halt: Any, encoding: str, stops: bool) -> None:
    cmd = {
        "a": "crm.activity.badge.list",
        "b": "crm.activity.badge.get?code=nope",
        "c": "crm.activity.badge.list",
    }
    params: dict[str, Any] = {"cmd": cmd} if halt is None else {"halt": halt, "cmd": cmd}
    result = batch(portal, params, encoding=encoding)
    assert list(result["result_error"]) == ["b"]
    assert list(result["result"]) == (["a"] if stops else ["a", "c"])


def test_batch_keys_are_case_insensitive(portal: FakePortal) -> None:
    result = batch(
        portal, {"HALT": 1, "CMD": {"a": "crm.activity.badge.get", "b": "crm.activity.badge.list"}}
    )
    assert result["result_error"]["a"]["error"] == 100
    assert result["result"] == []


@pytest.mark.parametrize(
    ("count", "halt", "exceeded"), [(50, 0, 0), (51, 0, 1), (55, 0, 5), (55, 1, 1)]
)
def test_batch_length_limit(portal: FakePortal, count: int, halt: int, exceeded: int) -> None:
    cmd = {f"c{n}": "crm.activity.badge.list" for n in range(count)}
    result = batch(portal, {"halt": halt, "cmd": cmd})
    assert len(result["result"]) == 50
    errors = result["result_error"] or {}
    assert list(errors) == [f"c{n}" for n in range(50, 50 + exceeded)]
    assert all(
        e
        == {
            "error": "ERROR_BATCH_LENGTH_EXCEEDED",
            "error_description": "Max batch length exceeded",
        }
        for e in errors.values()
    )


def test_batch_refuses_nested_batches_and_unknown_methods(portal: FakePortal) -> None:
    cmd = {
        "inner": "batch?cmd[x]=crm.activity.badge.list",
        "odd": "crm.activity.badge.update",
        "ok": "crm.activity.badge.list",
    }
    result = batch(portal, {"cmd": cmd})
    assert result["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert result["result_error"]["odd"] == {
        "error": "ERROR_METHOD_NOT_FOUND",
        "error_description": "Method not found!",
    }
    assert list(result["result"]) == ["ok"]


def test_batch_list_of_commands_answers_lists(portal: FakePortal) -> None:
    result = batch(portal, {"cmd": ["crm.activity.badge.list?start=-1", "crm.activity.badge.list"]})
    assert result["result"] == [{"badges": []}, {"badges": []}]
    # Only the second command has a total: keys no longer 0..n-1, so an object.
    assert result["result_total"] == {"1": 0}


def test_batch_commands_carry_the_callers_rights(portal: FakePortal) -> None:
    add(portal)
    cmd = {
        "get": "crm.activity.badge.get?code=missedCall",
        "del": "crm.activity.badge.delete?code=missedCall",
    }
    result = batch(portal, {"cmd": cmd}, user=NON_ADMIN)
    assert list(result["result"]) == ["get"]
    assert result["result_error"]["del"]["error"] == "ACCESS_DENIED"
    # batch itself needs no scope; each command needs crm.
    no_scope = batch(portal, {"cmd": cmd}, user=NO_CRM)
    assert {e["error"] for e in no_scope["result_error"].values()} == {"insufficient_scope"}
    assert portal.badges == [BADGE]


def test_batch_without_commands_is_empty(portal: FakePortal) -> None:
    result = batch(portal, {"halt": 1})
    assert result == {
        "result": [],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }


# --- the catalogue's stateful cases hold against the store -----------------------------------


def _stateful_cases() -> list[Any]:
    from conformance.case import all_cases

    return [case for case in all_cases() if getattr(case, "stateful", False)]


@pytest.mark.parametrize("case", _stateful_cases(), ids=lambda c: c.id)
def test_stateful_cases_hold(portal: FakePortal, case: Any) -> None:
    for step in case.steps:
        status, body = webhook(portal, step.method, dict(step.params))
        expect = step.expect
        if expect.outcome == "success":
            assert status == 200, body
            if expect.has_result:
                assert body["result"] == expect.result
            if expect.total is not None:
                assert body["total"] == expect.total
        else:
            assert str(body["error"]) == str(expect.code)
            if expect.status is not None:
                assert status == expect.status
