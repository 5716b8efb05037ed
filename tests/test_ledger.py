"""`b24-conformance drift`: the ledger's open and closed entries at a docs revision, and the
ledger's revisions checked against the kept ones."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from conformance import error_catalogue
from conformance.ledger import ledger_listing
from tests.fixtures.common import cli

OLDEST, NEWEST = error_catalogue.revision_ids()[0], error_catalogue.revision_ids()[-1]


def _drift(*args: str) -> Any:
    return cli(["drift", *args])


def test_an_entry_with_a_closing_revision_is_closed_from_it_on() -> None:
    newest, oldest = ledger_listing(), ledger_listing(OLDEST)
    assert newest["docs_revision"] == NEWEST
    closed = {e["id"]: e for e in newest["closed"]}
    assert closed["status.portal-deleted"]["closed_in"] == NEWEST
    assert closed["status.portal-deleted"]["observed_in"] == [OLDEST]
    assert "status.portal-deleted" in {e["id"] for e in oldest["open"]}
    assert oldest["closed"] == [], "every entry was open at the oldest revision"
    assert len(newest["open"]) + len(newest["closed"]) == len(error_catalogue.drift_ledger())


def test_the_text_listing_shows_open_and_closed_entries() -> None:
    result = _drift()
    assert result.exit_code == 0, result.output
    listing = ledger_listing()
    assert (
        f"drift ledger at docs revision {NEWEST}: {len(listing['open'])} open, "
        f"{len(listing['closed'])} closed" in result.output
    )
    assert f"  list.total (closed in {NEWEST}; observed in {OLDEST})" in result.output
    assert f"  time.integer-seconds (schema; observed in {OLDEST}, {NEWEST})" in result.output
    assert f"auth.token-carriers (behaviour; observed in {OLDEST}; not read at {NEWEST})" in (
        result.output
    )


def test_the_json_listing_at_an_older_revision() -> None:
    result = _drift("--docs-revision", OLDEST, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["docs_revision"] == OLDEST
    assert [r["id"] for r in document["revisions"]] == [OLDEST, NEWEST]
    assert document["revisions"][-1]["newest"] is True


def test_an_unknown_revision_is_a_usage_error_listing_the_known_ones() -> None:
    result = _drift("--docs-revision", "0000000")
    assert result.exit_code == 2
    assert f"expected one of {OLDEST} (older), {NEWEST} (newest, the default)" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"observed_in": ["0123abcd"]}, "names docs revision '0123abcd', which"),
        ({"observed_in": [NEWEST], "closed_in": OLDEST}, "not after the last revision"),
    ],
)
def test_a_ledger_naming_revisions_badly_is_refused(change: dict[str, Any], message: str) -> None:
    broken = [replace(error_catalogue.drift_ledger()[0], **change)]
    with pytest.raises(error_catalogue.CatalogueError, match=message):
        error_catalogue._check_revisions(broken)
