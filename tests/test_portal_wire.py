"""Every answer of the fake portal validates under the wire profile, and the one known violation stays known."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.portal import FakePortal
from conformance.validation import validate_response
from tests.fixtures.portal import (
    ADD,
    BADGE,
    DELETE,
    EXTRANET,
    GET,
    LIST,
    NO_CRM,
    NON_ADMIN,
    add,
    send,
    webhook,
)

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
