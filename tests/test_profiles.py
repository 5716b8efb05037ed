"""The two profiles: doc examples hold under docs, observed shapes under wire, and the drift
ledger's witnesses tell the profiles apart exactly where the ledger says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import error_catalogue, schemas
from conformance.validation import validate_response

DATA = Path(__file__).parent / "data"
PAGE_METHODS = {name: f"crm.activity.badge.{name}" for name in ("add", "get", "list", "delete")}


def _doc_examples(folder: str) -> list[Any]:
    params = []
    for path in sorted((DATA / folder).glob("*.json")):
        page = path.name.removeprefix("ru.").split(".")[0]
        if page == "data-types":
            continue
        methods = [PAGE_METHODS[page]] if page in PAGE_METHODS else list(PAGE_METHODS.values())
        for method in methods:
            params.append(pytest.param(method, path, id=f"{path.name}-{method.rsplit('.', 1)[1]}"))
    return params


def _assert_valid(method: str, body: Any, profile: str, revision: str | None = None) -> None:
    result = validate_response(method, body, profile=profile, docs_revision=revision)  # type: ignore[arg-type]
    assert result.valid, [v.as_dict() for v in result.violations]


OLDEST, NEWEST = error_catalogue.revision_ids()[0], error_catalogue.revision_ids()[-1]


@pytest.mark.parametrize(("method", "path"), _doc_examples("doc-examples"))
def test_doc_page_examples_validate_under_docs_at_their_revision(method: str, path: Path) -> None:
    _assert_valid(method, json.loads(path.read_text(encoding="utf-8")), "docs", OLDEST)


@pytest.mark.parametrize(("method", "path"), _doc_examples("doc-examples-later"))
@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_later_doc_revision_examples_validate_under_wire_and_the_newest_docs(
    method: str, path: Path, profile: str
) -> None:
    _assert_valid(method, json.loads(path.read_text(encoding="utf-8")), profile, NEWEST)


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_data_types_time_example_validates(profile: str) -> None:
    time = json.loads((DATA / "doc-examples" / "data-types.time.json").read_text())["time"]
    _assert_valid("crm.activity.badge.delete", {"result": True, "time": time}, profile)


TIME = {
    "start": 1774257804,
    "finish": 1774257804.41,
    "duration": 0.41,
    "processing": 0,
    "date_start": "2026-03-23T12:23:24+03:00",
    "date_finish": "2026-03-23T12:23:24+03:00",
}
BADGE = {"code": "missedCall", "title": "Call Status", "value": "Missed", "type": "failure"}

# CONTRACT.md's observed shapes: each must hold under wire.
OBSERVED = [
    ("list-with-total", "crm.activity.badge.list", {"result": {"badges": [BADGE]}, "total": 1, "time": TIME}),
    ("list-empty", "crm.activity.badge.list", {"result": {"badges": []}, "total": 0, "time": TIME}),
    ("integer-start-no-operating", "crm.activity.badge.get", {"result": {"badge": BADGE}, "time": TIME}),
    ("operating-counters", "crm.activity.badge.get",
     {"result": {"badge": BADGE}, "time": {**TIME, "operating": 0, "operating_reset_at": 1774258404}}),
    ("language-map-title", "crm.activity.badge.add",
     {"result": {"badge": {**BADGE, "title": {"de": "Achtung", "en": "Alarm"}}}, "time": TIME}),
    ("delete-true", "crm.activity.badge.delete", {"result": True, "time": TIME}),
    ("error-100-number", "crm.activity.badge.get",
     {"error": 100, "error_description": "Could not find value for parameter {code}"}),
    ("error-100-string", "crm.activity.badge.get", {"error": "100", "error_description": "Could not find value"}),
    ("error-0-number", "crm.activity.badge.add", {"error": 0, "error_description": "Language `xx` was not found"}),
    ("error-empty-code", "crm.activity.badge.get", {"error": "", "error_description": "Not found"}),
    ("error-real-not-found", "crm.activity.badge.get",
     {"error": "NOT_FOUND", "error_description": "Badge not found for code `missedCall`"}),
    ("error-query-limit", "crm.activity.badge.list",
     {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "body"), [pytest.param(m, b, id=i) for i, m, b in OBSERVED])
def test_observed_shapes_validate_under_wire(method: str, body: Any) -> None:
    _assert_valid(method, body, "wire")


SCHEMA_DRIFT = [e for e in error_catalogue.drift_ledger() if e.witness is not None]


def test_ledger_has_witnessed_entries_for_both_directions() -> None:
    directions = {e.witness.valid_under for e in SCHEMA_DRIFT if e.witness}
    assert directions == {"docs", "wire"}


@pytest.mark.parametrize("entry", SCHEMA_DRIFT, ids=lambda e: e.id)
def test_drift_witness_passes_one_profile_and_fails_the_other(
    entry: error_catalogue.DriftEntry,
) -> None:
    witness = entry.witness
    assert witness is not None
    # The claim is the docs' at the last revision that makes it.
    revision = entry.observed_in[-1]
    holds = validate_response(
        witness.method,
        witness.body,
        profile=witness.valid_under,
        status=witness.status,
        docs_revision=revision,
    )
    assert holds.valid, [v.as_dict() for v in holds.violations]
    breaks = validate_response(
        witness.method,
        witness.body,
        profile=witness.invalid_under,
        status=witness.status,
        docs_revision=revision,
    )
    assert breaks.violations, f"{entry.id}: the witness also holds under {witness.invalid_under}"
    for violation in breaks.violations:
        assert violation.schema_location.startswith(entry.fails_at), (
            f"{entry.id}: {violation.schema_location} is not one of {entry.fails_at}"
        )


CLOSED_WITNESSED = [e for e in SCHEMA_DRIFT if e.closed_in is not None]


def test_the_ledger_has_closed_entries_with_witnesses() -> None:
    assert {e.id for e in CLOSED_WITNESSED} >= {"list.total", "status.portal-deleted"}


@pytest.mark.parametrize("entry", CLOSED_WITNESSED, ids=lambda e: e.id)
def test_a_closed_entry_agrees_with_the_wire_at_its_closing_revision(
    entry: error_catalogue.DriftEntry,
) -> None:
    witness = entry.witness
    assert witness is not None
    assert entry.closed_in is not None
    verdict = {
        profile: validate_response(
            witness.method,
            witness.body,
            profile=profile,
            status=witness.status,
            docs_revision=entry.closed_in if profile == "docs" else None,
        ).valid
        for profile in schemas.PROFILES
    }
    assert verdict["docs"] == verdict["wire"], f"{entry.id}: still drift at {entry.closed_in}"
    assert not entry.open_at(entry.closed_in)
    assert entry.open_at(entry.observed_in[-1])


def test_every_open_entry_was_observed_in_the_newest_revision_or_not_rechecked() -> None:
    # An open entry observed only in an older revision is one nobody checked against the
    # newest pages: the listing shows it as such, it is never silently closed.
    for entry in error_catalogue.drift_ledger():
        assert entry.observed_in[0] == OLDEST, entry.id
        if entry.closed_in is not None:
            assert NEWEST not in entry.observed_in, entry.id


def test_ledger_ids_are_unique() -> None:
    ids = [e.id for e in error_catalogue.drift_ledger()]
    assert len(ids) == len(set(ids))
