"""The fake portal's batch method, as CRestProvider::methodsBatch runs it (CONTRACT.md section 3.3)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.portal import FakePortal
from conformance.validation import validate_response
from tests.fixtures.portal import (
    BADGE,
    GET,
    NO_CRM,
    NON_ADMIN,
    add,
    batch,
)

# --- batch ------------------------------------------------------------------------------------


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
