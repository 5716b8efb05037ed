"""crm.activity.badge.add on the fake portal: the validation order (first error only), the echoed badge and colliding codes."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.portal import FakePortal
from tests.fixtures.portal import (
    ADD,
    BADGE,
    GET,
    NON_ADMIN,
    add,
    assert_error,
    webhook,
)

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
