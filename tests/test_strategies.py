"""The public strategies generate valid data under each profile; one mutated field breaks it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import schemas
from conformance import strategies as gen
from conformance.validation import validate_params, validate_response


def _round_trip(body: Any) -> Any:
    # What a client sees is parsed JSON, so check what survives serialisation.
    return json.loads(json.dumps(body))


@pytest.mark.parametrize("profile", schemas.PROFILES)
@pytest.mark.parametrize("method", schemas.METHODS)
@given(data=st.data())
def test_generated_success_envelopes_are_valid(
    method: str, profile: str, data: st.DataObject
) -> None:
    body = _round_trip(data.draw(gen.success_envelopes(method, profile)))  # type: ignore[arg-type]
    result = validate_response(method, body, profile=profile)  # type: ignore[arg-type]
    assert result.valid, [v.as_dict() for v in result.violations]


@pytest.mark.parametrize("profile", schemas.PROFILES)
@given(data=st.data())
def test_generated_error_envelopes_are_valid(profile: str, data: st.DataObject) -> None:
    body = _round_trip(data.draw(gen.error_envelopes(profile)))  # type: ignore[arg-type]
    result = validate_response("crm.activity.badge.get", body, profile=profile)  # type: ignore[arg-type]
    assert result.valid, [v.as_dict() for v in result.violations]


@given(badge=gen.badges())
def test_generated_badges_are_valid_add_params(badge: dict[str, Any]) -> None:
    assert validate_params("crm.activity.badge.add", badge) == ()


# One field, and values that must make the body invalid in that field.
BADGE_MUTATIONS = {
    "code": st.one_of(st.just(""), st.integers(), st.none()),
    "title": st.one_of(st.just(""), st.just([]), st.integers(), st.just({}), st.just({"EN": "x"})),
    "value": st.one_of(
        st.booleans(), st.just({"en": ""}), st.lists(st.text(min_size=1), min_size=1)
    ),
    "type": st.text().filter(
        lambda t: t not in {"success", "failure", "warning", "primary", "secondary"}
    ),
}
TIME_MUTATIONS = {
    "start": st.one_of(st.text(), st.none(), st.booleans()),
    "processing": st.one_of(st.text(), st.lists(st.integers())),
    "date_start": st.sampled_from(
        ["2025-01-21", "2025-01-21T13:47:08", "2025-13-01T00:00:00+00:00", "now"]
    ),
    "operating": st.one_of(st.text(), st.floats(max_value=-0.001)),
}


@pytest.mark.parametrize("field", sorted(BADGE_MUTATIONS))
@given(data=st.data())
def test_mutating_one_badge_field_invalidates(field: str, data: st.DataObject) -> None:
    body = _round_trip(data.draw(gen.success_envelopes("crm.activity.badge.get")))
    body["result"]["badge"][field] = data.draw(BADGE_MUTATIONS[field])
    paths = {v.path for v in validate_response("crm.activity.badge.get", body).violations}
    assert f"$.result.badge.{field}" in paths


@pytest.mark.parametrize("field", sorted(TIME_MUTATIONS))
@given(data=st.data())
def test_mutating_one_time_field_invalidates(field: str, data: st.DataObject) -> None:
    body = _round_trip(data.draw(gen.success_envelopes("crm.activity.badge.delete")))
    body["time"][field] = data.draw(TIME_MUTATIONS[field])
    paths = {v.path for v in validate_response("crm.activity.badge.delete", body).violations}
    assert f"$.time.{field}" in paths


@given(
    body=gen.error_envelopes(), mutation=st.sampled_from(["result", "time", "code", "description"])
)
def test_mutating_an_error_envelope_invalidates(body: dict[str, Any], mutation: str) -> None:
    body = copy.deepcopy(body)
    if mutation in ("result", "time"):
        body[mutation] = None
    elif mutation == "code":
        body["error"] = 1.5
    else:
        del body["error_description"]
    assert not validate_response("crm.activity.badge.get", body).valid


@given(code=gen.badge_codes())
def test_badge_codes_are_never_empty_strings(code: str) -> None:
    assert isinstance(code, str)
    assert code
