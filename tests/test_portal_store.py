"""The fake portal's badge store: get, delete, list, rights, type fidelity and the catalogue's stateful cases."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.portal import FakePortal
from tests.fixtures.portal import (
    ADD,
    BADGE,
    DELETE,
    GET,
    LIST,
    NON_ADMIN,
    add,
    assert_error,
    webhook,
)


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
