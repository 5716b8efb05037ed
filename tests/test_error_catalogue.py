"""The error catalogue: well-formed, complete for CONTRACT.md's codes, consistent per profile."""

from __future__ import annotations

import pytest

from conformance import _data, error_catalogue, schemas

# Every code CONTRACT.md sections 1 and 2.4 name, as the server sends it.
CONTRACT_CODES = [
    100, 0, "REQUIRED_ARG_MISSING", "WRONG_TYPE_VALUE", "BX_INVALID_VALUE", "BX_EMPTY_REQUIRED",
    "ACCESS_DENIED", "NOT_FOUND", "ENTITY_WITH_BADGE_EXISTS", "allowed_only_intranet_user",
    "INTERNAL_SERVER_ERROR", "ERROR_UNEXPECTED_ANSWER", "QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT",
    "OVERLOAD_LIMIT", "NO_AUTH_FOUND", "INVALID_REQUEST", "INVALID_CREDENTIALS", "insufficient_scope",
    "expired_token", "invalid_token", "user_access_error", "PORTAL_DELETED", "ERROR_METHOD_NOT_FOUND",
    "ERROR_MANIFEST_IS_NOT_AVAILABLE", "ERROR_BATCH_METHOD_NOT_ALLOWED", "ERROR_BATCH_LENGTH_EXCEEDED",
    "authorization_error", "APPLICATION_NOT_FOUND", "CONNECTION_ERROR", "WRONG_AUTH_TYPE",
    "ERROR_OAUTH", "METHOD_CONFIRM_WAITING", "METHOD_CONFIRM_DENIED",
]  # fmt: skip


@pytest.mark.parametrize("code", CONTRACT_CODES)
def test_every_contract_code_is_catalogued(code: object) -> None:
    assert error_catalogue.code_key(code) in {
        error_catalogue.code_key(c) for c in error_catalogue.known_codes()
    }


def test_code_and_kind_pairs_are_unique() -> None:
    pairs = [(error_catalogue.code_key(e.code), e.kind) for e in error_catalogue.error_catalogue()]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    ("code", "method", "retry"),
    [
        ("QUERY_LIMIT_EXCEEDED", "crm.activity.badge.get", "backoff"),
        ("OVERLOAD_LIMIT", "crm.activity.badge.get", "never"),
        ("OPERATION_TIME_LIMIT", "crm.activity.badge.list", "after-operating-reset"),
        ("expired_token", "crm.activity.badge.add", "after-token-refresh"),
        ("NOT_FOUND", "crm.activity.badge.get", "never"),
        (100, "crm.activity.badge.delete", "never"),
    ],
)
def test_retry_rules_follow_contract_section_4(code: object, method: str, retry: str) -> None:
    entries = error_catalogue.errors_for(code, method, "wire")
    assert {e.retry for e in entries} == {retry}


def test_access_denied_means_two_things() -> None:
    add = error_catalogue.errors_for("ACCESS_DENIED", "crm.activity.badge.add", "wire")
    get = error_catalogue.errors_for("ACCESS_DENIED", "crm.activity.badge.get", "wire")
    assert {e.kind for e in add} == {"method", "system"}
    assert {e.kind for e in get} == {"system"}
    assert 400 not in {s for e in get for s in e.statuses["wire"]}


@pytest.mark.parametrize("method", schemas.METHODS)
def test_string_and_number_forms_name_the_same_entry(method: str) -> None:
    assert error_catalogue.errors_for(100, method, "wire") == error_catalogue.errors_for(
        "100", method, "wire"
    )


def test_a_broken_catalogue_is_reported_with_its_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    real = _data.read_schema_file

    def broken(relative: str) -> object:
        document = real(relative)
        if relative == error_catalogue.ERRORS_FILE:
            document = {**document, "errors": [{**document["errors"][0], "retry": "sometimes"}]}
        return document

    monkeypatch.setattr(_data, "read_schema_file", broken)
    error_catalogue.error_catalogue.cache_clear()
    try:
        with pytest.raises(error_catalogue.CatalogueError, match=r"\$\.errors\[0\]\.retry"):
            error_catalogue.error_catalogue()
    finally:
        monkeypatch.undo()
        error_catalogue.error_catalogue.cache_clear()
