"""The fake portal authenticates like the server source: webhooks, OAuth tokens, scopes, https (CONTRACT.md section 3)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from conformance.portal import FakePortal
from tests.fixtures.portal import (
    BADGE,
    GET,
    add,
    assert_error,
    send,
    webhook,
)

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
