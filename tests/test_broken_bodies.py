"""Broken bodies are rejected, and each violation names the right place in the body."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.validation import classify_envelope, validate_params, validate_response

TIME = {
    "start": 1724068028.331234,
    "finish": 1724068028.726591,
    "duration": 0.3953571319580078,
    "processing": 0.13033390045166016,
    "date_start": "2025-01-21T13:47:08+02:00",
    "date_finish": "2025-01-21T13:47:08+02:00",
}
BADGE = {"code": "missedCall", "title": "Call Status", "value": "Missed", "type": "failure"}
GET, LIST, ADD, DELETE = (f"crm.activity.badge.{m}" for m in ("get", "list", "add", "delete"))


def _badge(**changes: Any) -> dict[str, Any]:
    return {"result": {"badge": {**BADGE, **changes}}, "time": TIME}


def _time(**changes: Any) -> dict[str, Any]:
    return {"result": {"badge": BADGE}, "time": {**TIME, **changes}}


# (id, method, body, the JSON path a violation must name, its keyword)
BROKEN = [
    ("missing-time", GET, {"result": {"badge": BADGE}}, "$.time", "required"),
    ("result-not-object", GET, {"result": [BADGE], "time": TIME}, "$.result", "type"),
    ("missing-badge-key", GET, {"result": {}, "time": TIME}, "$.result.badge", "required"),
    ("badge-unknown-type", GET, _badge(type="danger"), "$.result.badge.type", "enum"),
    ("badge-type-case", GET, _badge(type="Failure"), "$.result.badge.type", "enum"),
    ("badge-title-json-list", GET, _badge(title=["Call", "Status"]), "$.result.badge.title", "anyOf"),
    ("badge-title-empty", GET, _badge(title=""), "$.result.badge.title", "anyOf"),
    ("badge-value-bad-language", GET, _badge(value={"english": "x"}), "$.result.badge.value", "anyOf"),
    ("badge-has-id", GET, _badge(id=7), "$.result.badge.id", "additionalProperties"),
    ("badge-code-number", GET, _badge(code=123), "$.result.badge.code", "type"),
    ("badge-missing-value", GET, {"result": {"badge": {"code": "a", "title": "b", "type": "success"}},
                                   "time": TIME}, "$.result.badge.value", "required"),
    ("time-date-without-offset", GET, _time(date_start="2025-01-21T13:47:08"), "$.time.date_start", "format"),
    ("time-date-not-a-date", GET, _time(date_finish="yesterday"), "$.time.date_finish", "format"),
    ("time-start-string", GET, _time(start="1724068028"), "$.time.start", "type"),
    ("time-missing-duration", GET, {"result": {"badge": BADGE},
                                    "time": {k: v for k, v in TIME.items() if k != "duration"}},
     "$.time.duration", "required"),
    ("time-negative-operating", GET, _time(operating=-1), "$.time.operating", "minimum"),
    ("list-missing-total", LIST, {"result": {"badges": [BADGE]}, "time": TIME}, "$.total", "required"),
    ("list-total-string", LIST, {"result": {"badges": []}, "total": "0", "time": TIME}, "$.total", "type"),
    ("list-has-next", LIST, {"result": {"badges": []}, "total": 0, "next": 50, "time": TIME}, "$.next", "not"),
    ("list-badges-not-array", LIST, {"result": {"badges": {}}, "total": 0, "time": TIME}, "$.result.badges", "type"),
    ("delete-result-string", DELETE, {"result": "true", "time": TIME}, "$.result", "const"),
    ("delete-result-false", DELETE, {"result": False, "time": TIME}, "$.result", "const"),
    ("error-with-result", GET, {"error": "NOT_FOUND", "error_description": "x", "result": None}, "$.result", "not"),
    ("error-with-time", GET, {"error": "NOT_FOUND", "error_description": "x", "time": TIME}, "$.time", "not"),
    ("error-code-float", GET, {"error": 1.5, "error_description": "x"}, "$.error", "type"),
    ("error-code-null", GET, {"error": None, "error_description": "x"}, "$.error", "type"),
    ("error-no-description", GET, {"error": "NOT_FOUND"}, "$.error_description", "required"),
    ("v3-error-object", GET, {"error": {"code": "BITRIX_REST_V3_EXCEPTION_ACCESSDENIEDEXCEPTION",
                                        "message": "Access denied"}}, "$.error", "envelope"),
    ("neither-envelope", GET, {"badge": BADGE}, "$", "envelope"),
    ("not-an-object", GET, [BADGE], "$", "envelope"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "body", "path", "keyword"), [pytest.param(*row[1:], id=row[0]) for row in BROKEN]
)
def test_broken_body_is_rejected_at_the_right_path(
    method: str, body: Any, path: str, keyword: str
) -> None:
    result = validate_response(method, body)
    assert not result.valid
    found = [(v.path, v.keyword) for v in result.violations]
    assert (path, keyword) in found, found


def test_every_violation_says_what_was_expected_and_what_came() -> None:
    result = validate_response(GET, _badge(type="danger", id=1))
    for violation in result.violations:
        assert violation.expected
        assert violation.actual
        assert violation.problem
        assert violation.schema_location.startswith("wire/badge.json#/")
        assert violation.contract == "1.1"
    assert any(v.actual == '"danger"' for v in result.violations)


@pytest.mark.parametrize(
    ("method", "status", "body", "valid"),
    [
        (GET, 400, {"error": "NOT_FOUND", "error_description": "x"}, True),
        (GET, 404, {"error": "NOT_FOUND", "error_description": "x"}, False),
        (GET, 200, {"error": "NOT_FOUND", "error_description": "x"}, False),
        (
            GET,
            503,
            {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
            True,
        ),
        (
            GET,
            500,
            {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
            False,
        ),
        (GET, 429, {"error": "OPERATION_TIME_LIMIT", "error_description": "blocked"}, True),
        (ADD, 400, {"error": 100, "error_description": "x"}, True),
        (ADD, 400, {"error": "100", "error_description": "x"}, True),
        (ADD, 400, {"error": "ACCESS_DENIED", "error_description": "x"}, True),
        (GET, 400, {"error": "ACCESS_DENIED", "error_description": "x"}, False),
        (GET, 401, {"error": "ACCESS_DENIED", "error_description": "x"}, True),
        (GET, 401, {"error": "insufficient_scope", "error_description": "x"}, True),
        (GET, 418, {"error": "SOMETHING_NEW", "error_description": "x"}, True),
        (GET, 302, {"error": "SOMETHING_NEW", "error_description": "x"}, False),
        (GET, 200, {"result": {"badge": BADGE}, "time": TIME}, True),
        (GET, 201, {"result": {"badge": BADGE}, "time": TIME}, False),
    ],
)
def test_status_is_checked_against_the_catalogue(
    method: str, status: int, body: Any, valid: bool
) -> None:
    result = validate_response(method, body, status=status)
    assert result.valid is valid, [v.as_dict() for v in result.violations]
    if not valid:
        assert {v.keyword for v in result.violations} == {"status"}


@pytest.mark.parametrize(
    ("body", "envelope"),
    [
        ({"result": True}, "success"),
        ({"error": 0}, "error"),
        ({"error": {"code": "X"}}, "v3-error"),
        ({"result": True, "error": "X"}, "error"),
        ({}, "unknown"),
        ("text", "unknown"),
    ],
)
def test_envelopes_are_recognised(body: Any, envelope: str) -> None:
    assert classify_envelope(body) == envelope


@pytest.mark.parametrize(
    ("method", "params", "path"),
    [
        (ADD, {"code": "a", "title": "b", "value": "c"}, "$.type"),
        (ADD, {"code": 123, "title": "b", "value": "c", "type": "success"}, "$.code"),
        (ADD, {"code": "a", "title": ["b"], "value": "c", "type": "success"}, "$.title"),
        (ADD, {"code": "a", "title": "b", "value": "c", "type": "SUCCESS"}, "$.type"),
        (GET, {"CODE": "a"}, "$.code"),
        (DELETE, {"code": ""}, "$.code"),
    ],
)
def test_bad_request_params_are_rejected(method: str, params: Any, path: str) -> None:
    assert path in [v.path for v in validate_params(method, params)]


def test_good_request_params_pass() -> None:
    assert validate_params(ADD, {**BADGE, "title": {"en": "Alarm", "de": "Achtung"}}) == ()
    assert validate_params(LIST, {}) == ()
